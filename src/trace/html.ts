/**
 * One self-contained HTML file for a trace: the machine diagrams (SVG,
 * rendered offline), the visited states and transitions highlighted, a
 * timeline to step and scrub through, the assembled message, the dropped
 * blocks and, for a broken stream, the exact event where it failed.
 *
 * Self-contained by construction: a Content-Security-Policy of
 * `default-src 'none'` (inline style and script only; a live page may also
 * connect back to the server that served it) means the browser itself
 * refuses any network request the page could make.
 */
import { graphToDot } from '../diagram/dot.js';
import { dotToSvg } from '../diagram/svg.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './page.js';
import type { Trace } from './types.js';

const escapeHtml = (text: string): string =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** JSON inside `<script type="application/json">`: `<` escaped so no `</script>` in the data can end the block. */
const embedJson = (value: unknown): string => JSON.stringify(value).replaceAll('<', '\\u003c').replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029');

/** Graphviz's SVG without its XML prolog and doctype, to inline in HTML. */
const inlineSvg = (svg: string): string => svg.slice(svg.indexOf('<svg'));

export interface TraceHtmlOptions {
  /** A live page: the path of the server's step stream (`/trace/steps`); the page follows it. */
  readonly live?: string;
}

export async function renderTraceHtml(trace: Trace, options: TraceHtmlOptions = {}): Promise<string> {
  const figures: string[] = [];
  for (const [name, graph] of Object.entries(trace.machines)) {
    const svg = inlineSvg(await dotToSvg(graphToDot(graph, { actions: false })));
    figures.push(`<figure data-machine="${escapeHtml(name)}"><figcaption>machine: ${escapeHtml(name)} <button class="zoom" type="button">actual size</button></figcaption>${svg}</figure>`);
  }
  const connect = options.live === undefined ? '' : " connect-src 'self';";
  const data = options.live === undefined ? trace : { ...trace, live: options.live };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline';${connect}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>turnstate trace: ${escapeHtml(trace.title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header><h1>turnstate trace: ${escapeHtml(trace.title)}</h1><span id="verdict" class="verdict"></span></header>
<div id="failure" role="alert" hidden></div>
<main>
<div id="diagrams">${figures.join('\n')}</div>
<div id="side">
<div id="controls">
<button id="first" title="first step (Home)">|◀</button><button id="prev" title="previous step (←)">◀</button>
<input id="scrub" type="range" min="0" max="0" value="0" aria-label="step">
<button id="next" title="next step (→)">▶</button><button id="last" title="last step (End)">▶|</button>
<span id="position"></span>
</div>
<div id="current" aria-live="polite"></div>
<div class="timeline"><table><thead><tr><th>step</th><th>event</th><th>byte</th><th>type</th><th>state before → after</th><th>detail</th><th>ms</th></tr></thead><tbody id="rows"></tbody></table></div>
</div>
</main>
<section class="extra" id="segments-section" hidden><h2>Segments</h2><pre id="segments"></pre></section>
<section class="extra" id="tools-section" hidden><h2>Tool calls</h2><pre id="tools"></pre></section>
<section class="extra"><h2>Message</h2><pre id="message"></pre>
<h2>Dropped blocks</h2><pre id="dropped"></pre>
<h2>Diagnostics</h2><pre id="diagnostics"></pre>
<h2>Usage</h2><pre id="usage"></pre></section>
<script type="application/json" id="trace-data">${embedJson(data)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
