/** @module JSON errors for every failure the worker answers, so clients never parse HTML or plain text. */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
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

export function onError(err: Error, c: Context) {
  if (err instanceof HttpError) return jsonError(c, err.status, err.code, err.message, err.field);
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return jsonError(c, status, status === 400 ? "invalid_request" : "http_error", err.message || "request failed");
  }
  console.error(JSON.stringify({ level: "error", msg: "unhandled", error: String(err), stack: err.stack }));
  return jsonError(c, 500, "internal_error", "internal error");
}
