// What every console page shares: its configuration and words, the JSON API with the
// session renewed when the access token expires (one tab at a time), and small DOM helpers.

export const config = JSON.parse(document.getElementById('fv-config').textContent);
export const t = (key) => config.t[key] ?? key;
export const $ = (id) => document.getElementById(id);
export const COLOURS = { visited: '#2e7d32', due: '#f9a825', overdue: '#c62828', unassigned: '#757575' };


// ---- the API, with the session renewed when the access token has expired ----

export function cookie(name) {
  const found = document.cookie.split('; ').find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : '';
}

async function renewOnce() {
  const res = await fetch('/console/refresh', {
    method: 'POST', credentials: 'same-origin', headers: { [config.csrfHeader]: cookie(config.csrfCookie) },
  });
  return res.ok;
}

// One renewal at a time across the console's tabs: a refresh token is spent once.
function renew() {
  return navigator.locks ? navigator.locks.request('fieldvisit-renew', renewOnce) : renewOnce();
}

export async function api(path, options = {}) {
  const method = options.method || 'GET';
  const send = () => fetch(path, {
    method,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    headers: {
      accept: 'application/json',
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(method === 'GET' ? {} : { [config.csrfHeader]: cookie(config.csrfCookie) }),
    },
  });
  let res = await send();
  if (res.status === 401) {
    if (!(await renew())) {
      window.location.href = `/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
      throw new Error('signed out');
    }
    res = await send();
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const error = new Error(body?.error?.message || res.statusText);
    error.status = res.status;
    error.code = body?.error?.code;
    error.field = body?.error?.details?.field;
    throw error;
  }
  return res.status === 204 ? null : res.json();
}

// Renew ahead of the access token's expiry, so that tiles never meet a 401.
setInterval(() => { renew(); }, 10 * 60 * 1000);

// ---- small helpers ----

export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v; else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
};
const shanghai = new Intl.DateTimeFormat(config.lang === 'zh' ? 'zh-CN' : 'en-GB', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
});
export const when = (iso) => (iso ? shanghai.format(new Date(iso)) : t('panel.none'));
export const percent = (r) => (r === null || r === undefined ? '–' : `${(r * 100).toFixed(1)}%`);
export const distance = (m) => (m >= 1000 ? `${(m / 1000).toFixed(1)} ${t('unit.km')}` : `${m} ${t('unit.m')}`);

export function bbox(geometry) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return b;
}
export const centre = (geometry) => { const b = bbox(geometry); return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]; };


// The sign-out form carries the session's current CSRF token (it may have been renewed).
document.getElementById('logout')?.addEventListener('click', () => {
  document.getElementById('logout-csrf').value = cookie(config.csrfCookie);
});

/// Shows the server's field errors next to their fields (`[data-error-for=field]`), or
/// in `fallback` when the error names no field.
export function showError(form, error, fallback) {
  form.querySelectorAll('[data-error-for]').forEach((n) => { n.textContent = ''; });
  const slot = error.field && form.querySelector(`[data-error-for="${error.field}"]`);
  (slot || fallback).textContent = error.message;
}
