/** Where the router's own endpoints live (CANARY_PATH); an empty var must never mean "every path". */
export function canaryPath(env: Pick<Env, "CANARY_PATH">): string {
  return env.CANARY_PATH || "/__canary";
}
