/** The control Worker's settings, parsed once per environment (its wrangler.toml vars and secrets) with their defaults. */
export interface ControlConfig {
  canaryPath: string;
  /** Bearer token of the admin API and the dashboard sign-in; without it (and without Access) both are off. */
  adminToken: string | undefined;
  /** Cloudflare Access, checked only when both the team domain and the audience are set. */
  access: AccessConfig | undefined;
  /** Signs join-the-canary links (the edge's CANARY_SECRET, the same value). */
  secret: string | undefined;
  /** The host (hostname[:port], lower case) the dashboard answers on, never the site's; undefined = the dashboard is off. */
  dashboardHost: string | undefined;
}

/** Cloudflare Access in front of the admin API: the issuer (team domain) and the application's audience tag. */
export interface AccessConfig {
  issuer: string;
  audience: string;
}

const parsed = new WeakMap<object, ControlConfig>();

/** The same environment object comes with every request of an isolate: parsed once, then a look-up. */
export function controlConfig(env: ControlEnv): ControlConfig {
  let config = parsed.get(env);
  if (!config) parsed.set(env, (config = parse(env)));
  return config;
}

function parse(env: ControlEnv): ControlConfig {
  const team = env.ACCESS_TEAM_DOMAIN?.trim().replace(/^https:\/\//, "").replace(/\/+$/, "");
  const audience = env.ACCESS_AUD?.trim();
  return {
    canaryPath: env.CANARY_PATH || "/__canary",
    adminToken: env.ADMIN_TOKEN || undefined,
    access: team && audience ? { issuer: `https://${team}`, audience } : undefined, // half a configuration must not count as one
    secret: env.CANARY_SECRET || undefined,
    dashboardHost: hostOf(env.DASHBOARD_HOST),
  };
}

/** "canary.example.com", "https://Canary.example.com/" or "127.0.0.1:8788" as a URL's host would spell it; undefined for empty or not a bare host. */
function hostOf(value: string | undefined): string | undefined {
  const text = value?.trim().replace(/^https?:\/\//i, "").replace(/\/+$/, "");
  if (!text || /[/?#@\s]/.test(text)) return undefined;
  try {
    return new URL(`https://${text}`).host;
  } catch {
    return undefined;
  }
}
