/**
 * @module A circuit breaker for one remote dependency (Redis in practice): after enough consecutive failures the
 * dependency is bypassed for a while instead of making every request pay a timeout, then a single probe decides
 * whether it is back.
 *
 * States: closed (calls pass; `failureThreshold` consecutive failures open it) → open (calls are refused at once
 * with `CircuitOpenError`, no remote call; after `openMs` the next call becomes the probe) → half-open (exactly one
 * probe in flight, every other call refused; its success closes the breaker, its failure re-opens it for another
 * `openMs`). Consecutive failures rather than a failure rate over a window: the dependency here is either reachable
 * or not, the count needs no clock or buckets, and any success in between shows it still answers.
 *
 * Calls that were admitted before a state change settle into the counters but not into the state machine: a slow
 * success admitted while closed must not close a breaker that has since opened, and a late failure must not extend
 * an open period that a probe has already ended.
 */
import { DependencyError } from "./timeout.ts";

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  /** Named in `CircuitOpenError` so callers answer as for any failure of that dependency. */
  dependency: string;
  /** Consecutive failures (while closed) that open the breaker; >= 1. */
  failureThreshold: number;
  /** How long the breaker stays open before it lets one probe through; > 0. */
  openMs: number;
  /** Epoch-ms clock; injectable for tests. Defaults to Date.now. */
  now?: () => number;
  /**
   * Whether an error counts against the dependency. Defaults to every error. An error that shows the dependency
   * answered (a rejected command, say) can be excluded; it then counts as a success for the state machine.
   */
  isFailure?: (error: unknown) => boolean;
  /** Told about every transition, after it happened; for logs and metrics. Must not throw. */
  onStateChange?: (from: CircuitState, to: CircuitState) => void;
}

export interface CircuitBreakerStats {
  state: CircuitState;
  consecutiveFailures: number;
  /** Calls admitted (run by the breaker), probes included. */
  calls: number;
  successes: number;
  failures: number;
  /** Calls refused without running because the breaker was open or a probe was in flight. */
  rejections: number;
  /** Transitions to open (from closed or from a failed probe). */
  opens: number;
  /** Epoch ms of the last transition to open; undefined if it never opened. */
  openedAt: number | undefined;
}

/** The breaker refused the call: the dependency is being bypassed. No remote call was made. */
export class CircuitOpenError extends DependencyError {
  override readonly name = "CircuitOpenError";
  /** Epoch ms from which a probe may go through; while a probe is in flight, the time it is considered lost. */
  readonly retryAt: number;
  constructor(dependency: string, retryAt: number) {
    super(dependency, `${dependency} is bypassed: circuit open after repeated failures`);
    this.retryAt = retryAt;
  }
}

export class CircuitBreaker {
  readonly dependency: string;
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private readonly now: () => number;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly onStateChange: ((from: CircuitState, to: CircuitState) => void) | undefined;
  /** Stored state; "open" turns into "half-open" lazily, when someone looks after `openMs`. */
  private current: CircuitState = "closed";
  /** Bumped on every transition so outcomes of calls admitted under an earlier state are ignored. */
  private epoch = 0;
  private openedAtMs: number | undefined;
  private probeStartedAt = 0;
  private probeInFlight = false;
  private consecutive = 0;
  private calls = 0;
  private successes = 0;
  private failures = 0;
  private rejections = 0;
  private opens = 0;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
      throw new RangeError(`failureThreshold must be an integer >= 1, got ${options.failureThreshold}`);
    }
    if (!(options.openMs > 0) || !Number.isFinite(options.openMs)) {
      throw new RangeError(`openMs must be a finite number > 0, got ${options.openMs}`);
    }
    this.dependency = options.dependency;
    this.failureThreshold = options.failureThreshold;
    this.openMs = options.openMs;
    this.now = options.now ?? Date.now;
    this.isFailure = options.isFailure ?? (() => true);
    this.onStateChange = options.onStateChange;
  }

  /** "half-open" from the moment `openMs` has passed, even before the probe has been sent. */
  get state(): CircuitState {
    this.settleClock();
    return this.current;
  }

  stats(): CircuitBreakerStats {
    return {
      state: this.state,
      consecutiveFailures: this.consecutive,
      calls: this.calls,
      successes: this.successes,
      failures: this.failures,
      rejections: this.rejections,
      opens: this.opens,
      openedAt: this.openedAtMs,
    };
  }

  /**
   * Runs `fn` unless the breaker refuses it, in which case the promise rejects with `CircuitOpenError` and `fn` is
   * never called. `fn` should be bounded (every Strata remote call is): a probe that never settles is considered
   * lost after `openMs`, and only then may another probe go through.
   */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const now = this.now();
    this.settleClock(now);
    if (this.current === "open") return this.reject((this.openedAtMs ?? now) + this.openMs);
    if (this.current === "half-open") {
      if (this.probeInFlight && now < this.probeStartedAt + this.openMs) {
        return this.reject(this.probeStartedAt + this.openMs);
      }
      // Either the first probe, or the previous one is lost: a new epoch disowns its late outcome.
      if (this.probeInFlight) this.epoch++;
      this.probeInFlight = true;
      this.probeStartedAt = now;
    }
    const epoch = this.epoch;
    this.calls++;
    let work: Promise<T>;
    try {
      work = fn();
    } catch (error) {
      work = Promise.reject(error);
    }
    return work.then(
      (value) => {
        this.record(epoch, true);
        return value;
      },
      (error: unknown) => {
        this.record(epoch, !this.isFailure(error));
        throw error;
      },
    );
  }

  /** Back to closed with a clean failure count (an operator override; counters are kept). */
  reset(): void {
    this.consecutive = 0;
    this.probeInFlight = false;
    this.transition("closed");
  }

  private reject(retryAt: number): Promise<never> {
    this.rejections++;
    return Promise.reject(new CircuitOpenError(this.dependency, retryAt));
  }

  private record(epoch: number, ok: boolean): void {
    if (ok) this.successes++;
    else this.failures++;
    if (epoch !== this.epoch) return;
    if (this.current === "half-open") {
      this.probeInFlight = false;
      if (ok) {
        this.consecutive = 0;
        this.transition("closed");
      } else {
        this.consecutive++;
        this.open();
      }
      return;
    }
    // Closed (an open breaker admits nothing, so no call of the current epoch settles while open).
    if (ok) {
      this.consecutive = 0;
    } else if (++this.consecutive >= this.failureThreshold) {
      this.open();
    }
  }

  private open(): void {
    this.openedAtMs = this.now();
    this.opens++;
    this.transition("open");
  }

  private settleClock(now: number = this.now()): void {
    if (this.current === "open" && now >= (this.openedAtMs ?? now) + this.openMs) {
      this.probeInFlight = false;
      this.transition("half-open");
    }
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    this.epoch++;
    if (from === to) return;
    this.current = to;
    this.onStateChange?.(from, to);
  }
}
