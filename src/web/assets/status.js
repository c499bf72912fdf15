// status.js — the read-only pages: targets, rules, alerts, TSDB status, configuration, flags,
// and runtime/build information. Each fetches its endpoint(s) through api.js and renders
// tables; none keeps state beyond its filters.

import { get } from './api.js';
import { h, replace, badge, labelChips, errorBox, uid } from './dom.js';
import { formatAgo, formatSeconds, formatUtc, formatValue } from './format.js';

function page(main, title, ...content) {
  replace(main, h('h1', {}, title), ...content);
}

/** A text filter input wired to `apply(text)`. */
function filterBox(label, apply) {
  const id = uid('filter');
  const input = h('input', { id, type: 'search', class: 'filter', placeholder: label });
  input.addEventListener('input', () => apply(input.value.trim().toLowerCase()));
  return h('div', { class: 'field inline' }, h('label', { for: id, class: 'visually-hidden' }, label), input);
}

/** A table; each cell carries its column name in data-label for the narrow card layout. */
function table(headers, rows, cls = '') {
  for (const tr of rows) {
    [...tr.children].forEach((cell, i) => { if (headers[i]) cell.dataset.label = headers[i]; });
  }
  return h('div', { class: 'table-wrap' }, h('table', { class: `data-table ${cls}` },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows)));
}

const labelText = (labels) => Object.entries(labels || {}).map(([k, v]) => `${k}="${v}"`).join(' ').toLowerCase();

// ---------------------------------------------------------------- targets

export async function renderTargets(main, signal) {
  const data = await get('api/v1/targets', {}, { signal });
  const active = data.activeTargets || [];
  const dropped = data.droppedTargets || [];
  const pools = new Map();
  for (const t of active) {
    if (!pools.has(t.scrapePool)) pools.set(t.scrapePool, []);
    pools.get(t.scrapePool).push(t);
  }
  const sections = [];
  for (const [pool, targets] of [...pools.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const up = targets.filter((t) => t.health === 'up').length;
    const rows = targets.map((t) => {
      const tr = h('tr', { class: `target health-${t.health}`, dataset: { search: `${t.scrapeUrl} ${labelText(t.labels)} ${t.health}`.toLowerCase() } },
        h('td', { class: 'endpoint' },
          /^https?:\/\//i.test(t.scrapeUrl) ? h('a', { href: t.scrapeUrl, rel: 'noreferrer' }, t.scrapeUrl) : t.scrapeUrl,
          t.scrapeInterval ? h('div', { class: 'muted small' }, `every ${t.scrapeInterval}, timeout ${t.scrapeTimeout || '?'}`) : null),
        h('td', {}, badge(t.health)),
        h('td', { class: 'labels' }, labelChips(t.labels),
          h('details', { class: 'discovered' }, h('summary', {}, 'Before relabeling'), labelChips(t.discoveredLabels))),
        h('td', { class: 'last-scrape' }, formatAgo(t.lastScrape)),
        h('td', { class: 'duration' }, formatAgo(t.lastScrape) === 'never' ? '—' : formatSeconds(t.lastScrapeDuration)),
        h('td', { class: 'scrape-error' }, t.lastError ? h('span', { class: 'error-text' }, t.lastError) : ''));
      return tr;
    });
    sections.push(h('section', { class: 'pool', dataset: { pool } },
      h('h2', {}, pool, ' ', h('span', { class: `count ${up === targets.length ? 'ok' : 'bad'}` }, `(${up}/${targets.length} up)`)),
      table(['Endpoint', 'State', 'Labels', 'Last scrape', 'Scrape duration', 'Error'], rows, 'targets-table')));
  }
  const onlyBad = h('input', { type: 'checkbox', id: uid('unhealthy') });
  const body = h('div', {}, sections.length ? sections : h('p', { class: 'muted' }, 'No active targets.'));
  let text = '';
  const apply = () => {
    for (const tr of body.querySelectorAll('tr.target')) {
      tr.hidden = (onlyBad.checked && tr.classList.contains('health-up')) || Boolean(text && !tr.dataset.search.includes(text));
    }
    for (const sec of body.querySelectorAll('section.pool')) {
      sec.hidden = [...sec.querySelectorAll('tr.target')].every((tr) => tr.hidden);
    }
  };
  onlyBad.addEventListener('change', apply);
  page(main, 'Targets',
    h('div', { class: 'toolbar' },
      filterBox('Filter by endpoint or labels', (t) => { text = t; apply(); }),
      h('div', { class: 'field checkbox' }, onlyBad, h('label', { for: onlyBad.id }, 'Unhealthy only')),
      h('span', { class: 'muted' }, `${active.length} active, ${dropped.length} dropped`)),
    body);
}

// ---------------------------------------------------------------- rules

function ruleRow(r) {
  const name = r.type === 'alerting' ? r.name : r.name;
  const def = h('pre', { class: 'rule-def' },
    `${r.type === 'alerting' ? 'alert' : 'record'}: ${name}\nexpr: ${r.query}` +
    (r.duration ? `\nfor: ${r.duration}s` : '') +
    (r.labels && Object.keys(r.labels).length ? `\nlabels:\n${Object.entries(r.labels).map(([k, v]) => `  ${k}: ${v}`).join('\n')}` : '') +
    (r.annotations && Object.keys(r.annotations).length ? `\nannotations:\n${Object.entries(r.annotations).map(([k, v]) => `  ${k}: ${v}`).join('\n')}` : ''));
  return h('tr', { class: `rule health-${r.health}` },
    h('td', {}, def),
    h('td', {}, badge(r.health || 'unknown'), r.type === 'alerting' && r.state ? [' ', badge(r.state)] : null),
    h('td', {}, r.lastError ? h('span', { class: 'error-text' }, r.lastError) : ''),
    h('td', {}, formatAgo(r.lastEvaluation)),
    h('td', {}, formatSeconds(r.evaluationTime)));
}

export async function renderRules(main, signal) {
  const data = await get('api/v1/rules', {}, { signal });
  const groups = data.groups || [];
  if (groups.length === 0) {
    page(main, 'Rules', h('p', { class: 'muted empty' }, 'No rule groups are configured.'));
    return;
  }
  page(main, 'Rules', groups.map((g) => h('section', { class: 'rule-group', dataset: { group: g.name } },
    h('h2', {}, g.name),
    h('p', { class: 'muted group-meta' },
      `file: ${g.file} · interval: ${g.interval}s · last evaluation: ${formatAgo(g.lastEvaluation)} · took ${formatSeconds(g.evaluationTime)}`),
    table(['Rule', 'State', 'Error', 'Last evaluation', 'Evaluation time'], (g.rules || []).map(ruleRow), 'rules-table'))));
}

// ---------------------------------------------------------------- alerts

export async function renderAlerts(main, signal) {
  const data = await get('api/v1/alerts', {}, { signal });
  const alerts = (data.alerts || []).slice().sort((a, b) =>
    (a.state === b.state ? 0 : a.state === 'firing' ? -1 : 1) ||
    String(a.labels.alertname).localeCompare(String(b.labels.alertname)));
  const firing = alerts.filter((a) => a.state === 'firing').length;
  const pending = alerts.filter((a) => a.state === 'pending').length;
  const rows = alerts.map((a) => h('tr', { class: `alert state-${a.state}`, dataset: { state: a.state, search: labelText(a.labels) } },
    h('td', { class: 'alertname' }, a.labels.alertname || ''),
    h('td', {}, badge(a.state)),
    h('td', {}, labelChips(Object.fromEntries(Object.entries(a.labels).filter(([k]) => k !== 'alertname')))),
    h('td', {}, Object.keys(a.annotations || {}).length
      ? h('dl', { class: 'annotations' }, Object.entries(a.annotations).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))
      : h('span', { class: 'muted' }, 'none')),
    h('td', { title: a.activeAt ? `${formatUtc(Date.parse(a.activeAt))} UTC` : '' }, a.activeAt ? formatAgo(a.activeAt) : ''),
    h('td', {}, a.value !== undefined ? formatValue(a.value) : '')));
  const body = h('div', {}, alerts.length
    ? table(['Alert', 'State', 'Labels', 'Annotations', 'Active since', 'Value'], rows, 'alerts-table')
    : h('p', { class: 'muted empty' }, 'No alerts are pending or firing.'));
  const boxes = {};
  const apply = (text) => {
    for (const tr of body.querySelectorAll('tr.alert')) {
      tr.hidden = !boxes[tr.dataset.state].checked || (text && !tr.dataset.search.includes(text));
    }
  };
  let text = '';
  const toggles = ['firing', 'pending'].map((st) => {
    const cb = h('input', { type: 'checkbox', id: uid(st), checked: true, onchange: () => apply(text) });
    boxes[st] = cb;
    return h('div', { class: 'field checkbox' }, cb, h('label', { for: cb.id }, `${st[0].toUpperCase()}${st.slice(1)}`));
  });
  page(main, 'Alerts',
    h('div', { class: 'toolbar' },
      h('span', { class: 'alert-counts' }, badge(`${firing} firing`, 'firing'), ' ', badge(`${pending} pending`, 'pending')),
      toggles,
      filterBox('Filter by labels', (t) => { text = t; apply(text); })),
    body);
}

// ---------------------------------------------------------------- TSDB status

function countTable(title, rows, nameHead, valueHead = 'Count') {
  if (!rows || rows.length === 0) return null;
  return h('section', { class: 'cardinality' }, h('h2', {}, title),
    table([nameHead, valueHead], rows.map((r) => h('tr', {}, h('td', { class: 'name' }, r.name), h('td', { class: 'num' }, String(r.value))))));
}

function bytes(n) {
  if (typeof n !== 'number') return String(n ?? '');
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i += 1; }
  return `${i ? v.toFixed(1) : v} ${u[i]}`;
}

/** ms (or RFC 3339) → UTC text; '—' outside JavaScript's date range (e.g. an empty head's ±2^63). */
function msTime(v) {
  const n = typeof v === 'string' && !/^-?\d+$/.test(v) ? Date.parse(v) : Number(v);
  return Number.isFinite(n) && Math.abs(n) <= 8.64e15 ? `${formatUtc(n)} UTC` : '—';
}

export async function renderTsdb(main, signal) {
  const d = await get('api/v1/status/tsdb', {}, { signal });
  const head = d.headStats || {};
  const headRows = [
    ['Number of series', head.numSeries], ['Number of chunks', head.chunkCount],
    ['Number of label pairs', head.numLabelPairs],
    ...(head.numSeries === 0 || Number(head.minTime) > Number(head.maxTime)
      ? [['Time range', 'no samples in the head']]
      : [['Current min time', head.minTime !== undefined ? `${msTime(head.minTime)} (${head.minTime})` : undefined],
        ['Current max time', head.maxTime !== undefined ? `${msTime(head.maxTime)} (${head.maxTime})` : undefined]]),
  ].filter(([, v]) => v !== undefined);
  const blocks = Array.isArray(d.blocks) ? d.blocks : null;
  let blockSection = null;
  if (blocks) {
    const sizeOf = (b) => b.sizeBytes ?? b.size ?? b.bytes;
    blockSection = h('section', { class: 'blocks' }, h('h2', {}, `Blocks (${blocks.length})`),
      blocks.length === 0 ? h('p', { class: 'muted' }, 'No persisted blocks yet.')
        : table(['Block', 'Min time', 'Max time', 'Series', 'Samples', 'Size'], blocks.map((b) => h('tr', {},
          h('td', { class: 'name' }, b.ulid || b.id || b.name || ''),
          h('td', {}, msTime(b.minTime)), h('td', {}, msTime(b.maxTime)),
          h('td', { class: 'num' }, String(b.numSeries ?? (b.stats && b.stats.numSeries) ?? '')),
          h('td', { class: 'num' }, String(b.numSamples ?? (b.stats && b.stats.numSamples) ?? '')),
          h('td', { class: 'num' }, bytes(sizeOf(b))))), 'blocks-table'));
  }
  page(main, 'TSDB status',
    h('section', { class: 'head-stats' }, h('h2', {}, 'Head block'),
      table(['Statistic', 'Value'], headRows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'num' }, String(v)))))),
    countTable('Top metrics by series count', d.seriesCountByMetricName, 'Metric name'),
    countTable('Top label names by value count', d.labelValueCountByLabelName, 'Label name'),
    countTable('Top label names by memory used', d.memoryInBytesByLabelName, 'Label name', 'Bytes'),
    countTable('Top label pairs by series count', d.seriesCountByLabelValuePair, 'Label pair'),
    blockSection);
}

// ---------------------------------------------------------------- config and flags

export async function renderConfig(main, signal) {
  const d = await get('api/v1/status/config', {}, { signal });
  const pre = h('pre', { class: 'config-yaml', tabindex: '0', 'aria-label': 'Configuration YAML' }, d.yaml || '');
  const status = h('span', { role: 'status', class: 'muted' });
  const copy = h('button', {
    type: 'button', class: 'btn small',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(d.yaml || '');
        status.textContent = 'Copied.';
      } catch {
        status.textContent = 'Copying is not allowed here; select the text instead.';
      }
    },
  }, 'Copy to clipboard');
  page(main, 'Configuration', h('div', { class: 'toolbar' }, copy, status),
    d.yaml ? pre : h('p', { class: 'muted empty' }, 'The server runs without a configuration file (defaults apply).'));
}

export async function renderFlags(main, signal) {
  const d = await get('api/v1/status/flags', {}, { signal });
  const rows = Object.keys(d).sort().map((k) => h('tr', { class: 'flag', dataset: { search: `${k} ${d[k]}`.toLowerCase() } },
    h('td', { class: 'name' }, k), h('td', { class: 'value' }, String(d[k]))));
  const t = table(['Flag', 'Value'], rows, 'flags-table');
  page(main, 'Command-line flags',
    h('div', { class: 'toolbar' }, filterBox('Filter flags', (text) => {
      for (const tr of t.querySelectorAll('tr.flag')) tr.hidden = Boolean(text) && !tr.dataset.search.includes(text);
    })),
    t);
}

export async function renderRuntime(main, signal) {
  const [rt, bi] = await Promise.all([
    get('api/v1/status/runtimeinfo', {}, { signal }).catch((e) => ({ __error: e.message })),
    get('api/v1/status/buildinfo', {}, { signal }).catch((e) => ({ __error: e.message })),
  ]);
  const kv = (title, obj) => h('section', {}, h('h2', {}, title), obj.__error ? errorBox(obj.__error)
    : table(['Name', 'Value'], Object.keys(obj).map((k) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, String(obj[k])))), 'kv-table'));
  page(main, 'Runtime & build information', kv('Runtime information', rt), kv('Build information', bi));
}
