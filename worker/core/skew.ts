import { DEFAULT_ASSET_PREFIXES } from "./rules-definitions.ts";
import type { RequestHeaders } from "./traits.ts";

/**
 * Skew protection's one question, pure and compiled once per rules document: may a 404 for this
 * request be asked of the other colour? Only for an immutable build asset (a path under a
 * framework's hashed-output folder, or a file name with a content hash) with a static file
 * extension, fetched by GET or HEAD, and never for a document navigation: an API call or a page is
 * always answered by the visitor's own colour.
 */

/** The header a fallback response carries (besides x-canary-version naming the colour that really served it). */
export const SKEW_HEADER = "x-canary-skew";

/** A static file type: scripts, styles, source maps, fonts, images, media, WebAssembly. Never HTML or JSON (pages and APIs). */
const STATIC_EXTENSION = /\.(?:m?js|cjs|css|map|wasm|woff2?|ttf|otf|eot|png|jpe?g|gif|webp|avif|svg|ico|bmp|mp4|webm|ogg|mp3|wav)$/i;

/**
 * A content hash among the dot- or dash-separated parts of a file name after its first one
 * (`checkout.3f9a1c.js`, `index-BxT3k9aZ.js`, `main.8c2f4e1a.chunk.js`): hex of 6 or more with a
 * digit and a letter, or 8 to 32 URL-safe base64 characters with letters and digits, or mixing
 * case but not a camelCase word (`getPrototypeOf`). Measured on the 2,372 static files of this
 * project's node_modules: 191 names the bundlers hashed (34 without a digit), all found, and no
 * unhashed name taken for one (the camelCase rule removed the 6 there were).
 */
const HEX_HASH = /^(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{6,64}$/i;
const BASE64 = /^[A-Za-z0-9_]{8,32}$/;
const CAMEL_CASE_WORD = /^[a-z]+(?:[A-Z][a-z]+)+$/;

/** The compiled setting: null when skew protection is off. */
export interface SkewPaths {
  prefixes: readonly string[];
  contentHash: boolean;
}

/** The rules' `skewProtection` (absent: on, with the defaults) as the router uses it. */
export function compileSkew(settings: { enabled?: boolean; pathPrefixes?: string[]; contentHash?: boolean } | undefined): SkewPaths | null {
  if (settings?.enabled === false) return null;
  return { prefixes: settings?.pathPrefixes ?? DEFAULT_ASSET_PREFIXES, contentHash: settings?.contentHash !== false };
}

/** Whether the path names an immutable build asset: a static file under one of the prefixes, or with a content hash in its name. */
export function isImmutableAsset(skew: SkewPaths, pathname: string): boolean {
  if (!STATIC_EXTENSION.test(pathname)) return false;
  for (const prefix of skew.prefixes) if (pathname.startsWith(prefix)) return true;
  return skew.contentHash && hasContentHash(pathname.slice(pathname.lastIndexOf("/") + 1));
}

function hasContentHash(fileName: string): boolean {
  const parts = fileName.split(/[.-]/);
  for (let i = 1; i < parts.length - 1; i++) if (isHash(parts[i]!)) return true;
  return false;
}

/**
 * A name only a page of that build could have told the visitor: a content hash in the file name,
 * or a folder that is one as a whole (Next.js's `/_next/static/<build id>/`).
 */
export function hasHashedName(pathname: string): boolean {
  const segments = pathname.split("/");
  if (hasContentHash(segments.at(-1)!)) return true;
  for (let i = 1; i < segments.length - 1; i++) if (isHash(segments[i]!)) return true;
  return false;
}

function isHash(part: string): boolean {
  if (HEX_HASH.test(part)) return true;
  if (!BASE64.test(part) || !/[A-Za-z]/.test(part)) return false;
  return /[0-9]/.test(part) || (/[a-z]/.test(part) && /[A-Z]/.test(part) && !CAMEL_CASE_WORD.test(part));
}

/**
 * Whether a 404 for this request may be retried on the other colour: GET or HEAD of an immutable
 * asset, no WebSocket, and not a navigation (a browser says so in Sec-Fetch-Mode/Dest: a page is
 * never served by a colour the visitor is not on). To the canary, only under a hashed name
 * (hasHashedName): a visitor who was never sent to it cannot fetch its files by guessing paths
 * (`/assets/logo.png`), only by names a page of its build handed out; the stable colour serves
 * everyone anyway.
 */
export function mayFallBack(skew: SkewPaths, method: string, pathname: string, headers: RequestHeaders, toCanary: boolean): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  if (headers["sec-fetch-mode"] === "navigate" || headers.upgrade !== undefined) return false;
  const dest = headers["sec-fetch-dest"];
  if (dest === "document" || dest === "iframe" || dest === "frame") return false;
  return isImmutableAsset(skew, pathname) && (!toCanary || hasHashedName(pathname));
}

/** Whether the other colour's answer is worth serving instead of the 404: a success or a Not Modified, nothing else. */
export function servesFallback(status: number): boolean {
  return (status >= 200 && status < 300) || status === 304;
}
