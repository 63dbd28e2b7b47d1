/**
 * `cloudflare:workers` for the Node fallback, which has no such module. The router's entry exports
 * the analysis Durable Object class, so the class must exist; the benchmark never runs it.
 */
export class DurableObject<E = unknown> {
  constructor(
    readonly ctx: unknown,
    readonly env: E,
  ) {}
}
