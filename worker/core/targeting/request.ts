import { type Condition, oneOf } from "./condition.ts";

/** Conditions on the request itself: a header, a cookie, the host, the path. */

type Named = { readonly name: string; readonly values: readonly string[] };

export const header: Condition<Named> = {
  compile: ({ name, values }) => {
    const key = name.toLowerCase();
    return oneOf((t) => t.headers[key])(values);
  },
  reads: ({ name }) => [name.toLowerCase()],
};

export const cookie: Condition<Named> = {
  compile: ({ name, values }) => oneOf((t) => t.cookies[name])(values),
  cookies: ({ name }) => [name],
};

export const hosts: Condition<readonly string[]> = {
  compile: (names) => oneOf((t) => t.host)(names.map((h) => h.toLowerCase())), // the host is in every cache key: no Vary needed
};

export const pathPrefixes: Condition<readonly string[]> = {
  compile: (prefixes) => (t) => prefixes.some((p) => t.path.startsWith(p)),
};
