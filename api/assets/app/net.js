// The app's line to the server: the JSON API with the console's cookie session (the
// tokens in HttpOnly cookies, the CSRF token echoed in a header), renewed when the
// access token has expired, one renewal at a time across the page, other tabs and the
// service worker (a refresh token is spent once; two spending it together would end
// the sign-in). A request that gets no answer is `offline`, not an error: the outbox
// keeps its work and the sync tries again later.

import { getMeta } from './store.js';

// Read when used: the page and the worker set it before their first request.
const config = () => globalThis.fieldvisitConfig;

export class Offline extends Error {
  constructor(why) { super(why); this.offline = true; }
}
export class SignedOut extends Error {
  constructor() { super('signed out'); this.signedOut = true; }
}
export class Refused extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.details = body?.error?.details;
  }
}

// The CSRF token in the page's cookie ('' in the worker, or before a sign-in).
export function pageCsrf() {
  if (typeof document === 'undefined') return '';
  const found = document.cookie.split('; ').find((c) => c.startsWith(`${config().csrfCookie}=`));
  return found ? decodeURIComponent(found.slice(config().csrfCookie.length + 1)) : '';
}

// The CSRF token: the cookie in a page; the worker, which has no cookies to read,
// uses the copy the page keeps in the store.
async function csrf() {
  return pageCsrf() || ((await getMeta('csrf')) ?? '');
}

async function send(path, { method = 'GET', body, headers = {} } = {}) {
  try {
    return await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      // A connection that hangs on a weak link must not hold the sync forever (the
      // reference device gives up after 30 s too).
      signal: AbortSignal.timeout(30_000),
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(method === 'GET' ? {} : { [config().csrfHeader]: await csrf() }),
        ...headers,
      },
    });
  } catch (e) {
    throw new Offline(String(e));
  }
}

async function renewOnce() {
  const res = await send('/console/refresh', { method: 'POST' });
  if (res.status === 204) return true;
  if (res.status >= 500) throw new Offline(`renewal answered ${res.status}`);
  return false;
}

function renew() {
  return navigator.locks ? navigator.locks.request('fieldvisit-renew', renewOnce) : renewOnce();
}

// Calls the API; answers the parsed body (null for 204). Throws Offline (no answer,
// or the server is unavailable for now), SignedOut (the session cannot be renewed),
// or Refused (any other 4xx, with the server's code).
export async function api(path, options = {}) {
  let res = await send(path, options);
  if (res.status === 401) {
    if (!(await renew())) throw new SignedOut();
    res = await send(path, options);
    if (res.status === 401) throw new SignedOut();
  }
  if (res.status >= 500 || res.status === 429) throw new Offline(`HTTP ${res.status}`);
  const body = res.status === 204 ? null : await res.json().catch(() => undefined);
  if (!res.ok) throw new Refused(res.status, body ?? null);
  // A 2xx that is not JSON is not the server's answer (a captive portal's page): no answer.
  if (body === undefined) throw new Offline(`HTTP ${res.status} without a JSON body`);
  return body;
}

// A photo's bytes to a signed URL, exactly with the headers it was signed with (those
// a browser sets itself are left to it). True when the store took them.
export async function put(signed, blob) {
  const forbidden = new Set(['content-length', 'host', 'connection']);
  const headers = Object.fromEntries(Object.entries(signed.headers || {}).filter(([k]) => !forbidden.has(k.toLowerCase())));
  let res;
  try {
    // A minute, plus the time the bytes take at 16 KB/s.
    const signal = AbortSignal.timeout(60_000 + (blob.size / 16_000) * 1000);
    res = await fetch(signed.url, { method: signed.method || 'PUT', body: blob, headers, credentials: 'omit', cache: 'no-store', signal });
  } catch (e) {
    throw new Offline(String(e));
  }
  if (res.status >= 500) throw new Offline(`upload answered ${res.status}`);
  if (!res.ok) throw new Refused(res.status, await res.json().catch(() => null));
  return true;
}
