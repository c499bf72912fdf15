// complete.js — autocomplete for the PromQL textarea: works out from the text before the caret
// whether a metric/function name, a label name or a label value is being typed, fetches
// candidates from the API (cached per page load), and shows an ARIA listbox driven by the
// keyboard (↓/↑ to choose, Tab or Enter to accept, Esc to close). Knows no PromQL semantics
// beyond that context detection.

import { get } from './api.js';
import { h, replace, uid } from './dom.js';

/** Functions, aggregations and keywords of PromQL, offered alongside metric names. */
export const FUNCTIONS = [
  'abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh',
  'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'cos', 'cosh',
  'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta',
  'deriv', 'exp', 'floor', 'histogram_count', 'histogram_fraction', 'histogram_quantile',
  'histogram_sum', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join',
  'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'mad_over_time', 'max_over_time',
  'min_over_time', 'minute', 'month', 'pi', 'predict_linear', 'present_over_time',
  'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sin', 'sinh', 'sort',
  'sort_desc', 'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'tan', 'tanh',
  'time', 'timestamp', 'vector', 'year',
];
export const AGGREGATIONS = [
  'avg', 'bottomk', 'count', 'count_values', 'group', 'max', 'min', 'quantile', 'stddev', 'stdvar',
  'sum', 'topk',
];
const KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2'];

const MAX_ITEMS = 50;
const cache = new Map();

function cached(key, load) {
  if (!cache.has(key)) {
    const p = load().catch(() => {
      cache.delete(key);
      return [];
    });
    cache.set(key, p);
  }
  return cache.get(key);
}

/** metric name → {type, help} from `/api/v1/metadata`; empty if the server has none. */
const metadata = () => cached('__metadata__', async () => {
  const d = await get('api/v1/metadata');
  const out = new Map();
  for (const [name, list] of Object.entries(d || {})) {
    if (Array.isArray(list) && list.length) out.set(name, { type: list[0].type, help: list[0].help });
  }
  return out;
}).then((m) => (m instanceof Map ? m : new Map()));
const metricNames = () => cached('__name__', () => get('api/v1/label/__name__/values'));
const labelNames = (metric) => cached(`names:${metric}`,
  () => get('api/v1/labels', metric ? { 'match[]': [metric] } : {}));
const labelValues = (label, metric) => cached(`values:${label}:${metric}`,
  () => get(`api/v1/label/${encodeURIComponent(label)}/values`, metric ? { 'match[]': [metric] } : {}));

/**
 * What is being typed at the end of `before` (the text before the caret):
 * `{kind: 'metric'|'label'|'value', prefix, metric?, label?}`, or null inside strings or
 * numbers where nothing is offered.
 */
export function contextAt(before) {
  // Inside an unclosed `{ … }`: label names, or a value after `name op "`.
  const open = before.lastIndexOf('{');
  if (open > before.lastIndexOf('}')) {
    const metric = (before.slice(0, open).match(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/) || [])[1] || '';
    const inner = before.slice(open + 1);
    const v = inner.match(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/);
    if (v) return { kind: 'value', label: v[1], prefix: v[3], metric };
    if (/"(?:[^"\\]|\\.)*$/.test(inner.replace(/"(?:[^"\\]|\\.)*"/g, ''))) return null;
    const n = inner.match(/(?:^|[{,\s])([a-zA-Z_][a-zA-Z0-9_]*)?$/);
    if (n) return { kind: 'label', prefix: n[1] || '', metric };
    return null;
  }
  // Grouping clauses: `by (`, `without (`, `on(`, `ignoring(`, `group_left(` … label names.
  const g = before.match(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)$/);
  if (g) {
    const n = g[1].match(/([a-zA-Z_][a-zA-Z0-9_]*)?$/);
    return { kind: 'label', prefix: (n && n[1]) || '', metric: '' };
  }
  if (/"(?:[^"\\]|\\.)*$/.test(before.replace(/"(?:[^"\\]|\\.)*"/g, ''))) return null;
  if (/\[[^\]]*$/.test(before)) return null;
  const m = before.match(/(^|[^a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)$/);
  if (m) return { kind: 'metric', prefix: m[2] };
  return null;
}

async function candidates(ctx) {
  let items;
  if (ctx.kind === 'metric') {
    const [names, meta] = await Promise.all([metricNames(), metadata()]);
    const fns = [...FUNCTIONS, ...AGGREGATIONS].map((f) => ({ text: f, kind: 'function' }));
    const kws = KEYWORDS.map((k) => ({ text: k, kind: 'keyword' }));
    const metric = (n) => {
      const m = meta.get(n);
      return { text: n, kind: 'metric', detail: m && m.type && m.type !== 'unknown' ? m.type : 'metric', help: m && m.help };
    };
    items = [...names.map(metric), ...fns, ...kws];
  } else if (ctx.kind === 'label') {
    items = (await labelNames(ctx.metric)).filter((n) => n !== '__name__').map((n) => ({ text: n, kind: 'label' }));
  } else {
    items = (await labelValues(ctx.label, ctx.metric)).map((v) => ({ text: v, kind: 'value' }));
  }
  const p = ctx.prefix.toLowerCase();
  const starts = items.filter((i) => i.text.toLowerCase().startsWith(p) && i.text !== ctx.prefix);
  const contains = p ? items.filter((i) => !i.text.toLowerCase().startsWith(p) && i.text.toLowerCase().includes(p)) : [];
  return [...starts, ...contains].slice(0, MAX_ITEMS);
}

/**
 * Wires autocomplete to `textarea`. The listbox is inserted after it. Keydown handling runs
 * before other listeners added later and marks consumed keys with preventDefault, so callers
 * can ignore `ev.defaultPrevented` keys (e.g. Enter that accepted a suggestion).
 */
export function attachAutocomplete(textarea) {
  const listId = uid('ac');
  const list = h('ul', { id: listId, class: 'autocomplete', role: 'listbox', hidden: true, 'aria-label': 'Suggestions' });
  textarea.after(list);
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', listId);
  textarea.setAttribute('aria-expanded', 'false');

  let items = [];
  let active = -1;
  let ctx = null;
  let seq = 0;

  const close = () => {
    list.hidden = true;
    items = [];
    active = -1;
    textarea.setAttribute('aria-expanded', 'false');
    textarea.removeAttribute('aria-activedescendant');
  };
  const paint = () => {
    replace(list, items.map((it, i) => h('li', {
      id: `${listId}-${i}`, role: 'option', class: `ac-item ac-${it.kind}`,
      'aria-selected': String(i === active),
      onmousedown: (ev) => { ev.preventDefault(); accept(i); },
      title: it.help || null,
    }, h('span', { class: 'ac-text' }, it.text), h('span', { class: 'ac-kind' }, it.detail || it.kind))));
    list.hidden = items.length === 0;
    textarea.setAttribute('aria-expanded', String(!list.hidden));
    if (active >= 0) {
      textarea.setAttribute('aria-activedescendant', `${listId}-${active}`);
      const el = list.children[active];
      if (el && el.scrollIntoView) el.scrollIntoView({ block: 'nearest' });
    } else textarea.removeAttribute('aria-activedescendant');
  };
  const accept = (i) => {
    const it = items[i];
    if (!it || !ctx) return;
    const pos = textarea.selectionStart;
    const before = textarea.value.slice(0, pos - ctx.prefix.length);
    let insert = it.text;
    if (it.kind === 'function') insert += '(';
    if (it.kind === 'value') insert = insert.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    textarea.value = before + insert + textarea.value.slice(pos);
    const caret = before.length + insert.length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const update = async () => {
    const pos = textarea.selectionStart;
    if (pos !== textarea.selectionEnd) return close();
    const c = contextAt(textarea.value.slice(0, pos));
    if (!c || (c.kind === 'metric' && c.prefix.length === 0)) return close();
    const mine = ++seq;
    const found = await candidates(c);
    if (mine !== seq || document.activeElement !== textarea) return undefined;
    ctx = c;
    items = found;
    active = -1;
    paint();
    return undefined;
  };

  textarea.addEventListener('keydown', (ev) => {
    if (list.hidden) {
      if (ev.key === ' ' && ev.ctrlKey) {
        ev.preventDefault();
        update();
      }
      return;
    }
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const n = items.length;
      active = ev.key === 'ArrowDown' ? (active + 1) % n : (active <= 0 ? n - 1 : active - 1);
      paint();
      ev.preventDefault();
    } else if ((ev.key === 'Enter' && !ev.shiftKey && active >= 0) || ev.key === 'Tab') {
      accept(active >= 0 ? active : 0);
      ev.preventDefault();
    } else if (ev.key === 'Escape') {
      close();
      ev.preventDefault();
    }
  });
  textarea.addEventListener('input', (ev) => {
    if (ev.isTrusted === false && list.hidden && ev.inputType === undefined) return;
    update();
  });
  textarea.addEventListener('blur', () => setTimeout(close, 100));
  return { close };
}
