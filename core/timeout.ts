/** @module Every remote call in Strata is bounded: this is the one way to bound a promise. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  readonly dependency: string;
  readonly timeoutMs: number;
  constructor(dependency: string, timeoutMs: number) {
    super(`${dependency} did not answer within ${timeoutMs} ms`);
    this.dependency = dependency;
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
