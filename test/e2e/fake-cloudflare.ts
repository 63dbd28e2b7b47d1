// A small in-memory Cloudflare API: the endpoints the wrangler commands of `npm run setup`, `npm run
// deploy` and the CLI's --remote transport call, answered in the API's envelope
// ({ success, errors, messages, result }). The real wrangler binary talks to it through
// CLOUDFLARE_API_BASE_URL; every call is recorded, in order, so a test can say exactly what was called.
// It models what the order of a deployment depends on: a service or Durable Object binding to a
// script (or class) that does not exist is refused, as is an `inherit` binding to a secret the
// Worker does not have. Custom domains (routes with custom_domain = true) are kept per hostname, as
// wrangler deploy asks for them (a changeset, then the whole state put), each call's JSON body kept. Run it alone to watch a wrangler command: node test/e2e/fake-cloudflare.ts [port]
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request wrangler made. */
export interface Call {
  method: string;
  /** The path under /client/v4, as sent. */
  path: string;
  query: string;
  status: number;
}

/** A binding as the script upload's metadata names it (kv_namespace, service, durable_object_namespace, secret_text, inherit, …). */
interface Binding {
  type: string;
  name: string;
  [field: string]: unknown;
}

interface Version {
  id: string;
  number: number;
  createdOn: string;
  /** Secrets without their values (a secret's value never leaves the fake, as on Cloudflare). */
  bindings: Binding[];
}

export interface Script {
  name: string;
  tag: string;
  createdOn: string;
  modifiedOn: string;
  migrationTag: string | null;
  /** Durable Object classes its migrations created. */
  classes: Set<string>;
  mainModule: string;
  modules: string[];
  /** Secret values by name: the tests check both Workers got the same CANARY_SECRET. */
  secrets: Map<string, string>;
  versions: Version[];
  deployments: { id: string; versions: { version_id: string; percentage: number }[]; createdOn: string }[];
  subdomain: { enabled: boolean; previews_enabled: boolean };
  settings: Record<string, unknown>;
}

interface KvValue {
  value: Buffer;
  metadata: unknown;
  expiration?: number;
}

export interface Namespace {
  id: string;
  title: string;
  values: Map<string, KvValue>;
}

interface Route {
  id: string;
  pattern: string;
  script: string;
  zoneId: string;
}

/** A Worker's custom domain: a hostname served by the script (Cloudflare makes its DNS record and certificate). */
export interface Domain {
  id: string;
  hostname: string;
  service: string;
  environment: string;
  zoneId: string;
  zoneName: string;
}

/** A call the test wants refused: the first `times` calls matching `method` and `path` get this error. */
export interface Refusal {
  method: string;
  path: RegExp;
  times?: number;
  status?: number;
  code?: number;
  message?: string;
}

export const ACCOUNT_ID = "0123456789abcdef0123456789abcdef";
export const WORKERS_SUBDOMAIN = "example-account";

const now = () => new Date().toISOString();
const hex = (bytes: number) => randomBytes(bytes).toString("hex");

class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const notFound = (what: string, code = 10007) => new ApiError(404, code, `${what} not found`);
const scriptNotFound = (name: string) => new ApiError(404, 10007, `workers.api.error.script_not_found: This Worker (${name}) does not exist on your account.`);

export interface FakeCloudflare {
  /** The base URL for CLOUDFLARE_API_BASE_URL. */
  url: string;
  accountId: string;
  calls: Call[];
  namespaces: Map<string, Namespace>;
  scripts: Map<string, Script>;
  routes: Route[];
  /** Custom domains, in the order they were attached. */
  domains: Domain[];
  /** The JSON body of each call with one, by its index in `calls` (what wrangler asked for). */
  bodies: Map<number, unknown>;
  zones: Map<string, string>;
  /** Refuse the next matching calls (a failure half-way). */
  refuse(refusal: Refusal): void;
  /** Every call since `from`, as "METHOD /path" with the account id as :account and namespace ids as :ns. */
  since(from: number): string[];
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1; `zones` are the zones the account has (name → id). */
export async function startFakeCloudflare(options: { port?: number; log?: boolean; zones?: Record<string, string> } = {}): Promise<FakeCloudflare> {
  const calls: Call[] = [];
  const namespaces = new Map<string, Namespace>();
  const scripts = new Map<string, Script>();
  const routes: Route[] = [];
  const domains: Domain[] = [];
  const bodies = new Map<number, unknown>();
  const zones = new Map(Object.entries(options.zones ?? { "example.com": "023e105f4ecef8ad9ca31a8372d0c353" }));
  const refusals: Refusal[] = [];

  type Handler = (p: Record<string, string>, req: Request, url: URL) => Promise<unknown> | unknown;
  const table: [string, RegExp, Handler][] = [];
  const on = (method: string, template: string, handler: Handler) => {
    const pattern = new RegExp(`^${template.replace(/:(\w+)/g, "(?<$1>[^/]+)")}$`);
    table.push([method, pattern, handler]);
  };

  const account = (p: Record<string, string>) => {
    if (p.account !== ACCOUNT_ID) throw new ApiError(403, 9109, "Unauthorized to access requested resource");
  };
  const namespace = (p: Record<string, string>) => {
    account(p);
    const ns = namespaces.get(p.ns ?? "");
    if (!ns) throw new ApiError(404, 10013, "namespace not found");
    return ns;
  };
  const script = (p: Record<string, string>) => {
    account(p);
    const found = scripts.get(p.script ?? "");
    if (!found) throw scriptNotFound(p.script ?? "");
    return found;
  };
  const live = (s: Script) => s.versions.at(-1);

  // ---- who is logged in -------------------------------------------------------------------------
  on("GET", "/user/tokens/verify", () => ({ id: "fake-token", status: "active" }));
  on("GET", "/user", () => ({ id: "fake-user", email: "operator@example.com" }));
  on("GET", "/accounts", () => [{ id: ACCOUNT_ID, name: "Example account" }]);
  on("GET", "/memberships", () => [{ id: "membership", account: { id: ACCOUNT_ID, name: "Example account" }, roles: ["Administrator"], status: "accepted" }]);

  // ---- Workers KV -------------------------------------------------------------------------------
  on("GET", "/accounts/:account/storage/kv/namespaces", (p, _req, url) => {
    account(p);
    const perPage = Number(url.searchParams.get("per_page") ?? 20);
    const page = Number(url.searchParams.get("page") ?? 1);
    const all = [...namespaces.values()].sort((a, b) => a.title.localeCompare(b.title));
    return all.slice((page - 1) * perPage, page * perPage).map(({ id, title }) => ({ id, title, supports_url_encoding: true }));
  });
  on("POST", "/accounts/:account/storage/kv/namespaces", async (p, req) => {
    account(p);
    const { title } = (await req.json()) as { title?: string };
    if (!title) throw new ApiError(400, 10019, "title is required");
    if ([...namespaces.values()].some((ns) => ns.title === title)) throw new ApiError(400, 10014, "a namespace with this account ID and title already exists");
    const ns: Namespace = { id: hex(16), title, values: new Map() };
    namespaces.set(ns.id, ns);
    return { id: ns.id, title, supports_url_encoding: true };
  });
  on("GET", "/accounts/:account/storage/kv/namespaces/:ns/keys", (p, _req, url) => {
    const ns = namespace(p);
    const prefix = url.searchParams.get("prefix") ?? "";
    return [...ns.values.entries()]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, entry]) => ({ name, ...(entry.metadata !== null ? { metadata: entry.metadata } : {}), ...(entry.expiration ? { expiration: entry.expiration } : {}) }));
  });
  on("GET", "/accounts/:account/storage/kv/namespaces/:ns/values/:key", (p) => {
    const entry = namespace(p).values.get(decodeURIComponent(p.key ?? ""));
    if (!entry) throw new ApiError(404, 10009, "get: 'key not found'");
    return { raw: entry.value };
  });
  on("PUT", "/accounts/:account/storage/kv/namespaces/:ns/values/:key", async (p, req, url) => {
    const ns = namespace(p);
    const key = decodeURIComponent(p.key ?? "");
    const ttl = Number(url.searchParams.get("expiration_ttl") ?? 0);
    const expiration = ttl ? Math.floor(Date.now() / 1000) + ttl : undefined;
    if ((req.headers.get("content-type") ?? "").startsWith("multipart/form-data")) {
      const form = await req.formData();
      const value = form.get("value");
      const metadata = form.get("metadata");
      const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(await (value as Blob).arrayBuffer());
      ns.values.set(key, { value: bytes, metadata: typeof metadata === "string" ? JSON.parse(metadata) : null, expiration });
    } else {
      ns.values.set(key, { value: Buffer.from(await req.arrayBuffer()), metadata: null, expiration });
    }
    return {};
  });
  on("DELETE", "/accounts/:account/storage/kv/namespaces/:ns/values/:key", (p) => {
    namespace(p).values.delete(decodeURIComponent(p.key ?? ""));
    return {};
  });
  on("PUT", "/accounts/:account/storage/kv/namespaces/:ns/bulk", async (p, req) => {
    const ns = namespace(p);
    const pairs = (await req.json()) as { key: string; value: string; base64?: boolean; metadata?: unknown; expiration_ttl?: number }[];
    for (const pair of pairs) {
      const expiration = pair.expiration_ttl ? Math.floor(Date.now() / 1000) + pair.expiration_ttl : undefined;
      ns.values.set(pair.key, { value: Buffer.from(pair.value, pair.base64 ? "base64" : "utf8"), metadata: pair.metadata ?? null, expiration });
    }
    return { successful_key_count: pairs.length, unsuccessful_keys: [] };
  });
  on("POST", "/accounts/:account/storage/kv/namespaces/:ns/bulk/delete", async (p, req) => {
    const ns = namespace(p);
    const keys = (await req.json()) as string[];
    for (const key of keys) ns.values.delete(key);
    return { successful_key_count: keys.length, unsuccessful_keys: [] };
  });
  on("DELETE", "/accounts/:account/storage/kv/namespaces/:ns/bulk", async (p, req) => {
    const ns = namespace(p);
    const keys = (await req.json()) as string[];
    for (const key of keys) ns.values.delete(key);
    return { successful_key_count: keys.length, unsuccessful_keys: [] };
  });
  // As the API: without withMetadata each value is the text itself (or null), with it {value, metadata}.
  on("POST", "/accounts/:account/storage/kv/namespaces/:ns/bulk/get", async (p, req) => {
    const ns = namespace(p);
    const { keys, withMetadata } = (await req.json()) as { keys: string[]; withMetadata?: boolean };
    const values: Record<string, unknown> = {};
    for (const key of keys) {
      const entry = ns.values.get(key);
      const text = entry ? entry.value.toString("utf8") : null;
      values[key] = withMetadata ? (entry ? { value: text, metadata: entry.metadata } : null) : text;
    }
    return { values };
  });

  // ---- Workers: scripts, versions, deployments, secrets ------------------------------------------
  const serviceOf = (s: Script) => ({
    id: s.name,
    default_environment: {
      environment: "production",
      created_on: s.createdOn,
      modified_on: s.modifiedOn,
      script: { id: s.name, tag: s.tag, tags: [], etag: s.tag, migration_tag: s.migrationTag ?? undefined, last_deployed_from: "wrangler", handlers: ["fetch"] },
    },
    created_on: s.createdOn,
    modified_on: s.modifiedOn,
  });
  on("GET", "/accounts/:account/workers/services/:script", (p) => serviceOf(script(p)));
  on("GET", "/accounts/:account/workers/workers/:script", (p) => {
    const s = script(p);
    return { id: s.tag, name: s.name, created_on: s.createdOn, updated_on: s.modifiedOn, subdomain: s.subdomain, observability: {}, tags: [] };
  });
  on("GET", "/accounts/:account/workers/scripts/:script/settings", (p) => {
    const s = script(p);
    return { bindings: live(s)?.bindings ?? [], compatibility_date: s.settings.compatibility_date, logpush: false, placement: {}, tail_consumers: [], tags: [], usage_model: "standard", observability: s.settings.observability ?? { enabled: false } };
  });
  on("GET", "/accounts/:account/workers/scripts/:script/deployments", (p) => {
    const s = script(p);
    return {
      deployments: [...s.deployments].reverse().map((d) => ({ id: d.id, source: "wrangler", strategy: "percentage", versions: d.versions, created_on: d.createdOn, annotations: {} })),
    };
  });
  on("GET", "/accounts/:account/workers/scripts/:script/secrets", (p) => [...script(p).secrets.keys()].sort().map((name) => ({ name, type: "secret_text" })));
  on("PUT", "/accounts/:account/workers/scripts/:script/secrets", async (p, req) => {
    const s = script(p);
    const { name, text } = (await req.json()) as { name: string; text: string };
    const bindings = (live(s)?.bindings ?? []).filter((b) => b.name !== name);
    s.secrets.set(name, text);
    newVersion(s, [...bindings, { type: "secret_text", name }], true);
    return { name, type: "secret_text" };
  });
  on("DELETE", "/accounts/:account/workers/scripts/:script/secrets/:name", (p) => {
    const s = script(p);
    if (!s.secrets.delete(p.name ?? "")) throw notFound("secret", 10056);
    newVersion(s, (live(s)?.bindings ?? []).filter((b) => b.name !== p.name), true);
    return null;
  });
  // The classic upload: a new version deployed at once, with Durable Object migrations.
  on("PUT", "/accounts/:account/workers/scripts/:script", async (p, req) => {
    account(p);
    const name = p.script ?? "";
    const upload = await readUpload(req);
    const existing = scripts.get(name);
    const s: Script = existing ?? {
      name,
      tag: hex(16),
      createdOn: now(),
      modifiedOn: now(),
      migrationTag: null,
      classes: new Set(),
      mainModule: "",
      modules: [],
      secrets: new Map(),
      versions: [],
      deployments: [],
      subdomain: { enabled: false, previews_enabled: false },
      settings: {},
    };
    const classes = migrate(s, upload.metadata.migrations as Migrations | undefined);
    const bindings = checkBindings(s, upload.metadata.bindings ?? [], name, classes);
    // Nothing is changed until everything is checked: a refused upload leaves the script as it was.
    scripts.set(name, s);
    s.classes = classes;
    const migrations = upload.metadata.migrations as Migrations | undefined;
    if (migrations?.new_tag) s.migrationTag = migrations.new_tag;
    s.mainModule = String(upload.metadata.main_module ?? "");
    s.modules = upload.modules;
    s.settings.compatibility_date = upload.metadata.compatibility_date;
    applySecrets(s, upload.metadata.bindings ?? []);
    const version = newVersion(s, bindings, true);
    return { id: name, etag: hex(16), deployment_id: version.id, startup_time_ms: 1, handlers: ["fetch"], migration_tag: s.migrationTag };
  });
  // The versions API (wrangler uses it for a Worker that exists and has no migrations to send).
  on("POST", "/accounts/:account/workers/scripts/:script/versions", async (p, req) => {
    const s = script(p);
    const upload = await readUpload(req);
    if (upload.metadata.migrations) throw new ApiError(400, 10021, "migrations are not supported on version uploads");
    const bindings = checkBindings(s, upload.metadata.bindings ?? [], s.name, s.classes);
    s.mainModule = String(upload.metadata.main_module ?? "");
    s.modules = upload.modules;
    s.settings.compatibility_date = upload.metadata.compatibility_date;
    applySecrets(s, upload.metadata.bindings ?? []);
    const version = newVersion(s, bindings, false);
    return { id: version.id, number: version.number, metadata: { source: "wrangler" }, resources: { script: { etag: hex(16) }, bindings }, startup_time_ms: 1 };
  });
  on("POST", "/accounts/:account/workers/scripts/:script/deployments", async (p, req) => {
    const s = script(p);
    const body = (await req.json()) as { versions: { version_id: string; percentage: number }[] };
    for (const v of body.versions) if (!s.versions.some((known) => known.id === v.version_id)) throw new ApiError(400, 10152, `version ${v.version_id} not found`);
    const deployment = { id: randomUUID(), versions: body.versions, createdOn: now() };
    s.deployments.push(deployment);
    return { id: deployment.id, source: "wrangler", strategy: "percentage", versions: body.versions, created_on: deployment.createdOn };
  });
  on("PATCH", "/accounts/:account/workers/scripts/:script/script-settings", async (p, req) => {
    const s = script(p);
    Object.assign(s.settings, (await req.json()) as object);
    return s.settings;
  });
  on("POST", "/accounts/:account/workers/scripts/:script/subdomain", async (p, req) => {
    const s = script(p);
    const body = (await req.json()) as { enabled?: boolean; previews_enabled?: boolean };
    s.subdomain = { enabled: Boolean(body.enabled), previews_enabled: Boolean(body.previews_enabled ?? body.enabled) };
    return s.subdomain;
  });
  on("GET", "/accounts/:account/workers/subdomain", (p) => {
    account(p);
    return { subdomain: WORKERS_SUBDOMAIN };
  });

  // ---- zones and routes -------------------------------------------------------------------------
  on("GET", "/zones", (_p, _req, url) => {
    const name = url.searchParams.get("name");
    return [...zones].filter(([zone]) => zone === name).map(([zone, id]) => ({ id, name: zone, status: "active", account: { id: ACCOUNT_ID } }));
  });
  on("GET", "/zones/:zone/workers/routes", (p) => routes.filter((r) => r.zoneId === p.zone).map(({ id, pattern, script }) => ({ id, pattern, script })));
  // PUT replaces every route of the script (wrangler: "PUT will delete previous routes on this script").
  on("PUT", "/accounts/:account/workers/scripts/:script/routes", async (p, req) => {
    const s = script(p);
    const wanted = (await req.json()) as { pattern: string; zone_name?: string; zone_id?: string }[];
    const placed = wanted.map((route) => {
      const zoneId = route.zone_id ?? (route.zone_name ? zones.get(route.zone_name) : zoneOfHost(route.pattern));
      if (!zoneId) throw new ApiError(400, 10019, `no zone for route ${route.pattern}`);
      const taken = routes.find((r) => r.pattern === route.pattern && r.script !== s.name);
      if (taken) throw new ApiError(409, 10020, `route ${route.pattern} is assigned to ${taken.script}`);
      return { id: hex(16), pattern: route.pattern, script: s.name, zoneId };
    });
    for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.script === s.name) routes.splice(i, 1);
    routes.push(...placed);
    return placed.map(({ id, pattern, script }) => ({ id, pattern, script }));
  });
  on("GET", "/accounts/:account/workers/scripts/:script/routes", (p) => {
    const s = script(p);
    return routes.filter((r) => r.script === s.name).map(({ id, pattern, script }) => ({ id, pattern, script }));
  });

  // ---- custom domains (routes with custom_domain = true) ---------------------------------------------
  // wrangler deploy asks for a changeset first (POST …/domains/changeset?replace_state=true: what would
  // be added, updated, removed, and which DNS records conflict), then puts the whole state
  // (PUT …/domains/records with override flags). A domain attached to another Worker needs
  // override_existing_origin; override_scope lets the put remove the script's domains it does not name.
  type Origin = { hostname: string; zone_id?: string; zone_name?: string };
  const domainJson = (d: Domain) => ({ id: d.id, hostname: d.hostname, service: d.service, environment: d.environment, zone_id: d.zoneId, zone_name: d.zoneName, cert_id: `cert-${d.id}` });
  const zoneOfOrigin = (origin: Origin): [string, string] => {
    const byId = origin.zone_id ? [...zones].find(([, id]) => id === origin.zone_id) : undefined;
    const byName = origin.zone_name ? [...zones].find(([name]) => name === origin.zone_name) : undefined;
    const host = origin.hostname.toLowerCase();
    const inferred = [...zones].filter(([zone]) => host === zone || host.endsWith(`.${zone}`)).sort(([a], [b]) => b.length - a.length)[0];
    const zone = byId ?? byName ?? inferred;
    if (!zone || (host !== zone[0] && !host.endsWith(`.${zone[0]}`))) throw new ApiError(400, 100116, `${origin.hostname} is not in a zone on this account`);
    return [zone[1], zone[0]];
  };
  const origins = (body: unknown): Origin[] => {
    if (!Array.isArray(body) || body.some((o) => typeof o?.hostname !== "string" || /[*/]/.test(o.hostname))) throw new ApiError(400, 100117, "origins must be hostnames");
    return body as Origin[];
  };
  on("POST", "/accounts/:account/workers/scripts/:script/domains/changeset", async (p, req, url) => {
    const s = script(p);
    const wanted = origins(await req.json());
    const added: unknown[] = [];
    const updated: unknown[] = [];
    for (const origin of wanted) {
      const [zoneId, zoneName] = zoneOfOrigin(origin);
      const existing = domains.find((d) => d.hostname === origin.hostname.toLowerCase());
      if (!existing) added.push({ id: "", hostname: origin.hostname, service: s.name, environment: "production", zone_id: zoneId, zone_name: zoneName });
      else updated.push({ ...domainJson(existing), modified: existing.service !== s.name });
    }
    const keep = new Set(wanted.map((o) => o.hostname.toLowerCase()));
    const removed = url.searchParams.get("replace_state") === "true" ? domains.filter((d) => d.service === s.name && !keep.has(d.hostname)).map(domainJson) : [];
    return { added, updated, removed, conflicting: [] };
  });
  on("PUT", "/accounts/:account/workers/scripts/:script/domains/records", async (p, req) => {
    const s = script(p);
    const body = (await req.json()) as { override_scope?: boolean; override_existing_origin?: boolean; override_existing_dns_record?: boolean; origins?: unknown };
    const wanted = origins(body.origins);
    const placed = wanted.map((origin) => {
      const [zoneId, zoneName] = zoneOfOrigin(origin);
      const hostname = origin.hostname.toLowerCase();
      const existing = domains.find((d) => d.hostname === hostname);
      if (existing && existing.service !== s.name && !body.override_existing_origin) {
        throw new ApiError(409, 100114, `${hostname} is already a custom domain of ${existing.service}`);
      }
      return existing ? { ...existing, service: s.name, zoneId, zoneName } : { id: hex(16), hostname, service: s.name, environment: "production", zoneId, zoneName };
    });
    const names = new Set(placed.map((d) => d.hostname));
    for (let i = domains.length - 1; i >= 0; i--) {
      const d = domains[i]!;
      if (names.has(d.hostname) || (body.override_scope && d.service === s.name)) domains.splice(i, 1);
    }
    domains.push(...placed);
    return placed.map(domainJson);
  });
  on("GET", "/accounts/:account/workers/domains/records/:id", (p) => {
    account(p);
    const found = domains.find((d) => d.id === p.id);
    if (!found) throw notFound("custom domain", 100115);
    return domainJson(found);
  });
  on("GET", "/accounts/:account/workers/domains", (p, _req, url) => {
    account(p);
    const service = url.searchParams.get("service");
    const hostname = url.searchParams.get("hostname");
    return domains.filter((d) => (!service || d.service === service) && (!hostname || d.hostname === hostname)).map(domainJson);
  });

  const zoneOfHost = (pattern: string) => {
    const host = pattern.replace(/^\*?\.?/, "").split("/")[0] ?? "";
    return [...zones].find(([zone]) => host === zone || host.endsWith(`.${zone}`))?.[1];
  };

  type Migrations = { old_tag?: string; new_tag?: string; steps?: { new_classes?: string[]; new_sqlite_classes?: string[]; deleted_classes?: string[] }[] };
  /** The classes the script has after these migrations; refused if old_tag is not where the script is. */
  function migrate(s: Script, migrations: Migrations | undefined): Set<string> {
    const classes = new Set(s.classes);
    if (!migrations) return classes;
    if ((migrations.old_tag ?? null) !== s.migrationTag) {
      throw new ApiError(400, 10079, `migration old_tag ${migrations.old_tag ?? "(none)"} does not match the script's ${s.migrationTag ?? "(none)"}`);
    }
    for (const step of migrations.steps ?? []) {
      for (const name of [...(step.new_classes ?? []), ...(step.new_sqlite_classes ?? [])]) {
        if (classes.has(name)) throw new ApiError(400, 10074, `cannot create Durable Object class ${name}: it already exists`);
        classes.add(name);
      }
      for (const name of step.deleted_classes ?? []) classes.delete(name);
    }
    return classes;
  }

  /** Refuses what Cloudflare refuses, and returns the bindings as the version keeps them (no secret values). */
  function checkBindings(s: Script, bindings: Binding[], name: string, classes: Set<string>): Binding[] {
    const errors: { code: number; message: string }[] = [];
    for (const b of bindings) {
      if (b.type === "kv_namespace" && !namespaces.has(String(b.namespace_id))) errors.push({ code: 10041, message: `KV namespace '${String(b.namespace_id)}' is not valid. [binding ${b.name}]` });
      if (b.type === "service" && b.service !== name && !scripts.has(String(b.service))) errors.push({ code: 10143, message: `Could not find service '${String(b.service)}' for binding ${b.name}` });
      if (b.type === "durable_object_namespace") {
        const owner = b.script_name ? scripts.get(String(b.script_name)) : undefined;
        const has = b.script_name && b.script_name !== name ? owner?.classes.has(String(b.class_name)) : classes.has(String(b.class_name));
        if (!has) errors.push({ code: 10061, message: `Cannot create binding for class '${String(b.class_name)}' that is not exported by script '${String(b.script_name ?? name)}'` });
      }
      if (b.type === "inherit" && !s.secrets.has(b.name) && !live(s)?.bindings.some((old) => old.name === b.name)) {
        errors.push({ code: 10057, message: `inherit binding '${b.name}' is invalid: the previous version has no binding with this name` });
      }
    }
    if (errors.length) throw Object.assign(new ApiError(400, errors[0]!.code, errors[0]!.message), { errors });
    const kept = bindings.map((b) => (b.type === "secret_text" ? { type: "secret_text", name: b.name } : b));
    // Secrets not named in the upload stay (wrangler's keep_secrets); an inherit binding keeps the old one.
    const named = new Set(kept.map((b) => b.name));
    const inherited = [...s.secrets.keys()].filter((secret) => !named.has(secret)).map((secret) => ({ type: "secret_text", name: secret }));
    return [...kept.map((b) => (b.type === "inherit" ? { type: "secret_text", name: b.name } : b)), ...inherited];
  }

  function applySecrets(s: Script, bindings: Binding[]): void {
    for (const b of bindings) if (b.type === "secret_text") s.secrets.set(b.name, String(b.text ?? ""));
  }

  function newVersion(s: Script, bindings: Binding[], deploy: boolean): Version {
    const version: Version = { id: randomUUID(), number: s.versions.length + 1, createdOn: now(), bindings };
    s.versions.push(version);
    s.modifiedOn = version.createdOn;
    if (deploy) s.deployments.push({ id: randomUUID(), versions: [{ version_id: version.id, percentage: 100 }], createdOn: now() });
    return version;
  }

  async function readUpload(req: Request): Promise<{ metadata: { bindings?: Binding[]; migrations?: unknown; main_module?: string } & Record<string, unknown>; modules: string[] }> {
    const form = await req.formData();
    const metadata = JSON.parse(String(form.get("metadata") ?? "{}"));
    const modules: string[] = [];
    form.forEach((_value, key) => {
      if (key !== "metadata") modules.push(key);
    });
    return { metadata, modules };
  }

  // ---- the server -------------------------------------------------------------------------------
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: Error) => {
      console.error(error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://fake");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? "GET";
    const path = url.pathname.replace(/^\/client\/v4/, "");
    const call: Call = { method, path, query: url.searchParams.toString(), status: 0 };
    calls.push(call);
    if (body.length && (req.headers["content-type"] ?? "").startsWith("application/json")) {
      try {
        bodies.set(calls.length - 1, JSON.parse(body.toString("utf8")));
      } catch {
        // not JSON after all: not kept
      }
    }
    const send = (status: number, payload: unknown, contentType = "application/json") => {
      call.status = status;
      if (options.log) console.log(`${method} ${path}${call.query ? `?${call.query}` : ""} → ${status}`);
      res.writeHead(status, { "content-type": contentType });
      res.end(payload instanceof Buffer ? payload : JSON.stringify(payload));
    };
    const refusal = refusals.find((r) => r.method === method && r.path.test(path) && (r.times ?? 1) > 0);
    if (refusal) {
      refusal.times = (refusal.times ?? 1) - 1;
      const status = refusal.status ?? 400;
      return send(status, envelope(null, [{ code: refusal.code ?? 10000, message: refusal.message ?? "refused by the test" }]));
    }
    for (const [m, pattern, handler] of table) {
      const match = m === method ? pattern.exec(path) : null;
      if (!match) continue;
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
      const request = new Request(url, { method, headers, body: method === "GET" || method === "HEAD" ? undefined : body });
      try {
        const result = await handler({ ...match.groups }, request, url);
        if (result && typeof result === "object" && "raw" in result && (result as { raw: unknown }).raw instanceof Buffer) {
          return send(200, (result as { raw: Buffer }).raw, "application/octet-stream");
        }
        return send(200, envelope(result, [], url));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        const errors = (error as ApiError & { errors?: { code: number; message: string }[] }).errors ?? [{ code: error.code, message: error.message }];
        return send(error.status, envelope(null, errors));
      }
    }
    send(404, envelope(null, [{ code: 7003, message: `No route for that URI (the fake does not implement ${method} ${path})` }]));
  }

  /** The API's envelope; lists get result_info (one page: the fake never has more). */
  function envelope(result: unknown, errors: { code: number; message: string }[], url?: URL) {
    const body: Record<string, unknown> = { success: errors.length === 0, errors, messages: [], result };
    if (Array.isArray(result) && url) {
      body.result_info = { page: Number(url.searchParams.get("page") ?? 1), per_page: Number(url.searchParams.get("per_page") ?? result.length), count: result.length, total_count: result.length, total_pages: 1 };
    }
    return body;
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/client/v4`,
    accountId: ACCOUNT_ID,
    calls,
    namespaces,
    scripts,
    routes,
    domains,
    bodies,
    zones,
    refuse: (refusal) => refusals.push({ times: 1, ...refusal }),
    since: (from) =>
      calls.slice(from).map((call) => {
        let path = call.path.replaceAll(ACCOUNT_ID, ":account");
        for (const id of namespaces.keys()) path = path.replaceAll(id, ":ns");
        for (const id of zones.values()) path = path.replaceAll(id, ":zone");
        return `${call.method} ${path}`;
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const fake = await startFakeCloudflare({ port: Number(process.argv[2] ?? 8990), log: true });
  console.log(`fake Cloudflare API on ${fake.url} (account ${fake.accountId})`);
}
