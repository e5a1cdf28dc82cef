/**
 * @module A second Upstash bridge in its own process, for the `peer` case: the stack's bridge runs inside the
 * benchmark's process, so its HTTP serving shares Strata's event loop, which Upstash's servers would not. This one
 * takes that work off the measured process (it still shares the machine's cores). It keeps no counts we can read.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { stopChild } from "../../dev/services.ts";

const root = resolve(import.meta.dirname, "..", "..");
const START_TIMEOUT_MS = 15_000;

export interface ChildBridge {
  url: string;
  close(): Promise<void>;
}

export async function startChildBridge(redisUrl: string, token: string): Promise<ChildBridge> {
  const child = spawn(process.execPath, ["--experimental-strip-types", resolve(root, "dev", "upstash-bridge.ts")], {
    env: { ...process.env, UPSTASH_REDIS_REST_TOKEN: token, UPSTASH_BRIDGE_PORT: "0", REDIS_URL: redisUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const url = await announcedUrl(child);
    return { url, close: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/** The bridge prints `upstash-bridge: <url> -> <redis>` once it listens (port 0 picks a free one). */
function announcedUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(new Error(`child bridge did not start within ${START_TIMEOUT_MS} ms: ${err}`)), START_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8");
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const match = /upstash-bridge: (\S+) ->/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once("exit", (code) => fail(new Error(`child bridge exited (${code ?? "signal"}) before listening: ${err}`)));
  });
}
