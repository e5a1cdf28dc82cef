/** @module Request-body reading for the local bridges: bounded, so a runaway client cannot exhaust memory. */
import type { IncomingMessage } from "node:http";

export class BodyTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/** Headers for the answer to an oversized body: see readBody for why the connection must not be reused. */
export const CLOSE_CONNECTION = { connection: "close" } as const;

/** How long an oversized body is drained before the bridge answers anyway. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * Reads the whole body, or rejects with BodyTooLargeError once it passes `maxBytes`.
 *
 * An oversized body is not cut off mid-upload: closing a socket that still has unread request
 * bytes makes the kernel send a reset, and the client then sees ECONNRESET instead of the error
 * status. So the rest is drained and dropped (memory stays bounded) and the rejection comes when
 * the body ends, or after DRAIN_TIMEOUT_MS for a client that never stops. Either way the caller
 * should answer with CLOSE_CONNECTION: after a timed-out drain the leftover bytes would otherwise
 * be parsed as the next request.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const declared = Number(req.headers["content-length"]);
    // A declared length over the limit is known to fail: skip straight to draining.
    let overflow = Number.isFinite(declared) && declared > maxBytes;
    let drainTimer: NodeJS.Timeout | undefined;
    const startDraining = (): void => {
      overflow = true;
      chunks = [];
      drainTimer = setTimeout(() => reject(new BodyTooLargeError(maxBytes)), DRAIN_TIMEOUT_MS);
      drainTimer.unref();
    };
    if (overflow) startDraining();
    req.on("data", (chunk: Buffer) => {
      if (overflow) return;
      size += chunk.length;
      if (size > maxBytes) {
        startDraining();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      clearTimeout(drainTimer);
      if (overflow) reject(new BodyTooLargeError(maxBytes));
      else resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks));
    });
    req.on("error", (error) => {
      clearTimeout(drainTimer);
      reject(error);
    });
  });
}
