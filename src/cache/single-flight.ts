const noop = () => {};

/**
 * Coalesces concurrent calls that share a key into one execution; every caller gets its result
 * (or its error). Safe only when the key itself says which data is wanted (e.g. it carries the
 * cache version), because a caller may join an execution that started before it asked.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.flights.get(key);
    if (existing) return existing;
    const flight = Promise.resolve().then(fn);
    this.flights.set(key, flight);
    const forget = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    flight.then(forget, forget);
    return flight;
  }

  get size(): number {
    return this.flights.size;
  }
}

/**
 * Coalescing for when there is no version to tell fresh from stale (Redis down): a caller only
 * joins an execution that has not started yet, so every answer was read after its caller asked
 * (read-your-writes holds). At most one execution runs per key and one more waits; callers that
 * arrive in the same tick share the first one.
 */
export class FreshFlight<T> {
  private readonly queued = new Map<string, Promise<T>>();
  private readonly tails = new Map<string, Promise<void>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const waiting = this.queued.get(key);
    if (waiting) return waiting;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const execution: Promise<T> = previous.then(() => {
      if (this.queued.get(key) === execution) this.queued.delete(key);
      return fn();
    });
    this.queued.set(key, execution);
    const tail = execution.then(noop, noop);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return execution;
  }
}
