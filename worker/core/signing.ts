/**
 * HMAC-SHA256 signatures in hono's signed-cookie format (`value.base64sig`), with the key imported
 * once per secret: hono's parseSigned imports it on every call, which the benchmark showed to be
 * the largest single cost of a visitor's request. Cookies written here read fine with hono/cookie.
 */
const keys = new Map<string, Promise<CryptoKey>>();
/** Values whose signature already checked out, per secret: a returning visitor's cookie costs a look-up, not an HMAC. */
const verified = new Map<string, Map<string, string>>();
/** Signatures already made, per secret: sticky values repeat (one per bucket), so each is signed once. */
const signed = new Map<string, Map<string, string>>();
/** Bounded so that junk cannot grow an isolate's memory; the oldest entry goes first. */
const MAX_REMEMBERED = 10_000;

function remember(cache: Map<string, Map<string, string>>, secret: string, key: string, value: string): void {
  let entries = cache.get(secret);
  if (!entries) cache.set(secret, (entries = new Map()));
  if (entries.size >= MAX_REMEMBERED) entries.delete(entries.keys().next().value!);
  entries.set(key, value);
}

function key(secret: string): Promise<CryptoKey> {
  let found = keys.get(secret);
  if (!found) {
    const raw = new TextEncoder().encode(secret);
    found = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, found);
  }
  return found;
}

/** `value.signature`, ready to be a cookie value or a link token. */
export async function sign(value: string, secret: string): Promise<string> {
  const known = signed.get(secret)?.get(value);
  if (known) return known;
  const signature = await crypto.subtle.sign("HMAC", await key(secret), new TextEncoder().encode(value));
  const text = `${value}.${btoa(String.fromCharCode(...new Uint8Array(signature)))}`;
  remember(signed, secret, value, text);
  remember(verified, secret, text, value); // made here, so it holds: a cookie this isolate issued comes back without an HMAC
  return text;
}

/** The value of a `value.signature` string whose signature holds (constant-time check by Web Crypto), else undefined. */
export async function verify(text: string, secret: string): Promise<string | undefined> {
  const known = verified.get(secret)?.get(text);
  if (known !== undefined) return known;
  const dot = text.lastIndexOf(".");
  const signature = text.slice(dot + 1);
  if (dot < 0 || signature.length !== 44 || !signature.endsWith("=")) return undefined;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  const value = text.slice(0, dot);
  const ok = await crypto.subtle.verify("HMAC", await key(secret), bytes, new TextEncoder().encode(value));
  if (!ok) return undefined;
  remember(verified, secret, text, value);
  return value;
}

/** What a Signatures answer reads while its HMAC is being computed (known after `ready()`). */
export const PENDING: unique symbol = Symbol("signature pending");
export type Pending = typeof PENDING;

/**
 * The HMACs one request needs, answered from this isolate's memory when known, so that a returning
 * visitor's request never waits on Web Crypto: an unknown one is started, reads PENDING, and is
 * known (for this request, whatever the shared memory forgets meanwhile) once `ready()` resolves.
 */
export class Signatures {
  private readonly values = new Map<string, string | undefined>();
  private readonly texts = new Map<string, string>();
  private started: Promise<unknown>[] = [];
  readonly secret: string | undefined;

  constructor(secret: string | undefined) {
    this.secret = secret; // no parameter property: Node runs this file with its types stripped (the simulator, the CLI)
  }

  /** verify(text): the value when the signature holds, undefined when it does not (or there is no secret). */
  verified(text: string): string | undefined | Pending {
    const secret = this.secret;
    if (!secret) return undefined;
    if (this.values.has(text)) return this.values.get(text);
    const known = verified.get(secret)?.get(text);
    if (known !== undefined) return known;
    this.started.push(verify(text, secret).then((value) => this.values.set(text, value)));
    return PENDING;
  }

  /** sign(value), for a request that has a secret. */
  signed(value: string): string | Pending {
    const known = this.texts.get(value) ?? signed.get(this.secret!)?.get(value);
    if (known !== undefined) return known;
    this.started.push(sign(value, this.secret!).then((text) => this.texts.set(value, text)));
    return PENDING;
  }

  /** Resolves once every HMAC started so far is known. */
  async ready(): Promise<void> {
    const started = this.started;
    this.started = [];
    await Promise.all(started);
  }
}
