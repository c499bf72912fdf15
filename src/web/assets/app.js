// app.js — entry point: the client-side router (history API) that maps a path to a view, the
// main-navigation highlighting, and the light/dark theme toggle. Views live in query.js and
// status.js; this module holds no page content itself.

import { renderQueryPage } from './query.js';
import {
  renderTargets, renderRules, renderAlerts, renderTsdb, renderConfig, renderFlags, renderRuntime,
} from './status.js';
import { h, replace } from './dom.js';

const VIEWS = {
  query: { title: 'Query', render: renderQueryPage },
  graph: { title: 'Query', render: renderQueryPage },
  targets: { title: 'Targets', render: renderTargets },
  rules: { title: 'Rules', render: renderRules },
  alerts: { title: 'Alerts', render: renderAlerts },
  'tsdb-status': { title: 'TSDB status', render: renderTsdb },
  config: { title: 'Configuration', render: renderConfig },
  flags: { title: 'Command-line flags', render: renderFlags },
  status: { title: 'Runtime & build information', render: renderRuntime },
};

/** The view name of the current path: the last path segment, `query` for `/`. */
function currentView() {
  const seg = location.pathname.replace(/\/+$/, '').split('/').pop();
  return VIEWS[seg] ? seg : 'query';
}

let controller = null;

async function route() {
  const name = currentView();
  const view = VIEWS[name];
  const main = document.getElementById('main');
  if (controller) controller.abort();
  controller = new AbortController();
  document.title = `${view.title} · Cairn`;
  for (const a of document.querySelectorAll('.mainnav a')) {
    const target = a.getAttribute('href');
    const active = target === name || (target === 'query' && name === 'graph');
    if (active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  replace(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await view.render(main, controller.signal);
  } catch (e) {
    if (e && e.name === 'AbortError') return;
    replace(main, h('h1', {}, view.title), h('div', { class: 'error', role: 'alert' }, `Error: ${e && e.message ? e.message : e}`));
  }
}

/** Navigates within the app without a reload; other links behave normally. */
function onClick(ev) {
  const a = ev.target.closest && ev.target.closest('a[data-route]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.getAttribute('href'), location.href);
  if (url.origin !== location.origin) return;
  ev.preventDefault();
  if (url.pathname !== location.pathname || url.search !== location.search) {
    history.pushState(null, '', url.pathname + url.search);
  }
  route().then(() => document.getElementById('main').focus({ preventScroll: true }));
}

function effectiveTheme() {
  const t = document.documentElement.dataset.theme;
  if (t === 'dark' || t === 'light') return t;
  return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function setupTheme() {
  const btn = document.getElementById('theme-toggle');
  const sync = () => btn.setAttribute('aria-pressed', String(effectiveTheme() === 'dark'));
  sync();
  btn.addEventListener('click', () => {
    const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    try { localStorage.setItem('cairn.theme', next); } catch { /* private mode */ }
    sync();
    window.dispatchEvent(new Event('cairn-theme'));
  });
  if (window.matchMedia) window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', sync);
}

document.addEventListener('click', onClick);
window.addEventListener('popstate', route);
setupTheme();
route();
