/**
 * @module The write-behind version counter in Redis: `<prefix>wb:ver:<key>` holds the last version
 * handed out for a resource whose writes are queued. Checking If-Match and taking the next version
 * is one script, so of two writers holding the same version exactly one gets the next.
 *
 * The counter has no TTL: it must outlive every queued write of its resource (SQS keeps them up
 * to 4 days). Should it vanish anyway (eviction, a flushed Redis), the floor passed in is what
 * Postgres holds, and the Lambda's "only if newer" persistence keeps an older write from
 * overwriting a newer one.
 */
import { LuaScript, type ScriptClient } from "../redis-script.ts";
import { bounded, DependencyError } from "../timeout.ts";
import type { VersionCounter } from "./write-path.ts";

/**
 * KEYS[1] counter. ARGV[1] persisted version (0: none), ARGV[2] '1' if the persisted row is live,
 * ARGV[3] If-Match ('' none, '*' any live, else a version). The counter's live flag rides in the
 * value as `<version>` (live) or `<version>-` (deleted). Returns {1, new} or {0, current or -1}.
 */
const RESERVE_SCRIPT = `local raw = redis.call('GET', KEYS[1])
local cur, live
local persisted = tonumber(ARGV[1])
if raw then
  local v, dead = string.match(raw, '^(%d+)(%-?)$')
  cur = tonumber(v) or 0
  live = dead == ''
end
if not cur or persisted > cur then
  cur = persisted
  live = ARGV[2] == '1'
end
local want = ARGV[3]
if want == '*' and not live then return {0, -1} end
if want ~= '' and want ~= '*' then
  if not live or tonumber(want) ~= cur then
    if live then return {0, cur} end
    return {0, -1}
  end
end
local nextv = cur + 1
local suffix = ''
if ARGV[4] == 'delete' then suffix = '-' end
redis.call('SET', KEYS[1], nextv .. suffix)
return {1, nextv}`;

const RESERVE = new LuaScript(RESERVE_SCRIPT);

export class RedisVersionCounter implements VersionCounter {
  readonly #client: ScriptClient;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(opts: { client: ScriptClient; keyPrefix?: string; timeoutMs?: number }) {
    this.#client = opts.client;
    this.#prefix = opts.keyPrefix ?? "strata:v1:";
    this.#timeoutMs = opts.timeoutMs ?? 1000;
  }

  counterKey(key: string): string {
    return `${this.#prefix}wb:ver:${key}`;
  }

  reserve(
    key: string,
    persisted: { version: number; live: boolean } | null,
    ifMatch?: number | "*",
    kind: "write" | "delete" = "write",
  ): Promise<{ ok: true; version: number } | { ok: false; current: number | null }> {
    return bounded(
      async () => {
        const result = await RESERVE.run(
          this.#client,
          [this.counterKey(key)],
          [String(persisted?.version ?? 0), persisted?.live ? "1" : "0", ifMatch === undefined ? "" : String(ifMatch), kind],
        );
        if (!Array.isArray(result) || result.length !== 2) throw new DependencyError("redis", `unexpected version counter result: ${JSON.stringify(result)}`);
        const n = Number(result[1]);
        if (Number(result[0]) === 1) return { ok: true as const, version: n };
        return { ok: false as const, current: n < 0 ? null : n };
      },
      this.#timeoutMs,
      "redis",
    );
  }
}
