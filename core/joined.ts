/**
 * @module Sharing one promise between requests, safely on Workers.
 *
 * Two things go wrong in workerd when a request simply `await`s a promise another request created
 * (found by the `stampede` benchmark with real concurrent requests; the Workers test pool never
 * issues two at once):
 * - the awaiting code resumes inside the other request, so its own I/O then fails ("Cannot perform
 *   I/O on behalf of a different request");
 * - a request with nothing pending in its own context (no I/O, no timer) looks hung to the runtime,
 *   which cancels it ("your Worker's code had hung and would never generate a response") while it
 *   waits for the other request's I/O.
 * So a joiner gets a promise of its own, which the runtime settles back in the joiner's request,
 * and keeps a timer of its own pending until the shared work settles. In Node this costs one
 * promise and a timer every `keepAliveMs`.
 */
const KEEP_ALIVE_MS = 20;

export function joined<T>(shared: Promise<T>, keepAliveMs = KEEP_ALIVE_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    // Never cleared from the settling side (that would touch this request's timer from another
    // request): it simply stops re-arming, at most one tick after the work settles.
    const tick = (): void => {
      if (!settled) setTimeout(tick, keepAliveMs);
    };
    tick();
    shared.then(
      (value) => {
        settled = true;
        resolve(value);
      },
      (error: unknown) => {
        settled = true;
        reject(error);
      },
    );
  });
}
