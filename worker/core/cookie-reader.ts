import { tryDecodeURIComponent } from "hono/utils/url";

/**
 * Reads just the named cookies from a Cookie header, by search rather than parsing every pair: a
 * visitor may carry dozens of the site's cookies and the router needs two or three. hono's cookie
 * parser's reading for those names (first occurrence wins, blanks trimmed, quotes dropped,
 * percent-decoding when it decodes), except that hono skips a value its character check refuses
 * and this takes it: only a visitor's own header holds such a value. A pair starts only at the header's start or after `;`: not
 * after the ", " that joins two Cookie lines, since a value holding ", __Host-canary-force=green"
 * (which a sibling subdomain can set) would then plant a router cookie. forward.ts still strips
 * router cookies found there.
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
    const end = header.indexOf(";", i + 1);
    let value = header.slice(i + 1, end < 0 ? header.length : end).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value.includes("%") ? tryDecodeURIComponent(value) : value;
  }
  return undefined;
}

/** The name starts a pair: at the header's start or after `;` and blanks. */
function startsPair(header: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i--;
  return i < 0 || header.charCodeAt(i) === 59 /* ; */;
}
