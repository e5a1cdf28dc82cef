/** @module Eviction policy registry: maps CACHE_LAYER.eviction_policy to an implementation. */
import { FifoPolicy } from "./fifo.ts";
import { LfuPolicy } from "./lfu.ts";
import { LruPolicy } from "./lru.ts";
import { RandomPolicy } from "./random.ts";
import { WTinyLfuPolicy } from "./tinylfu.ts";
import { TtlPolicy } from "./ttl.ts";
import type { EvictionPolicy, EvictionPolicyName, PolicyOptions } from "./types.ts";

export type { EvictionPolicy, EvictionPolicyName, PolicyNode, PolicyOptions, Victim } from "./types.ts";

export const EVICTION_POLICIES = ["LRU", "LFU", "FIFO", "TTL", "RANDOM", "CUSTOM"] as const satisfies readonly EvictionPolicyName[];

export function isEvictionPolicyName(value: unknown): value is EvictionPolicyName {
  return typeof value === "string" && (EVICTION_POLICIES as readonly string[]).includes(value);
}

export function createPolicy(name: EvictionPolicyName, options: PolicyOptions): EvictionPolicy {
  switch (name) {
    case "LRU":
      return new LruPolicy();
    case "LFU":
      return new LfuPolicy();
    case "FIFO":
      return new FifoPolicy();
    case "TTL":
      return new TtlPolicy();
    case "RANDOM":
      return new RandomPolicy(options.random);
    case "CUSTOM":
      return new WTinyLfuPolicy(options);
  }
}
