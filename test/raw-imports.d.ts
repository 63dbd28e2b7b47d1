/** Vite's `?raw` imports: a file's text, for tests that hold the docs to what the code does. */
declare module "*?raw" {
  const text: string;
  export default text;
}
