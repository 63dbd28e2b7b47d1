import type { Child } from "hono/jsx";

/** One small stylesheet for the router's pages: readable, high-contrast, no build step. */
const STYLE = `
:root { font-family: system-ui, sans-serif; color: #111; background: #f6f7f9; }
body { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
h1 { font-size: 1.4rem; margin-bottom: .25rem; }
.card { overflow-x: auto; background: white; border: 1px solid #d0d5dd; border-radius: .5rem; padding: 1rem 1.25rem; margin: 1rem 0; }
.version { font-size: 1.6rem; font-weight: 700; }
.blue { color: #1d4ed8; } .green { color: #15803d; }
button { font: inherit; padding: .45rem .9rem; border-radius: .4rem; border: 1px solid #555; background: white; cursor: pointer; }
button:focus-visible, a:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
button[disabled] { opacity: .5; cursor: not-allowed; }
button.danger { border-color: #b91c1c; color: #b91c1c; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: #555; } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e4e7ec; vertical-align: top; }
td.changes { overflow-wrap: anywhere; } td.when { white-space: nowrap; }
.note { color: #555; font-size: .9rem; }
.error { color: #b91c1c; font-weight: 600; }
`;

/** The HTML shell every router page shares. */
export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>{props.title}</title>
        <style>{STYLE}</style>
      </head>
      <body>{props.children}</body>
    </html>
  );
}
