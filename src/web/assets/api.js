// api.js — the only module that talks to the server: GET/POST to the Prometheus HTTP API over
// relative URLs, unwrapping `{"status":"success","data":…}` and turning error bodies into
// ApiError. A development override `?api=http://host:port` (remembered for the tab) points the
// UI at another Prometheus-compatible server, which must allow CORS.

const KEY = 'cairn.apiBase';

function initBase() {
  try {
    const p = new URLSearchParams(location.search).get('api');
    if (p !== null) {
      if (p === '') sessionStorage.removeItem(KEY);
      else sessionStorage.setItem(KEY, p.endsWith('/') ? p : `${p}/`);
    }
    return sessionStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

const base = initBase();

/** An error answered by the API (or a network failure, with type `network`). */
export class ApiError extends Error {
  constructor(type, message, status) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

/** Absolute or relative URL of an API path such as `api/v1/query`. */
export function apiUrl(path) {
  return base + path;
}

/**
 * Calls the API and returns `{data, warnings, infos}`. `params` is an object whose array
 * values repeat the key (for `match[]`). Long parameter sets go as a POST form body, as
 * Prometheus allows for the query endpoints.
 */
export async function call(path, params = {}, { signal, post = false } = {}) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => qs.append(k, x));
    else qs.append(k, String(v));
  }
  const body = qs.toString();
  const usePost = post || body.length > 1500;
  let resp;
  try {
    resp = usePost
      ? await fetch(apiUrl(path), {
        method: 'POST', body, signal, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      })
      : await fetch(apiUrl(path) + (body ? `?${body}` : ''), { signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError('network', `cannot reach the server: ${e && e.message ? e.message : e}`, 0);
  }
  const text = await resp.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError('bad_response', `HTTP ${resp.status}: ${text.slice(0, 300) || resp.statusText}`, resp.status);
  }
  if (!json || json.status !== 'success') {
    const type = (json && json.errorType) || 'unknown';
    const msg = (json && json.error) || `HTTP ${resp.status}`;
    throw new ApiError(type, msg, resp.status);
  }
  return { data: json.data, warnings: json.warnings || [], infos: json.infos || [] };
}

/** Like `call` but returns only `data`. */
export async function get(path, params, opts) {
  return (await call(path, params, opts)).data;
}
