// graph.js — draws a range-query result (a matrix) as an SVG line or stacked-area chart, with
// axes, a legend that toggles series, a hover tooltip with values, and drag-to-zoom. Pure
// rendering: it is handed data and callbacks and never calls the API.

import { h, replace } from './dom.js';
import { formatTick, formatValue, formatUtc, parseSample, seriesName } from './format.js';

const PALETTE = [
  '#1f77b4', '#e6550d', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
  '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#3182bd', '#fd8d3c',
];

/** The colour of the i-th series. */
export function seriesColor(i) {
  return PALETTE[i % PALETTE.length];
}

const HEIGHT = 320;
const MARGIN = { top: 10, right: 16, bottom: 28 };

/** A "nice" step (1, 2, 2.5 or 5 × 10^k) near `raw`. */
function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const exp = Math.floor(Math.log10(raw));
  const f = raw / 10 ** exp;
  const nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

const TIME_STEPS = [
  1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3,
  7200e3, 10800e3, 21600e3, 43200e3, 86400e3, 2 * 86400e3, 7 * 86400e3, 14 * 86400e3, 30 * 86400e3,
];

function timeTicks(start, end, width) {
  const want = Math.max(2, Math.floor(width / 110));
  const span = end - start;
  let step = TIME_STEPS.find((s) => span / s <= want) || TIME_STEPS[TIME_STEPS.length - 1];
  if (span / step > want * 2) step = Math.ceil(span / want / 86400e3) * 86400e3;
  const ticks = [];
  for (let t = Math.ceil(start / step) * step; t <= end && ticks.length < 100; t += step) ticks.push(t);
  const label = (t) => {
    const s = formatUtc(t);
    if (step >= 86400e3) return s.slice(5, 10);
    if (span > 86400e3) return `${s.slice(5, 10)} ${s.slice(11, 16)}`;
    return step < 60e3 ? s.slice(11, 19) : s.slice(11, 16);
  };
  return ticks.map((t) => ({ t, label: label(t) }));
}

/** Parses a matrix into [{name, metric, points: [[ms, value]]}] keeping NaN/Inf out of lines. */
export function toSeries(result) {
  return (result || []).map((s) => ({
    name: seriesName(s.metric),
    metric: s.metric,
    points: (s.values || []).map(([t, v]) => [Math.round(t * 1000), parseSample(v)]),
  }));
}

/**
 * Renders into `container`. Options: `start`, `end`, `step` (ms); `stacked`; `hidden` (a Set
 * of series names the legend has switched off, updated in place); `onZoom(startMs, endMs)`.
 */
export function renderGraph(container, result, opts) {
  const series = toSeries(result);
  const hidden = opts.hidden || new Set();
  const width = Math.max(280, Math.floor(container.clientWidth || 800));
  const draw = () => drawAll(container, series, width, hidden, opts);
  draw();
}

function drawAll(container, series, width, hidden, opts) {
  const { start, end, step, stacked } = opts;
  const visible = series.map((s, i) => ({ ...s, index: i })).filter((s) => !hidden.has(s.name));

  // Stacking: values add up per timestamp in legend order; a missing sample counts as a gap.
  const drawn = visible.map((s) => ({ ...s, lines: s.points.map(([t, v]) => [t, v, 0]) }));
  if (stacked) {
    const base = new Map();
    for (const s of drawn) {
      s.lines = s.points.map(([t, v]) => {
        const b = base.get(t) || 0;
        const top = Number.isFinite(v) ? b + v : NaN;
        if (Number.isFinite(v)) base.set(t, top);
        return [t, top, b];
      });
    }
  }

  let lo = Infinity;
  let hi = -Infinity;
  for (const s of drawn) {
    for (const [, v, b] of s.lines) {
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v, stacked ? b : v);
      hi = Math.max(hi, v);
    }
  }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (lo === hi) { const pad = Math.abs(lo) * 0.1 || 1; lo -= pad; hi += pad; }
  const yStep = niceStep((hi - lo) / 5);
  const yMin = Math.floor(lo / yStep) * yStep;
  const yMax = Math.ceil(hi / yStep) * yStep;
  const yTicks = [];
  for (let v = yMin; v <= yMax + yStep / 2 && yTicks.length < 50; v += yStep) yTicks.push(v);
  const left = Math.max(40, 12 + 7 * Math.max(...yTicks.map((v) => formatTick(v).length)));
  const plotW = width - left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (t) => left + ((t - start) / Math.max(end - start, 1)) * plotW;
  const y = (v) => MARGIN.top + (1 - (v - yMin) / (yMax - yMin)) * plotH;

  const svg = h('svg:svg', {
    class: 'graph-svg', width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: 'group', 'aria-roledescription': 'graph',
    'aria-label': `Graph of ${visible.length} series from ${formatUtc(start)} to ${formatUtc(end)} UTC`,
  });
  const grid = h('svg:g', { class: 'grid' });
  for (const v of yTicks) {
    grid.append(h('svg:line', { x1: left, x2: left + plotW, y1: y(v), y2: y(v) }));
    grid.append(h('svg:text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, formatTick(v)));
  }
  for (const { t, label } of timeTicks(start, end, plotW)) {
    grid.append(h('svg:line', { x1: x(t), x2: x(t), y1: MARGIN.top, y2: MARGIN.top + plotH }));
    grid.append(h('svg:text', { x: x(t), y: HEIGHT - 8, 'text-anchor': 'middle', class: 'tick' }, label));
  }
  svg.append(grid);

  const clipId = `clip-${Math.random().toString(36).slice(2)}`;
  svg.append(h('svg:defs', {}, h('svg:clipPath', { id: clipId },
    h('svg:rect', { x: left, y: MARGIN.top, width: plotW, height: plotH }))));
  const plot = h('svg:g', { 'clip-path': `url(#${clipId})` });
  const maxGap = (step || 1) * 1.5;
  for (const s of drawn) {
    const color = seriesColor(s.index);
    let d = '';
    let area = '';
    let seg = [];
    const flush = () => {
      if (seg.length === 0) return;
      d += seg.map(([t, v], j) => `${j ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('');
      if (seg.length === 1) d += 'h0';
      if (stacked) {
        area += seg.map(([t, v], j) => `${j ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('');
        area += seg.slice().reverse().map(([t, , b]) => `L${x(t).toFixed(1)},${y(b).toFixed(1)}`).join('') + 'Z';
      }
      seg = [];
    };
    let prevT = null;
    for (const p of s.lines) {
      if (!Number.isFinite(p[1]) || (prevT !== null && p[0] - prevT > maxGap)) flush();
      if (Number.isFinite(p[1])) seg.push(p);
      prevT = p[0];
    }
    flush();
    if (stacked && area) plot.append(h('svg:path', { class: 'area', d: area, fill: color }));
    plot.append(h('svg:path', {
      class: 'series', d: d || 'M0,0', stroke: color, 'data-series': s.name,
    }));
  }
  svg.append(plot);

  // Interaction layer: crosshair, hover marker, selection rectangle, and a rect catching events.
  const cross = h('svg:line', { class: 'crosshair', y1: MARGIN.top, y2: MARGIN.top + plotH, visibility: 'hidden' });
  const marker = h('svg:circle', { class: 'marker', r: 4, visibility: 'hidden' });
  const sel = h('svg:rect', { class: 'selection', y: MARGIN.top, height: plotH, visibility: 'hidden' });
  const catcher = h('svg:rect', { class: 'catcher', x: left, y: MARGIN.top, width: plotW, height: plotH });
  svg.append(cross, marker, sel, catcher);

  const tip = h('div', { class: 'graph-tooltip', role: 'status', hidden: true });
  const legend = h('ul', { class: 'legend', 'aria-label': 'Series' });
  series.forEach((s, i) => {
    const off = hidden.has(s.name);
    legend.append(h('li', {}, h('button', {
      type: 'button', class: 'legend-item', 'aria-pressed': String(!off),
      title: off ? 'Show this series' : 'Hide this series',
      onclick: () => {
        if (hidden.has(s.name)) hidden.delete(s.name); else hidden.add(s.name);
        drawAll(container, series, width, hidden, opts);
      },
    }, h('span', { class: 'swatch', style: { background: seriesColor(i) }, 'aria-hidden': 'true' }), s.name)));
  });

  const pointer = (ev) => {
    const r = svg.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  let dragFrom = null;
  catcher.addEventListener('mousedown', (ev) => {
    if (ev.button !== 0) return;
    dragFrom = pointer(ev)[0];
    ev.preventDefault();
  });
  const onMove = (ev) => {
    const [px, py] = pointer(ev);
    if (dragFrom !== null) {
      const a = Math.max(left, Math.min(dragFrom, px));
      const b = Math.min(left + plotW, Math.max(dragFrom, px));
      sel.setAttribute('x', a);
      sel.setAttribute('width', Math.max(b - a, 0));
      sel.setAttribute('visibility', 'visible');
    }
    let best = null;
    for (const s of drawn) {
      for (const p of s.lines) {
        if (!Number.isFinite(p[1])) continue;
        const dx = Math.abs(x(p[0]) - px);
        const dy = Math.abs(y(p[1]) - py);
        const score = dx * 4 + dy;
        if (!best || score < best.score) best = { score, s, p };
      }
    }
    if (!best || Math.abs(x(best.p[0]) - px) > 40) {
      hide();
      return;
    }
    show(best.s, best.p);
  };
  // Shows the crosshair, marker and tooltip for point p = [t, top, base] of drawn series s.
  const show = (s, p) => {
    const [pt, pv, pb] = p;
    cross.setAttribute('x1', x(pt));
    cross.setAttribute('x2', x(pt));
    cross.setAttribute('visibility', 'visible');
    marker.setAttribute('cx', x(pt));
    marker.setAttribute('cy', y(pv));
    marker.setAttribute('fill', seriesColor(s.index));
    marker.setAttribute('visibility', 'visible');
    const raw = stacked ? pv - pb : pv;
    replace(tip,
      h('div', { class: 'tip-time' }, `${formatUtc(pt, true)} UTC`),
      h('div', { class: 'tip-series' }, h('span', { class: 'swatch', style: { background: seriesColor(s.index) } }), s.name),
      h('div', { class: 'tip-value' }, `value: ${formatValue(raw)}`));
    tip.hidden = false;
    const tw = tip.offsetWidth || 200;
    tip.style.left = `${Math.min(Math.max(x(pt) + 12, 0), Math.max(width - tw, 0))}px`;
    tip.style.top = `${Math.max(y(pv) - 40, 0)}px`;
  };
  const hide = () => {
    cross.setAttribute('visibility', 'hidden');
    marker.setAttribute('visibility', 'hidden');
    tip.hidden = true;
  };
  // Keyboard: ←/→ step through the samples of a series, ↑/↓ change series, Esc hides.
  const withData = drawn.filter((s) => s.lines.some((p) => Number.isFinite(p[1])));
  let cursor = null;
  svg.setAttribute('tabindex', '0');
  svg.addEventListener('keydown', (ev) => {
    if (withData.length === 0) return;
    const finite = (s) => s.lines.filter((p) => Number.isFinite(p[1]));
    if (ev.key === 'Escape') { hide(); cursor = null; return; }
    if (!['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'].includes(ev.key)) return;
    ev.preventDefault();
    if (!cursor) cursor = { si: 0, t: finite(withData[0]).slice(-1)[0][0] };
    if (ev.key === 'ArrowUp') cursor.si = (cursor.si + withData.length - 1) % withData.length;
    if (ev.key === 'ArrowDown') cursor.si = (cursor.si + 1) % withData.length;
    const pts = finite(withData[cursor.si]);
    let i = pts.findIndex((p) => p[0] >= cursor.t);
    if (i < 0) i = pts.length - 1;
    if (ev.key === 'ArrowLeft') i = Math.max(i - 1, 0);
    if (ev.key === 'ArrowRight') i = Math.min(pts[i][0] > cursor.t ? i : i + 1, pts.length - 1);
    if (ev.key === 'Home') i = 0;
    if (ev.key === 'End') i = pts.length - 1;
    cursor.t = pts[i][0];
    show(withData[cursor.si], pts[i]);
  });
  svg.addEventListener('blur', () => { hide(); cursor = null; });
  catcher.addEventListener('mousemove', onMove);
  catcher.addEventListener('mouseleave', () => { if (dragFrom === null) hide(); });
  const onUp = (ev) => {
    if (dragFrom === null) return;
    const px = pointer(ev)[0];
    const a = Math.max(left, Math.min(dragFrom, px));
    const b = Math.min(left + plotW, Math.max(dragFrom, px));
    dragFrom = null;
    sel.setAttribute('visibility', 'hidden');
    window.removeEventListener('mouseup', onUp);
    if (b - a >= 5 && opts.onZoom) {
      const t0 = start + ((a - left) / plotW) * (end - start);
      const t1 = start + ((b - left) / plotW) * (end - start);
      opts.onZoom(Math.round(t0), Math.round(t1));
    }
  };
  catcher.addEventListener('mousedown', () => window.addEventListener('mouseup', onUp));

  replace(container,
    h('div', { class: 'graph-area' }, svg, tip),
    series.length === 0 ? h('p', { class: 'muted' }, 'No data points in this range.') : legend,
    h('p', { class: 'hint' }, 'Drag across the graph to zoom in; click a legend entry to hide or show its series. '
      + 'With the graph focused, arrow keys move between samples and series. Times are UTC.'));
}
