/**
 * @module Every remote call in Strata is bounded and every failure of one is named: `bounded`
 * turns a call into either its value or a `DependencyError` saying which dependency failed.
 */
export type Dependency = "postgres" | "redis" | "queue" | "cdn";

/** A remote dependency failed or did not answer; callers answer 503 (or serve stale) rather than 500. */
export class DependencyError extends Error {
  override readonly name: string = "DependencyError";
  readonly dependency: string;
  /** SQLSTATE when Postgres itself rejected the statement (the server is up; the request is at fault). */
  readonly sqlState: string | undefined;
  constructor(dependency: string, message: string, options?: { cause?: unknown; sqlState?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.dependency = dependency;
    this.sqlState = options?.sqlState;
  }
}

export class TimeoutError extends DependencyError {
  override readonly name = "TimeoutError";
  readonly timeoutMs: number;
  constructor(dependency: string, timeoutMs: number) {
    super(dependency, `${dependency} did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, dependency: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(dependency, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The SQLSTATE of a Postgres error, wherever the driver or Drizzle put it. */
export function sqlStateOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** Whether `error` (or what it wraps) is a fetch aborted by an `AbortSignal.timeout`. */
function isSignalTimeout(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { name?: unknown }).name === "TimeoutError") return true;
  }
  return false;
}

/**
 * `withTimeout`, with any other failure wrapped as a DependencyError naming `dependency`. A client
 * whose own timeout signal (the same bound) fires first fails as a timeout too, not as "unavailable".
 */
export async function bounded<T>(work: () => Promise<T>, timeoutMs: number, dependency: Dependency): Promise<T> {
  try {
    return await withTimeout(work(), timeoutMs, dependency);
  } catch (error) {
    if (error instanceof DependencyError) throw error;
    if (isSignalTimeout(error)) throw new TimeoutError(dependency, timeoutMs);
    const message = error instanceof Error ? error.message : String(error);
    throw new DependencyError(dependency, `${dependency}: ${message}`, { cause: error, sqlState: sqlStateOf(error) });
  }
}
