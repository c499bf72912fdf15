// query.js — the query page: a list of panels whose state is kept in the URL in Prometheus's
// format (`g0.expr=…&g0.tab=0&g0.range_input=1h&g0.end_input=…&g0.step_input=…&g0.stacked=1&
// g0.moment_input=…`), so a page can be shared or bookmarked. Panel behaviour is in panel.js.

import { h, replace } from './dom.js';
import { Panel } from './panel.js';
import { formatDuration, formatUtc, parseDuration, parseUtc } from './format.js';

/** Default state of a new panel. `end`/`moment` null mean "now"; `step` null means automatic. */
export function defaultPanel() {
  return { expr: '', tab: 'table', range: 3600e3, end: null, step: null, stacked: false, moment: null };
}

/** Reads every `gN.*` panel from a query string; at least one panel is returned. */
export function parseState(search) {
  const q = new URLSearchParams(search);
  const panels = [];
  for (let i = 0; i < 100; i++) {
    const k = (s) => `g${i}.${s}`;
    if (![...q.keys()].some((key) => key.startsWith(`g${i}.`))) break;
    const p = defaultPanel();
    p.expr = q.get(k('expr')) || '';
    p.tab = q.get(k('tab')) === '0' ? 'graph' : 'table';
    const range = parseDuration(q.get(k('range_input')));
    if (range > 0) p.range = range;
    const end = parseUtc(q.get(k('end_input')));
    if (Number.isFinite(end)) p.end = end;
    const step = parseDuration(q.get(k('step_input')));
    if (step > 0) p.step = step;
    p.stacked = q.get(k('stacked')) === '1';
    const moment = parseUtc(q.get(k('moment_input')));
    if (Number.isFinite(moment)) p.moment = moment;
    panels.push(p);
  }
  if (panels.length === 0) panels.push(defaultPanel());
  return panels;
}

/** Encodes panels as a query string (without `?`). */
export function encodeState(panels) {
  const q = new URLSearchParams();
  panels.forEach((p, i) => {
    const k = (s) => `g${i}.${s}`;
    q.set(k('expr'), p.expr);
    q.set(k('tab'), p.tab === 'graph' ? '0' : '1');
    q.set(k('stacked'), p.stacked ? '1' : '0');
    q.set(k('range_input'), formatDuration(p.range));
    if (p.end !== null) q.set(k('end_input'), formatUtc(p.end));
    if (p.step !== null) q.set(k('step_input'), formatDuration(p.step));
    if (p.moment !== null) q.set(k('moment_input'), formatUtc(p.moment));
  });
  return q.toString();
}

/** Renders the page into `main`; panels with an expression run at once. */
export async function renderQueryPage(main, signal) {
  const list = h('div', { class: 'panels' });
  const panels = [];
  const sync = () => {
    const qs = encodeState(panels.map((p) => p.state));
    history.replaceState(null, '', `${location.pathname}?${qs}`);
    panels.forEach((p, i) => p.setIndex(i, panels.length));
  };
  const add = (state, focus) => {
    const panel = new Panel(state, {
      onChange: sync,
      onRemove: () => {
        if (panels.length <= 1) return;
        const i = panels.indexOf(panel);
        panels.splice(i, 1);
        panel.destroy();
        sync();
        panels[Math.min(i, panels.length - 1)].focus();
      },
    });
    panels.push(panel);
    list.append(panel.el);
    sync();
    if (focus) panel.focus();
    panel.run();
  };
  signal.addEventListener('abort', () => panels.forEach((p) => p.destroy()));
  replace(main,
    h('h1', { class: 'visually-hidden' }, 'Query'),
    list,
    h('div', { class: 'page-actions' },
      h('button', { type: 'button', class: 'btn', id: 'add-panel', onclick: () => add(defaultPanel(), true) }, '+ Add panel')));
  for (const st of parseState(location.search)) add(st, false);
  if (panels.length > 0 && !panels[0].state.expr) panels[0].focus();
}
