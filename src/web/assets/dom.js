// dom.js — tiny DOM helpers shared by every view: element creation, clearing, and safe text.
// Owns no state and knows nothing of the API.

/**
 * Creates an element. `attrs` keys: `class`, `text`, `on<Event>` handlers (e.g. `onclick`),
 * `dataset` (object), `style` (object), booleans for boolean attributes; anything else is set
 * with setAttribute. Children may be strings, nodes, arrays, or null/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Removes every child of `el`, then appends `children`. */
export function replace(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
  return el;
}

let idCounter = 0;
/** A document-unique id with a readable prefix, for label/aria wiring. */
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A status badge (`up`, `down`, `firing`, …) with a class for its colour. */
export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || String(text).toLowerCase()}` }, text);
}

/** A labelled set of `name="value"` chips. */
export function labelChips(labels) {
  const names = Object.keys(labels || {}).sort();
  if (names.length === 0) return h('span', { class: 'muted' }, 'none');
  return h('span', { class: 'chips' }, names.map((n) => h('span', { class: 'chip' }, `${n}="${labels[n]}"`)));
}

/** An error box with role=alert so screen readers announce it. */
export function errorBox(message) {
  return h('div', { class: 'error', role: 'alert' }, message);
}
