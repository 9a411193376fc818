/**
 * The trace page's style and script, inlined into every page (one
 * self-contained file: no network, no CDN). The script reads the trace from
 * the page's `application/json` block, renders only through `textContent`
 * (trace data is never parsed as HTML), and, on a live page, appends steps
 * from the server's `/trace/steps` event stream as they come.
 */
export const PAGE_STYLE = `
:root { font-family: system-ui, sans-serif; font-size: 14px; color: #1f2937; }
body { margin: 0; }
header { display: flex; gap: 1rem; align-items: baseline; padding: .6rem 1rem; border-bottom: 1px solid #e5e7eb; }
h1 { font-size: 1.1rem; margin: 0; }
h2 { font-size: 1rem; margin: 1rem 0 .4rem; }
.verdict { padding: .1rem .5rem; border-radius: .3rem; font-weight: 600; }
.verdict.ok { background: #dcfce7; color: #166534; }
.verdict.bad { background: #fee2e2; color: #991b1b; }
#failure { margin: .6rem 1rem; padding: .6rem .8rem; background: #fef2f2; border: 1px solid #fecaca; border-radius: .3rem; }
#failure[hidden] { display: none; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(22rem, 2fr); gap: 1rem; padding: 0 1rem; }
figure { margin: .6rem 0; overflow: auto; border: 1px solid #e5e7eb; border-radius: .3rem; max-height: 78vh; }
figcaption { font-weight: 600; padding: .3rem .5rem; background: #f9fafb; border-bottom: 1px solid #e5e7eb; position: sticky; top: 0; left: 0; }
figure svg { display: block; width: 100%; height: auto; }
figure.actual svg { width: auto; }
#controls { display: flex; gap: .3rem; align-items: center; margin: .6rem 0; }
#controls input[type=range] { flex: 1; }
#current { min-height: 4.5rem; padding: .4rem .6rem; background: #f9fafb; border: 1px solid #e5e7eb; border-radius: .3rem; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 12px; }
.timeline { max-height: 55vh; overflow: auto; border: 1px solid #e5e7eb; border-radius: .3rem; margin-top: .6rem; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th, td { text-align: left; padding: .15rem .4rem; border-bottom: 1px solid #f3f4f6; vertical-align: top; }
th { position: sticky; top: 0; background: #f9fafb; }
tr[data-step] { cursor: pointer; }
tr.current { background: #fef3c7; }
tr.error td { color: #991b1b; font-weight: 600; }
tr.note td { color: #4b5563; }
pre { background: #f9fafb; border: 1px solid #e5e7eb; border-radius: .3rem; padding: .6rem; overflow: auto; max-height: 40vh; font-size: 12px; }
section.extra { padding: 0 1rem 1rem; }
g.node.visited path, g.node.visited polygon, g.node.visited ellipse, g.cluster.visited path, g.cluster.visited polygon { stroke: #2563eb; stroke-width: 2; }
g.node.current path, g.node.current polygon, g.node.current ellipse { fill: #fde68a; stroke: #b45309; stroke-width: 2.5; }
g.cluster.current path, g.cluster.current polygon { stroke: #b45309; stroke-width: 2; }
g.edge.visited path { stroke: #2563eb; stroke-width: 1.8; }
g.edge.visited polygon { stroke: #2563eb; fill: #2563eb; }
g.edge.current path { stroke: #d97706; stroke-width: 3; }
g.edge.current polygon { stroke: #d97706; fill: #d97706; }
g.edge.current text { fill: #b45309; font-weight: 700; }
g.node.failed path, g.node.failed polygon { fill: #fecaca; stroke: #b91c1c; stroke-width: 2.5; }
`;

export const PAGE_SCRIPT = `
(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('trace-data').textContent);
  const steps = data.steps;
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  const machines = Object.keys(data.machines);
  // State name -> index, per machine; a state also lights its ancestors.
  const stateIndex = {};
  for (const m of machines) { stateIndex[m] = new Map(data.machines[m].states.map((s, i) => [s.name, i])); }
  const figureOf = (m) => document.querySelector('figure[data-machine="' + m + '"]');
  const nodeEls = (m, name) => {
    const out = [];
    const fig = figureOf(m);
    if (!fig || name === null || name === undefined) return out;
    const parts = name.split('.');
    for (let k = parts.length; k >= 1; k--) {
      const i = stateIndex[m].get(parts.slice(0, k).join('.'));
      if (i === undefined) continue;
      const e = fig.querySelector('[id="s' + i + '"]');
      if (e) out.push(e);
    }
    return out;
  };
  const edgeEls = (m, t) => {
    const fig = figureOf(m);
    return fig ? [...fig.querySelectorAll('[id="t' + t + '"], [id^="t' + t + '_"]')] : [];
  };
  // First step at which each state / transition was visited: highlighting step k is then O(elements).
  const firstSeen = new Map();
  const note = (e, k) => { if (!firstSeen.has(e)) firstSeen.set(e, k); };
  const index = (k) => {
    const s = steps[k];
    if (s.kind === 'note') return;
    for (const e of nodeEls(s.machine, s.after)) note(e, k);
    for (const e of nodeEls(s.machine, s.before)) note(e, k);
    for (const t of s.transitions) for (const e of edgeEls(s.machine, t)) note(e, k);
  };
  steps.forEach((_, k) => index(k));
  let current = -1;
  let follow = true;
  const scrub = $('scrub');
  const WINDOW = 150;
  const fmt = (v) => (v === null || v === undefined ? '' : String(v));
  function row(k) {
    const s = steps[k];
    const tr = el('tr', undefined, s.kind);
    tr.dataset.step = String(k);
    const states = s.kind === 'note' ? '' : (fmt(s.before) || '·') + ' → ' + fmt(s.after);
    for (const text of [String(k + 1), fmt(s.eventIndex), fmt(s.byteOffset), s.machine === 'controller' ? s.type : s.type, states, s.detail, s.ms.toFixed(1)]) tr.append(el('td', text));
    if (k === current) tr.classList.add('current');
    return tr;
  }
  function renderRows() {
    const body = $('rows');
    body.replaceChildren();
    const from = Math.max(0, current - WINDOW);
    const to = Math.min(steps.length, Math.max(current, 0) + WINDOW);
    if (from > 0) body.append(el('tr', undefined, 'note')).lastChild.append(el('td', '… ' + from + ' earlier steps'));
    for (let k = from; k < to; k++) body.append(row(k));
    if (to < steps.length) body.append(el('tr', undefined, 'note')).lastChild.append(el('td', '… ' + (steps.length - to) + ' later steps'));
    const cur = body.querySelector('tr.current');
    if (cur) cur.scrollIntoView({ block: 'nearest' });
  }
  function describe(s, k) {
    const lines = ['step ' + (k + 1) + ' of ' + steps.length + ' · ' + s.machine + ' · ' + s.type];
    if (s.eventIndex !== null) lines.push('event #' + s.eventIndex + (s.byteOffset !== null ? ' at byte ' + s.byteOffset : ''));
    if (s.kind !== 'note') lines.push((fmt(s.before) || '·') + ' → ' + fmt(s.after));
    const graph = data.machines[s.machine];
    for (const t of s.transitions) { const tr = graph && graph.transitions[t]; if (tr) lines.push('via ' + (tr.guard ? '[' + tr.guard + '] ' : '') + (tr.descriptor || 'always') + (tr.actions.length ? ' / ' + tr.actions.join(', ') : '')); }
    if (s.detail) lines.push(s.detail);
    return lines.join('\\n');
  }
  function go(k) {
    if (steps.length === 0) { $('position').textContent = '0 / 0'; return; }
    current = Math.max(0, Math.min(steps.length - 1, k));
    follow = current === steps.length - 1;
    scrub.max = String(steps.length - 1);
    scrub.value = String(current);
    $('position').textContent = (current + 1) + ' / ' + steps.length;
    for (const [e, first] of firstSeen) { e.classList.toggle('visited', first <= current); e.classList.remove('current'); }
    const s = steps[current];
    // Where each machine stands at this step: its latest state so far (a controller note moves none).
    const standing = new Map();
    for (let k = current; k >= 0 && standing.size < machines.length; k--) {
      const p = steps[k];
      if (p.kind !== 'note' && !standing.has(p.machine)) standing.set(p.machine, p.after);
    }
    for (const [m, name] of standing) for (const e of nodeEls(m, name)) e.classList.add('current');
    if (s.kind !== 'note') for (const t of s.transitions) for (const e of edgeEls(s.machine, t)) e.classList.add('current');
    $('current').textContent = describe(s, current);
    renderRows();
  }
  for (const b of document.querySelectorAll('button.zoom')) b.onclick = () => { const f = b.closest('figure'); f.classList.toggle('actual'); b.textContent = f.classList.contains('actual') ? 'fit' : 'actual size'; };
  $('first').onclick = () => go(0);
  $('prev').onclick = () => go(current - 1);
  $('next').onclick = () => go(current + 1);
  $('last').onclick = () => go(steps.length - 1);
  scrub.oninput = () => go(Number(scrub.value));
  $('rows').onclick = (e) => { const tr = e.target.closest('tr[data-step]'); if (tr) go(Number(tr.dataset.step)); };
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement && e.target.type !== 'range') return;
    if (e.key === 'ArrowRight' || e.key === 'j') { go(current + 1); e.preventDefault(); }
    if (e.key === 'ArrowLeft' || e.key === 'k') { go(current - 1); e.preventDefault(); }
    if (e.key === 'Home') go(0);
    if (e.key === 'End') go(steps.length - 1);
  });
  function renderSummary() {
    const v = $('verdict');
    v.textContent = data.verdict + (data.stopReason ? ' · stop_reason ' + data.stopReason : '');
    v.className = 'verdict ' + (data.verdict === 'ok' || data.verdict === 'completed' || data.verdict === 'stopped' ? 'ok' : 'bad');
    const f = $('failure');
    if (data.failure) {
      const x = data.failure;
      f.hidden = false;
      f.textContent = 'Failed: ' + x.code + (x.eventIndex !== null ? ' at event #' + x.eventIndex : '') + (x.byteOffset !== null ? ' (byte ' + x.byteOffset + ')' : '') +
        (x.state ? ' in state ' + x.state : '') + (x.expected ? ' — expected ' + x.expected : '') + (x.got ? ', got ' + x.got : '') + '. ' + x.message;
      const failedStep = steps.findIndex((s) => s.kind === 'error' || s.after === 'violated' || s.after === 'apiErrored');
      if (failedStep >= 0) { f.append(' '); const b = el('button', 'show this step'); b.id = 'goto-failure'; b.onclick = () => go(failedStep); f.append(b); }
      for (const e of nodeEls(machines[0], 'violated')) e.classList.add('failed');
    } else f.hidden = true;
    $('message').textContent = JSON.stringify(data.message, null, 2);
    $('dropped').textContent = data.dropped.length ? JSON.stringify(data.dropped, null, 2) : 'none';
    $('diagnostics').textContent = data.diagnostics.length ? JSON.stringify(data.diagnostics, null, 2) : 'none';
    for (const [id, rows] of [['segments', data.segments], ['tools', data.toolCalls]]) {
      const sec = $(id + '-section');
      sec.hidden = rows.length === 0;
      $(id).textContent = JSON.stringify(rows, null, 2);
    }
    $('usage').textContent = JSON.stringify(data.usage, null, 2);
  }
  renderSummary();
  go(data.live ? steps.length - 1 : (data.failure ? steps.length - 1 : 0));
  window.turnstateTrace = { data, go, get current() { return current; } };
  if (data.live) {
    const source = new EventSource(data.live);
    source.addEventListener('step', (e) => {
      const s = JSON.parse(e.data);
      steps.push(s);
      index(steps.length - 1);
      if (follow) go(steps.length - 1); else { scrub.max = String(steps.length - 1); $('position').textContent = (current + 1) + ' / ' + steps.length; }
    });
    source.addEventListener('trace', (e) => {
      const t = JSON.parse(e.data);
      for (const key of ['verdict', 'stopReason', 'failure', 'message', 'dropped', 'diagnostics', 'segments', 'toolCalls', 'usage']) data[key] = t[key];
      renderSummary();
      document.body.dataset.settled = 'true';
    });
    source.addEventListener('error', () => { if (document.body.dataset.settled === 'true') source.close(); });
  }
})();
`;
