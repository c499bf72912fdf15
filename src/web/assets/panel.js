// panel.js — one query panel: the PromQL editor (Enter runs, Shift+Enter adds a line), inline
// parse errors pointing at the reported position, the Table tab (instant query) and the Graph
// tab (range query with range/end/step/stacked controls), and query statistics. Talks to the
// API through api.js; drawing is graph.js; the URL encoding of its state is query.js.

import { call, get, ApiError } from './api.js';
import { attachAutocomplete } from './complete.js';
import { h, replace, uid } from './dom.js';
import {
  errorPosition, formatDuration, formatUtc, formatValue, parseDuration, parseUtc, seriesName,
} from './format.js';
import { renderGraph } from './graph.js';

const RANGES = [60e3, 300e3, 900e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3,
  2 * 86400e3, 7 * 86400e3, 14 * 86400e3, 28 * 86400e3, 56 * 86400e3, 365 * 86400e3];
const MAX_TABLE_ROWS = 10000;
// More lines than this make an unreadable graph and a slow page; the table shows them all.
const MAX_GRAPH_SERIES = 500;

/** Automatic step: about 250 points across the range, at least 1s, rounded to whole seconds. */
export function autoStep(rangeMs) {
  return Math.max(1000, Math.round(rangeMs / 250 / 1000) * 1000);
}

export class Panel {
  constructor(state, { onChange, onRemove }) {
    this.state = { ...state };
    this.onChange = onChange;
    this.onRemove = onRemove;
    this.hidden = new Set();
    this.abort = null;
    this.last = null; // { tab, data, start, end, step }
    this.build();
  }

  build() {
    const id = uid('panel');
    this.textarea = h('textarea', {
      id: `${id}-expr`, class: 'expr', rows: 1, spellcheck: 'false', autocomplete: 'off',
      autocapitalize: 'off', placeholder: 'Expression (press Enter to run, Shift+Enter for a new line)',
      'aria-describedby': `${id}-err`,
    });
    this.textarea.value = this.state.expr;
    this.errorEl = h('div', { id: `${id}-err`, class: 'query-error', 'aria-live': 'polite' });
    this.statsEl = h('div', { class: 'stats', 'aria-live': 'polite' });
    this.removeBtn = h('button', {
      type: 'button', class: 'btn icon remove-panel', 'aria-label': 'Remove panel', title: 'Remove panel',
      onclick: () => this.onRemove(),
    }, '✕');

    this.tabBtns = {};
    const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Result view' });
    for (const [key, label] of [['table', 'Table'], ['graph', 'Graph']]) {
      const b = h('button', {
        type: 'button', role: 'tab', id: `${id}-tab-${key}`, class: `tab tab-${key}`,
        'aria-controls': `${id}-body`, onclick: () => this.setTab(key),
        onkeydown: (ev) => {
          if (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') {
            const next = key === 'table' ? 'graph' : 'table';
            this.setTab(next);
            this.tabBtns[next].focus();
          }
        },
      }, label);
      this.tabBtns[key] = b;
      tabs.append(b);
    }
    this.controls = h('div', { class: 'controls' });
    this.body = h('div', { id: `${id}-body`, class: 'panel-body', role: 'tabpanel' });
    this.heading = h('h2', { class: 'visually-hidden' }, 'Panel');
    this.el = h('section', { class: 'panel', 'aria-labelledby': `${id}-h` },
      h('div', { class: 'editor-row' },
        h('label', { for: `${id}-expr`, class: 'visually-hidden' }, 'PromQL expression'),
        h('div', { class: 'editor' }, this.textarea),
        h('button', { type: 'button', class: 'btn primary execute', onclick: () => this.execute() }, 'Execute'),
        h('button', {
          type: 'button', class: 'btn format', title: 'Format expression (server-side pretty-printing)',
          onclick: () => this.format(),
        }, 'Format'),
        this.removeBtn),
      this.errorEl,
      h('div', { class: 'tab-row' }, tabs, this.statsEl),
      this.controls,
      this.body);
    this.heading.id = `${id}-h`;
    this.el.prepend(this.heading);
    // Autocomplete first: its keydown handler consumes Enter/Tab when a suggestion is chosen.
    this.autocomplete = attachAutocomplete(this.textarea);
    this.textarea.addEventListener('keydown', (ev) => {
      if (ev.defaultPrevented) return;
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.execute();
      }
    });
    this.textarea.addEventListener('input', () => this.autosize());
    this.resize = new ResizeObserver(() => {
      if (this.last && this.last.tab === 'graph' && this.body.clientWidth !== this.lastWidth) this.drawGraph();
    });
    this.resize.observe(this.body);
    this.paintTabs();
    requestAnimationFrame(() => this.autosize());
  }

  setIndex(i, count) {
    this.heading.textContent = `Query panel ${i + 1}`;
    this.removeBtn.hidden = count <= 1;
  }

  focus() {
    this.textarea.focus();
  }

  destroy() {
    if (this.abort) this.abort.abort();
    this.resize.disconnect();
    this.el.remove();
  }

  autosize() {
    this.textarea.style.height = 'auto';
    this.textarea.style.height = `${Math.min(this.textarea.scrollHeight + 2, 400)}px`;
  }

  setTab(tab) {
    if (this.state.tab === tab) return;
    this.state.tab = tab;
    this.paintTabs();
    this.onChange();
    this.run();
  }

  paintTabs() {
    for (const [key, b] of Object.entries(this.tabBtns)) {
      const on = key === this.state.tab;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    }
    this.body.setAttribute('aria-labelledby', this.tabBtns[this.state.tab].id);
    this.el.classList.toggle('is-graph', this.state.tab === 'graph');
    this.paintControls();
  }

  paintControls() {
    const s = this.state;
    const field = (label, input, before = [], after = []) => h('div', { class: 'field' },
      h('label', { for: input.id }, label), h('div', { class: 'field-row' }, before, input, after));
    const btn = (text, label, onclick) => h('button', {
      type: 'button', class: 'btn small', 'aria-label': label, title: label, onclick,
    }, text);
    if (s.tab === 'table') {
      const moment = h('input', {
        id: uid('moment'), class: 'time-input moment-input', type: 'text', placeholder: 'now',
        value: s.moment === null ? '' : formatUtc(s.moment), inputmode: 'numeric',
      });
      moment.addEventListener('change', () => {
        const t = parseUtc(moment.value);
        s.moment = Number.isFinite(t) ? t : null;
        moment.value = s.moment === null ? '' : formatUtc(s.moment);
        this.onChange();
        this.run();
      });
      replace(this.controls, field('Evaluation time (UTC)', moment));
      return;
    }
    const range = h('input', { id: uid('range'), class: 'range-input', type: 'text', value: formatDuration(s.range), size: 6 });
    range.addEventListener('change', () => {
      const r = parseDuration(range.value);
      if (r > 0) s.range = r;
      this.changed();
    });
    const shift = (dir) => {
      // The next preset range below or above the current one.
      const smaller = RANGES.filter((r) => r < s.range);
      const larger = RANGES.filter((r) => r > s.range);
      if (dir < 0 && smaller.length) s.range = smaller[smaller.length - 1];
      if (dir > 0 && larger.length) s.range = larger[0];
      this.changed();
    };
    const end = h('input', {
      id: uid('end'), class: 'time-input end-input', type: 'text', placeholder: 'now',
      value: s.end === null ? '' : formatUtc(s.end),
    });
    end.addEventListener('change', () => {
      const t = parseUtc(end.value);
      s.end = Number.isFinite(t) ? t : null;
      this.changed();
    });
    const move = (dir) => {
      const base = s.end === null ? Date.now() : s.end;
      s.end = base + (dir * s.range) / 2;
      if (s.end >= Date.now()) s.end = null;
      this.changed();
    };
    const step = h('input', {
      id: uid('step'), class: 'step-input', type: 'text', size: 6,
      placeholder: `auto (${formatDuration(autoStep(s.range))})`,
      value: s.step === null ? '' : formatDuration(s.step),
    });
    step.addEventListener('change', () => {
      const v = parseDuration(step.value);
      s.step = v > 0 ? v : null;
      this.changed();
    });
    const stacked = h('input', { id: uid('stacked'), type: 'checkbox', class: 'stacked-input', checked: s.stacked });
    stacked.addEventListener('change', () => {
      s.stacked = stacked.checked;
      this.onChange();
      this.drawGraph();
    });
    replace(this.controls,
      field('Range', range, [btn('−', 'Shorter range', () => shift(-1))], [btn('+', 'Longer range', () => shift(1))]),
      field('End (UTC)', end, [btn('‹', 'Earlier', () => move(-1))], [btn('›', 'Later', () => move(1)),
        btn('now', 'End now', () => { s.end = null; this.changed(); })]),
      field('Step', step),
      h('div', { class: 'field checkbox' }, stacked, h('label', { for: stacked.id }, 'Stacked')));
  }

  changed() {
    this.paintControls();
    this.onChange();
    this.run();
  }

  execute() {
    this.autocomplete.close();
    const expr = this.textarea.value.trim();
    if (expr !== this.state.expr) this.hidden.clear();
    this.state.expr = expr;
    this.onChange();
    this.run();
  }

  /** Replaces the expression with the server's pretty-printed form (`/api/v1/format_query`). */
  async format() {
    const expr = this.textarea.value.trim();
    if (!expr) return;
    try {
      const formatted = await get('api/v1/format_query', { query: expr });
      if (typeof formatted === 'string') {
        this.clearError();
        this.textarea.value = formatted;
        this.autosize();
        this.textarea.focus();
      }
    } catch (e) {
      this.showError(e, expr);
    }
  }

  showError(e, expr) {
    const msg = e instanceof ApiError ? `${e.type === 'network' ? '' : `${e.type}: `}${e.message}` : String(e && e.message ? e.message : e);
    const pos = errorPosition(e && e.message, expr);
    const parts = [h('div', { class: 'error-msg' }, h('strong', {}, 'Error: '), msg)];
    if (pos >= 0) {
      const lineStart = expr.lastIndexOf('\n', pos - 1) + 1;
      const lineEnd = expr.indexOf('\n', pos);
      const line = expr.slice(lineStart, lineEnd < 0 ? expr.length : lineEnd);
      const col = pos - lineStart;
      parts.push(h('pre', { class: 'error-pointer', 'aria-label': `Error at line ${expr.slice(0, pos).split('\n').length}, column ${col + 1}` },
        h('span', {}, line.slice(0, col)),
        h('mark', {}, line.slice(col, col + 1) || ' '),
        h('span', {}, line.slice(col + 1)),
        '\n', ' '.repeat(col), '^'));
      this.textarea.setAttribute('aria-invalid', 'true');
    }
    replace(this.errorEl, h('div', { class: 'error', role: 'alert' }, parts));
  }

  clearError() {
    replace(this.errorEl);
    this.textarea.removeAttribute('aria-invalid');
  }

  async run() {
    const s = this.state;
    if (this.abort) this.abort.abort();
    this.clearError();
    if (!s.expr) {
      replace(this.body, h('p', { class: 'muted empty' }, 'Enter an expression and press Enter or Execute.'));
      replace(this.statsEl);
      this.last = null;
      return;
    }
    const ctrl = new AbortController();
    this.abort = ctrl;
    const expr = s.expr;
    const t0 = performance.now();
    this.el.setAttribute('aria-busy', 'true');
    try {
      let res;
      let info;
      if (s.tab === 'table') {
        const time = s.moment === null ? Date.now() : s.moment;
        res = await call('api/v1/query', { query: expr, time: (time / 1000).toFixed(3), stats: 'all' }, { signal: ctrl.signal });
        info = { tab: 'table', data: res.data, time };
      } else {
        const end = s.end === null ? Date.now() : s.end;
        const start = end - s.range;
        const step = s.step === null ? autoStep(s.range) : s.step;
        res = await call('api/v1/query_range', {
          query: expr, start: (start / 1000).toFixed(3), end: (end / 1000).toFixed(3), step: step / 1000, stats: 'all',
        }, { signal: ctrl.signal });
        info = { tab: 'graph', data: res.data, start, end, step };
      }
      const ms = performance.now() - t0;
      this.last = info;
      this.paintStats(res, ms);
      if (info.tab === 'table') this.drawTable();
      else this.drawGraph();
      const notes = [...res.warnings.map((w) => `Warning: ${w}`), ...res.infos.map((i) => `Info: ${i}`)];
      if (notes.length) this.body.prepend(h('div', { class: 'warning', role: 'status' }, notes.map((n) => h('div', {}, n))));
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      this.last = null;
      this.showError(e, expr);
      replace(this.statsEl);
      replace(this.body);
    } finally {
      if (this.abort === ctrl) this.el.removeAttribute('aria-busy');
    }
  }

  paintStats(res, ms) {
    const d = res.data || {};
    const r = d.result;
    const n = Array.isArray(r) ? r.length : 1;
    const parts = [`Load time: ${Math.round(ms)}ms`];
    if (this.last.tab === 'graph') parts.push(`Resolution: ${formatDuration(this.last.step)}`);
    parts.push(`Result series: ${n}`);
    const samples = d.stats && d.stats.samples && d.stats.samples.totalQueryableSamples;
    if (typeof samples === 'number') parts.push(`Samples: ${samples}`);
    replace(this.statsEl, parts.map((p, i) => [i ? ' · ' : '', h('span', { class: 'stat' }, p)]));
  }

  drawTable() {
    const { data } = this.last;
    const r = data.result;
    const tbody = h('tbody');
    let rows = 0;
    if (data.resultType === 'scalar' || data.resultType === 'string') {
      tbody.append(h('tr', {}, h('td', { class: 'series' }, h('em', {}, data.resultType)), h('td', { class: 'value' }, data.resultType === 'string' ? r[1] : formatValue(r[1]))));
      rows = 1;
    } else {
      for (const s of r.slice(0, MAX_TABLE_ROWS)) {
        let value;
        if (data.resultType === 'matrix') {
          value = (s.values || []).map(([t, v]) => `${formatValue(v)} @${t}`).join('\n');
          if (s.histograms) value += `${value ? '\n' : ''}${s.histograms.length} native histogram samples`;
        } else if (s.histogram) {
          value = `histogram: count ${s.histogram[1].count}, sum ${s.histogram[1].sum}`;
        } else {
          value = formatValue(s.value[1]);
        }
        tbody.append(h('tr', {}, h('td', { class: 'series' }, seriesName(s.metric)), h('td', { class: 'value' }, value)));
        rows += 1;
      }
    }
    if (rows === 0) {
      replace(this.body, h('p', { class: 'muted empty' }, 'Empty query result'));
      return;
    }
    replace(this.body,
      r.length > MAX_TABLE_ROWS ? h('p', { class: 'warning' }, `Showing the first ${MAX_TABLE_ROWS} of ${r.length} series.`) : null,
      h('div', { class: 'table-wrap' }, h('table', { class: 'result-table' },
        h('caption', { class: 'visually-hidden' }, `Result of ${this.state.expr}`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Series'), h('th', { scope: 'col' }, 'Value'))),
        tbody)));
  }

  drawGraph() {
    if (!this.last || this.last.tab !== 'graph') return;
    const { data, start, end, step } = this.last;
    if (data.resultType !== 'matrix') {
      replace(this.body, h('p', { class: 'muted' }, `A ${data.resultType} result cannot be graphed.`));
      return;
    }
    this.lastWidth = this.body.clientWidth;
    const all = data.result;
    renderGraph(this.body, all.slice(0, MAX_GRAPH_SERIES), {
      start, end, step, stacked: this.state.stacked, hidden: this.hidden,
      onZoom: (t0, t1) => {
        // Whole seconds keep the URL readable (`g0.range_input=14m58s`).
        this.state.end = Math.round(t1 / 1000) * 1000;
        this.state.range = Math.max(Math.round((t1 - t0) / 1000) * 1000, 1000);
        this.changed();
      },
    });
    if (all.length > MAX_GRAPH_SERIES) {
      this.body.prepend(h('p', { class: 'warning', role: 'status' },
        `Graphing the first ${MAX_GRAPH_SERIES} of ${all.length} series; narrow the query or use the table.`));
    }
  }
}
