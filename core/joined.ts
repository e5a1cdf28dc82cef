/**
 * @module Sharing one piece of work between requests, safely on Workers.
 *
 * workerd ties every promise reaction to a request. A request that `await`s a promise another
 * request created resumes inside that other request (its own I/O then fails: "Cannot perform I/O
 * on behalf of a different request"), and a request waiting with nothing pending in its own
 * context looks hung and is cancelled. Handing the outcome over through a promise of the joiner's
 * own, resolved from the other request, still failed under sustained load (the `edge` and
 * `stampede` benchmarks: a few percent of 500s). So nothing crosses requests but plain data: the
 * work's outcome is written into a box by the request that runs it, and each joiner polls that box
 * on timers of its own (1 ms, backing off to 8 ms) until it is filled. In Node this costs a few
 * timers per join.
 */
interface Outcome<T> {
  settled: boolean;
  ok: boolean;
  value?: T;
  error?: unknown;
}

const outcomes = new WeakMap<Promise<unknown>, Outcome<unknown>>();

function outcomeOf<T>(shared: Promise<T>): Outcome<T> {
  let box = outcomes.get(shared) as Outcome<T> | undefined;
  if (!box) {
    const created: Outcome<T> = { settled: false, ok: false };
    box = created;
    outcomes.set(shared, created);
    // Runs in the context of whoever settles the work; it only writes plain data.
    shared.then(
      (value) => {
        created.settled = true;
        created.ok = true;
        created.value = value;
      },
      (error: unknown) => {
        created.settled = true;
        created.error = error;
      },
    );
  }
  return box;
}

const FIRST_POLL_MS = 1;
const MAX_POLL_MS = 8;

export function joined<T>(shared: Promise<T>): Promise<T> {
  const box = outcomeOf(shared);
  return new Promise<T>((resolve, reject) => {
    let wait = FIRST_POLL_MS;
    const poll = (): void => {
      if (box.settled) {
        if (box.ok) resolve(box.value as T);
        else reject(box.error);
        return;
      }
      setTimeout(poll, wait);
      wait = Math.min(wait * 2, MAX_POLL_MS);
    };
    poll();
  });
}
