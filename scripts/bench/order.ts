// Which peer goes when in each round: balanced and seeded, so no peer is always first or always after the same one, and a run can be repeated.

/** A small seeded generator (mulberry32, uniform in [0, 1)): the same seed gives the same orders on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A copy of `items` in a random order drawn from `random` (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/**
 * A Williams design for `n` items: n orders (2n when n is odd) in which every item takes every
 * position equally often and directly follows every other item equally often, so neither going
 * first nor coming after a heavier peer favours anyone.
 */
export function williamsOrders(n: number): number[][] {
  const first = Array.from({ length: n }, (_, j) => (j === 0 ? 0 : j % 2 === 1 ? (j + 1) / 2 : n - j / 2));
  const rows = Array.from({ length: n }, (_, i) => first.map((item) => (item + i) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}

/**
 * The order of `items` in each of `rounds` rounds: Williams designs back to back, each one's
 * orders shuffled with a generator seeded by `seed` (the last design may be cut short; with
 * rounds a multiple of its size, every item is first equally often).
 */
export function roundOrders<T>(items: readonly T[], rounds: number, seed: number): T[][] {
  const random = seededRandom(seed);
  const design = williamsOrders(items.length);
  const orders: T[][] = [];
  while (orders.length < rounds) orders.push(...shuffled(design, random).map((row) => row.map((i) => items[i]!)));
  return orders.slice(0, rounds);
}
