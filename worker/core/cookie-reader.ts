import { tryDecodeURIComponent } from "hono/utils/url";

/**
 * Reads just the named cookies from a Cookie header, by search rather than parsing every pair: a
 * visitor may carry dozens of the site's cookies and the router needs two or three. Same reading
 * as hono's cookie parser for those names: first occurrence wins, blanks trimmed, quotes dropped,
 * percent-decoding when it decodes. Several Cookie lines reach a Worker joined with ", ": a pair
 * also starts after ", ", and a value ends where ", name=" starts the next line.
 */
export function readCookies(header: string | null, names: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {};
  if (!header) return found;
  for (const name of names) {
    const value = readCookie(header, name);
    if (value !== undefined) found[name] = value;
  }
  return found;
}

function readCookie(header: string, name: string): string | undefined {
  for (let at = header.indexOf(name); at >= 0; at = header.indexOf(name, at + 1)) {
    if (!startsPair(header, at)) continue;
    let i = at + name.length;
    while (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9) i++;
    if (header.charCodeAt(i) !== 61 /* = */) continue;
    let value = header.slice(i + 1, valueEnd(header, i + 1)).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value.includes("%") ? tryDecodeURIComponent(value) : value;
  }
  return undefined;
}

/** The name starts a pair: at the header's start, after `;` and blanks, or after the ", " that joins two lines. */
function startsPair(header: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i--;
  if (i < 0 || header.charCodeAt(i) === 59 /* ; */) return true;
  return header.charCodeAt(i) === 44 /* , */ && i < at - 1;
}

/**
 * Where one cookie pair ends and the next begins: `;` and blanks, or the ", " that joins two Cookie
 * lines when a name and `=` follow it. forward.ts splits on it to drop the router's cookies.
 */
export const COOKIE_PAIR_SEPARATOR = /;\s*|,\s+(?=[^\s=;,]+=)/g;

/** Where a value starting at `from` ends: at the next pair separator, else the header's end. */
function valueEnd(header: string, from: number): number {
  const semicolon = header.indexOf(";", from);
  const comma = header.indexOf(",", from);
  if (comma < 0 || (semicolon >= 0 && semicolon < comma)) return semicolon < 0 ? header.length : semicolon; // the usual case, without a regex
  COOKIE_PAIR_SEPARATOR.lastIndex = from;
  return COOKIE_PAIR_SEPARATOR.exec(header)?.index ?? header.length;
}
