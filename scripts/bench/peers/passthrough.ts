/**
 * The baseline of every comparison: a Worker that only forwards each request to one origin,
 * `fetch(request)` with the origin's base URL, and returns the answer untouched.
 */
export default {
  fetch(request: Request, env: { ORIGIN: string }): Promise<Response> {
    const url = new URL(request.url);
    return fetch(new URL(url.pathname + url.search, env.ORIGIN), request);
  },
};
