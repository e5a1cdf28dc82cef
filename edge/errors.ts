/** @module JSON errors for every failure the worker answers, so clients never parse HTML or plain text. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { DependencyError } from "../core/timeout.ts";

export interface ErrorBody {
  error: { code: string; message: string; field?: string; dependency?: string };
}

export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: ContentfulStatusCode, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function jsonError(c: Context, status: ContentfulStatusCode, code: string, message: string, field?: string) {
  const body: ErrorBody = { error: field ? { code, message, field } : { code, message } };
  return c.json(body, status);
}

/** Parses `value` or throws a 400 naming the first offending field (`where` prefixes it: body, query, path). */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? `${where}.${issue.path.join(".")}` : where;
  throw new HttpError(400, "invalid_request", `${path}: ${issue?.message ?? "invalid"}`, path);
}

/** Reads a JSON request body of at most `maxBytes` (413 beyond, 400 naming `body` when it does not parse). */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const text = await req.text();
  if (new TextEncoder().encode(text).byteLength > maxBytes) {
    throw new HttpError(413, "payload_too_large", `body: larger than ${maxBytes} bytes`, "body");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_request", "body: must be a JSON object", "body");
  }
}

export function onError(err: Error, c: Context) {
  if (err instanceof HttpError) return jsonError(c, err.status, err.code, err.message, err.field);
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return jsonError(c, status, status === 400 ? "invalid_request" : "http_error", err.message || "request failed");
  }
  if (err instanceof DependencyError) {
    console.error(JSON.stringify({ level: "error", msg: "dependency failed", dependency: err.dependency, error: err.message }));
    // Integrity violations mean the server is up and the request conflicts with stored data.
    if (err.sqlState?.startsWith("23")) return jsonError(c, 409, "conflict", "the request conflicts with stored data");
    const body: ErrorBody = {
      error: { code: "dependency_unavailable", message: `${err.dependency} is unavailable; try again shortly`, dependency: err.dependency },
    };
    c.header("retry-after", "1");
    return c.json(body, 503);
  }
  console.error(JSON.stringify({ level: "error", msg: "unhandled", error: String(err), stack: err.stack }));
  return jsonError(c, 500, "internal_error", "internal error");
}
