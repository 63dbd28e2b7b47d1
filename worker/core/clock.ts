/** Time as the release path reads it: the runtime's, or a simulator's virtual clock (scripts/simulate-release). */
export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** `work`, or a rejection naming `what` once `ms` have passed on `clock`. */
export function within<T>(work: Promise<T>, ms: number, clock: Clock, what: string): Promise<T> {
  let cancel: (() => void) | undefined;
  const late = new Promise<never>((_, reject) => {
    cancel = clock.after(ms, () => reject(new Error(`${what} did not answer within ${ms} ms`)));
  });
  return Promise.race([work, late]).finally(() => cancel?.());
}

/** `work`'s value, or `fallback()` once `ms` have passed on `clock` (the work goes on). */
export function atMost<T>(work: Promise<T>, ms: number, clock: Clock, fallback: () => T): Promise<T> {
  let cancel: (() => void) | undefined;
  const late = new Promise<T>((resolve) => {
    cancel = clock.after(ms, () => resolve(fallback()));
  });
  return Promise.race([work, late]).finally(() => cancel?.());
}
