// format.js — pure formatting and parsing helpers: sample values, times, Prometheus durations,
// series names, and the position carried by a PromQL parse error. No DOM, no network.

/** Parses a sample value as the API writes it (`"1.5"`, `"+Inf"`, `"-Inf"`, `"NaN"`). */
export function parseSample(v) {
  if (typeof v === 'number') return v;
  const t = String(v).trim();
  if (t === '+Inf' || t === 'Inf' || t === 'inf' || t === '+inf') return Infinity;
  if (t === '-Inf' || t === '-inf') return -Infinity;
  return parseFloat(t);
}

/** Formats a sample value the way the Prometheus API spells special values. */
export function formatValue(v) {
  const n = parseSample(v);
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** Short number for axis ticks: 1.5k, 2M, 0.001. */
export function formatTick(n) {
  const a = Math.abs(n);
  if (a === 0) return '0';
  const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [u, s] of units) if (a >= u) return trimNum(n / u) + s;
  if (a < 1e-3) return n.toExponential(1);
  return trimNum(n);
}

function trimNum(n) {
  return String(parseFloat(n.toPrecision(4)));
}

/** Milliseconds since epoch → `YYYY-MM-DD HH:MM:SS` in UTC (Prometheus's URL time format). */
export function formatUtc(ms, withMillis = false) {
  const d = new Date(ms);
  const p = (x, w = 2) => String(x).padStart(w, '0');
  let s = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  if (withMillis) s += `.${p(d.getUTCMilliseconds(), 3)}`;
  return s;
}

/** Parses `YYYY-MM-DD HH:MM[:SS[.mmm]]` (UTC), an RFC 3339 time, or Unix seconds. NaN if invalid. */
export function parseUtc(text) {
  const t = String(text || '').trim();
  if (t === '') return NaN;
  if (/^\d+(\.\d+)?$/.test(t)) return parseFloat(t) * 1000;
  const m = t.match(/^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z?$/);
  if (m) {
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0), +((m[7] || '0').padEnd(3, '0')));
  }
  const d = Date.parse(t);
  return Number.isNaN(d) ? NaN : d;
}

const UNITS = { y: 365 * 86400e3, w: 7 * 86400e3, d: 86400e3, h: 3600e3, m: 60e3, s: 1e3, ms: 1 };

/** Parses a Prometheus duration (`1h30m`, `15s`, `500ms`, `2d`) to ms; a bare number is seconds. */
export function parseDuration(text) {
  const t = String(text || '').trim();
  if (t === '') return NaN;
  if (/^\d+(\.\d+)?$/.test(t)) return parseFloat(t) * 1000;
  const re = /(\d+)(ms|y|w|d|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  let m;
  while ((m = re.exec(t)) !== null) {
    if (m.index !== consumed) return NaN;
    total += parseInt(m[1], 10) * UNITS[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === t.length && consumed > 0 ? total : NaN;
}

/** ms → the shortest Prometheus duration string (`90000` → `1m30s`). */
export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const u of ['y', 'w', 'd', 'h', 'm', 's', 'ms']) {
    const n = Math.floor(rest / UNITS[u]);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * UNITS[u];
    }
  }
  return out;
}

/** Seconds (float) → a human duration such as `12.3ms` or `1.52s`. */
export function formatSeconds(sec) {
  if (typeof sec !== 'number' || !Number.isFinite(sec)) return '—';
  if (sec < 1e-3) return `${(sec * 1e6).toFixed(0)}µs`;
  if (sec < 1) return `${(sec * 1e3).toFixed(1)}ms`;
  return `${sec.toFixed(2)}s`;
}

/** An RFC 3339 time → "12.3s ago" / "in 4s"; `never` for Go's zero time. */
export function formatAgo(rfc3339, nowMs = Date.now()) {
  const t = Date.parse(rfc3339);
  if (Number.isNaN(t) || t <= 0 || String(rfc3339).startsWith('0001-')) return 'never';
  const diff = (nowMs - t) / 1000;
  const abs = Math.abs(diff);
  const s = abs < 60 ? `${abs.toFixed(1)}s` : formatDuration(Math.round(abs) * 1000);
  return diff >= 0 ? `${s} ago` : `in ${s}`;
}

/** `{__name__="up", job="x"}` → `up{job="x"}`. */
export function seriesName(metric) {
  const m = metric || {};
  const name = m.__name__ || '';
  const rest = Object.keys(m).filter((k) => k !== '__name__').sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`);
  if (rest.length === 0) return name || '{}';
  return `${name}{${rest.join(', ')}}`;
}

/**
 * Finds the 0-based character offset a PromQL parse error points at, given the query text.
 * Understands Prometheus's `LINE:COL: parse error: …` (COL 1-based within LINE), and the
 * forms `at line L, column C`, `position N` and `at char N` (N a 0-based offset). Returns -1 when none.
 */
export function errorPosition(message, query) {
  const msg = String(message || '');
  let m = msg.match(/(?:^|[\s"'])(\d+):(\d+): parse error/);
  if (!m) m = msg.match(/line (\d+),? col(?:umn)? (\d+)/i);
  if (m) {
    const line = parseInt(m[1], 10);
    const col = parseInt(m[2], 10);
    const lines = String(query).split('\n');
    if (line < 1 || line > lines.length) return -1;
    let off = 0;
    for (let i = 0; i < line - 1; i++) off += lines[i].length + 1;
    return Math.min(off + Math.max(col - 1, 0), String(query).length);
  }
  m = msg.match(/position (\d+)/i) || msg.match(/\bpos(?:ition)?[ =:](\d+)/i) || msg.match(/\bat char (\d+)/i);
  if (m) return Math.min(parseInt(m[1], 10), String(query).length);
  return -1;
}
