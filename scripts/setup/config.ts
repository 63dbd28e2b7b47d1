// The few values `npm run setup` writes into the wrangler.toml files, each edited in place on its own
// line: comments, order and everything else in the file stay as they were.

/** The title setup gives the namespace it creates (and looks for when wrangler.toml names none that exists). */
export const NAMESPACE_TITLE = "edge-canary-rules";
/** Where setup writes an ADMIN_TOKEN it generated (mode 0600), relative to the project: the only place it is ever shown. */
export const TOKEN_FILE = ".wrangler/edge-canary-admin-token";

/** The placeholder id both wrangler.toml files ship with (local runs ignore it). */
export const PLACEHOLDER_KV_ID = "00000000000000000000000000000000";

export interface Route {
  pattern: string;
  zone: string;
}

/** The lines of the table that starts at `header` (up to the next table header), as [start, end) line indexes. */
function tables(lines: string[], header: string): [number, number][] {
  const found: [number, number][] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== header) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*\[/.test(lines[end]!)) end++;
    found.push([i + 1, end]);
  }
  return found;
}

const keyLine = (key: string) => new RegExp(`^(\\s*${key}\\s*=\\s*)"([^"]*)"(.*)$`);

/** The [[kv_namespaces]] table with this binding: its `id` line, or undefined. */
function kvIdLine(lines: string[], binding: string): number | undefined {
  for (const [start, end] of tables(lines, "[[kv_namespaces]]")) {
    const block = lines.slice(start, end);
    if (!block.some((line) => keyLine("binding").exec(line)?.[2] === binding)) continue;
    const index = block.findIndex((line) => keyLine("id").test(line));
    if (index >= 0) return start + index;
  }
  return undefined;
}

export function readKvId(text: string, binding: string): string | undefined {
  const lines = text.split("\n");
  const index = kvIdLine(lines, binding);
  return index === undefined ? undefined : keyLine("id").exec(lines[index]!)![2];
}

/** Sets the namespace id of `binding`; refuses a file without that [[kv_namespaces]] table. */
export function setKvId(text: string, binding: string, id: string): string {
  const lines = text.split("\n");
  const index = kvIdLine(lines, binding);
  if (index === undefined) throw new Error(`no [[kv_namespaces]] table with binding = "${binding}" and an id line`);
  lines[index] = lines[index]!.replace(keyLine("id"), `$1"${id}"$3`);
  return lines.join("\n");
}

/** The value of `name` under [vars], or undefined. */
export function readVar(text: string, name: string): string | undefined {
  const lines = text.split("\n");
  for (const [start, end] of tables(lines, "[vars]")) {
    for (const line of lines.slice(start, end)) {
      const match = keyLine(name).exec(line);
      if (match) return match[2];
    }
  }
  return undefined;
}

export function setVar(text: string, name: string, value: string): string {
  const lines = text.split("\n");
  for (const [start, end] of tables(lines, "[vars]")) {
    for (let i = start; i < end; i++) {
      if (!keyLine(name).test(lines[i]!)) continue;
      lines[i] = lines[i]!.replace(keyLine(name), `$1${JSON.stringify(value)}$3`);
      return lines.join("\n");
    }
  }
  throw new Error(`no ${name} under [vars]`);
}

const ROUTES_LINE = /^routes\s*=\s*\[\s*\{\s*pattern\s*=\s*"([^"]*)"\s*,\s*zone_name\s*=\s*"([^"]*)"\s*\}\s*\]\s*$/;

/** The one route setup writes (`routes = [{ pattern = "…", zone_name = "…" }]`), or undefined; refuses any other routes line. */
export function readRoute(text: string): Route | undefined {
  const line = topLevel(text).find((l) => /^routes\s*=/.test(l));
  if (line === undefined) return undefined;
  const match = ROUTES_LINE.exec(line);
  if (!match) throw new Error(`wrangler.toml has a routes line setup does not write (${line.trim()}): edit it yourself, or make it one route`);
  return { pattern: match[1]!, zone: match[2]! };
}

/** Writes the route: in place of the routes line, else under the commented example, else before the first table. */
export function setRoute(text: string, route: Route): string {
  readRoute(text);
  return placeRoutesLine(text, `routes = [{ pattern = ${JSON.stringify(route.pattern)}, zone_name = ${JSON.stringify(route.zone)} }]`);
}

const DOMAIN_LINE = /^routes\s*=\s*\[\s*\{\s*pattern\s*=\s*"([^"]*)"\s*,\s*custom_domain\s*=\s*true\s*\}\s*\]\s*$/;

/** The one custom domain setup writes (`routes = [{ pattern = "…", custom_domain = true }]`), or undefined; refuses any other routes line. */
export function readCustomDomain(text: string): string | undefined {
  const line = topLevel(text).find((l) => /^routes\s*=/.test(l));
  if (line === undefined) return undefined;
  const match = DOMAIN_LINE.exec(line);
  if (!match) throw new Error(`has a routes line setup does not write (${line.trim()}): edit it yourself, or make it one custom domain`);
  return match[1]!;
}

/** Writes the custom domain the way setRoute writes a route: in place of the routes line, else under the commented example, else before the first table. */
export function setCustomDomain(text: string, host: string): string {
  readCustomDomain(text);
  return placeRoutesLine(text, `routes = [{ pattern = ${JSON.stringify(host)}, custom_domain = true }]`);
}

function placeRoutesLine(text: string, line: string): string {
  const lines = text.split("\n");
  const firstTable = lines.findIndex((l) => /^\s*\[/.test(l));
  const top = firstTable < 0 ? lines.length : firstTable;
  const existing = lines.slice(0, top).findIndex((l) => /^routes\s*=/.test(l));
  if (existing >= 0) lines[existing] = line;
  else {
    const example = lines.slice(0, top).findIndex((l) => /^#\s*routes\s*=/.test(l));
    lines.splice(example >= 0 ? example + 1 : top, 0, line);
  }
  return lines.join("\n");
}

function topLevel(text: string): string[] {
  const lines = text.split("\n");
  const firstTable = lines.findIndex((l) => /^\s*\[/.test(l));
  return firstTable < 0 ? lines : lines.slice(0, firstTable);
}

/** The host a route pattern serves ("www.example.com/*" → "www.example.com"), wildcards kept. */
export function routeHost(pattern: string): string {
  return pattern.split("/")[0]!.replace(/:\d+$/, "");
}

/** Why this route cannot be in this zone, or undefined when it can. */
export function routeProblem(route: Route): string | undefined {
  const host = routeHost(route.pattern).replace(/^\*\.?/, "");
  if (!route.pattern.includes("/")) return `route "${route.pattern}" needs a path, e.g. "${route.pattern}/*"`;
  if (!/^[a-z0-9.-]+$/i.test(route.zone) || !route.zone.includes(".")) return `zone "${route.zone}" is not a domain name (e.g. example.com)`;
  if (host !== route.zone && !host.endsWith(`.${route.zone}`)) return `route "${route.pattern}" is not in zone ${route.zone}`;
  return undefined;
}

/**
 * Why `host` cannot be the dashboard's own host (a custom domain of the control Worker), or undefined
 * when it can: a bare hostname (no scheme, port, path or wildcard), not the host the site is on.
 */
export function dashboardHostProblem(host: string, route: Route): string | undefined {
  const example = "e.g. --dashboard-host canary.example.com";
  if (/^[a-z]+:\/\//i.test(host) || /[/:?#@*\s]/.test(host)) return `--dashboard-host "${host}" must be a bare hostname (no scheme, port, path or wildcard), ${example}`;
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i.test(host)) return `--dashboard-host "${host}" is not a hostname, ${example}`;
  const site = routeHost(route.pattern).toLowerCase();
  if (host.toLowerCase() === site) return `--dashboard-host ${host} is the site's own host (the route ${route.pattern}): the dashboard needs a host of its own, ${example.replace("example.com", route.zone)}`;
  // A Worker route wins over a custom domain on the same hostname, so a wildcard route that matches
  // the dashboard's host would hand it to the edge (and the canary build it is judging).
  if (routeMatchesHost(route.pattern, host)) return `--dashboard-host ${host} is matched by the route ${route.pattern}: a Worker route wins over a custom domain, so the edge would serve the dashboard's host; give a host the route does not match, or narrow the route (e.g. 'www.${route.zone}/*')`;
  return undefined;
}

/** Whether a route pattern's host part (a glob: `*` is any run of characters, case-insensitive) matches `host`. */
export function routeMatchesHost(pattern: string, host: string): boolean {
  const glob = routeHost(pattern).toLowerCase();
  const regex = new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return regex.test(host.toLowerCase());
}
