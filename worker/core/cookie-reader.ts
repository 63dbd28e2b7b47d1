import { tryDecodeURIComponent } from "hono/utils/url";

/**
 * Reads just the named cookies from a Cookie header, by search rather than parsing every pair: a
 * visitor may carry dozens of the site's cookies and the router needs two or three. Same reading
 * as hono's cookie parser for those names (first occurrence wins, blanks trimmed, quotes dropped,
 * percent-decoding when it decodes), except that a value also ends where ", name=" starts: several
 * Cookie lines reach a Worker joined with ", ". A name found only after such a seam is read from
 * there, so a router cookie on a second line still counts; one after `;` is always preferred, so a
 * value holding ", name=" cannot shadow the real cookie.
 */
export function readCookies(header: string | null, names: readonly string[]): Record<string, string> {
  const found: Record<string, string> = {};
  if (!header) return found;
  for (const name of names) {
    const value = readCookie(header, name, false) ?? (header.includes(",") ? readCookie(header, name, true) : undefined);
    if (value !== undefined) found[name] = value;
  }
  return found;
}

function readCookie(header: string, name: string, afterSeam: boolean): string | undefined {
  for (let at = header.indexOf(name); at >= 0; at = header.indexOf(name, at + 1)) {
    if (startsPair(header, at) !== (afterSeam ? "seam" : "pair")) continue;
    let i = at + name.length;
    while (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9) i++;
    if (header.charCodeAt(i) !== 61 /* = */) continue;
    let value = header.slice(i + 1, valueEnd(header, i + 1)).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value.includes("%") ? tryDecodeURIComponent(value) : value;
  }
  return undefined;
}

/** What comes before a name: the header's start or `;` and blanks ("pair"), the ", " that joins two lines ("seam"), or neither. */
function startsPair(header: string, at: number): "pair" | "seam" | undefined {
  let i = at - 1;
  while (i >= 0 && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i--;
  if (i < 0 || header.charCodeAt(i) === 59 /* ; */) return "pair";
  return header.charCodeAt(i) === 44 /* , */ && i < at - 1 ? "seam" : undefined;
}

/**
 * Where one cookie pair ends and the next begins: `;` and blanks, or the ", " that joins two Cookie
 * lines when a name (blanks allowed before its `=`, as readCookie allows them) follows it.
 * forward.ts splits on it to drop the router's cookies.
 */
export const COOKIE_PAIR_SEPARATOR = /;[ \t]*|,[ \t]+(?=[^\s=;,]+[ \t]*=)/;
/** The same, searched from a position. */
const NEXT_PAIR = new RegExp(COOKIE_PAIR_SEPARATOR.source, "g");

/** Where a value starting at `from` ends: at the next pair separator, else the header's end. */
function valueEnd(header: string, from: number): number {
  const semicolon = header.indexOf(";", from);
  const comma = header.indexOf(",", from);
  if (comma < 0 || (semicolon >= 0 && semicolon < comma)) return semicolon < 0 ? header.length : semicolon; // the usual case, without a regex
  NEXT_PAIR.lastIndex = from;
  return NEXT_PAIR.exec(header)?.index ?? header.length;
}
