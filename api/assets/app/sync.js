// Sync, as the reference device does it (sync::client::device): push the outbox in
// order, 50 at a time, keeping each answer and acknowledging through the server's
// last mutation id; then send the bytes of photos whose declaration the server took;
// then pull page after page, each page applied with its cursor in one transaction,
// until the server has nothing more and its horizon has passed our own last push.
// One sync at a time (a Web Lock shared by the page, other tabs and the worker).
// Anything without an answer is retried with exponential backoff and full jitter;
// what only the user can mend (a rejection, a sign-in that ended, an old app) is kept
// for the status screen.

import * as store from './store.js';
import { Offline, Refused, SignedOut, api } from './net.js';
import { uploadPending } from './photos.js';

const config = () => globalThis.fieldvisitConfig;
export const BATCH = 50;
const PAGE = 200;
const HORIZON_WAIT_MS = 10_000;
const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('fieldvisit-sync');

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// Shanghai time with its offset, as the protocol wants device times.
export function deviceTime(date = new Date()) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 23);
  return `${local}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

async function push() {
  const clientId = await store.clientId();
  for (;;) {
    const batch = (await store.outbox()).slice(0, BATCH);
    if (!batch.length) return;
    const res = await api('/v1/sync/push', {
      method: 'POST',
      body: { client_id: clientId, schema_version: config().schemaVersion, client_time: deviceTime(),
        mutations: batch.map(({ id, name, args }) => ({ id, name, args })) },
    });
    await store.saveResults(res.results, batch);
    const checkpoint = Number(res.checkpoint);
    if (Number.isFinite(checkpoint)) {
      const before = await store.getMeta('awaitingCheckpoint');
      await store.setMeta('awaitingCheckpoint', Math.max(before ?? 0, checkpoint));
    }
    if (res.last_mutation_id < batch[0].id) {
      // The server stops before our first mutation: it lost or never had earlier ones.
      const e = new Error(`stalled at ${batch[0].id}; the server has up to ${res.last_mutation_id}`);
      e.stalled = true;
      throw e;
    }
    await store.acknowledgeThrough(res.last_mutation_id);
  }
}

async function pull() {
  const started = Date.now();
  let pause = 100;
  for (;;) {
    const cursor = await store.getMeta('cursor');
    const q = new URLSearchParams({ client_id: await store.clientId(), limit: String(PAGE),
      schema_version: String(config().schemaVersion) });
    if (cursor) q.set('cursor', cursor);
    let page;
    try {
      page = await api(`/v1/sync/pull?${q}`);
    } catch (e) {
      if (e instanceof Refused && e.code === 'invalid_cursor' && cursor) {
        await store.forgetPulled();
        continue;
      }
      throw e;
    }
    await store.applyPage(page);
    // Mutations the server has, whose answer was lost, are done too.
    await store.acknowledgeThrough(page.last_mutation_id);
    if (page.has_more) continue;
    const awaiting = await store.getMeta('awaitingCheckpoint');
    const horizon = Number(page.horizon);
    if (!awaiting || !Number.isFinite(horizon) || horizon > awaiting) {
      await store.setMeta('awaitingCheckpoint', null);
      return;
    }
    if (Date.now() - started > HORIZON_WAIT_MS) return;
    await sleep(pause);
    pause = Math.min(pause * 2, 1000);
  }
}

// The user-facing state of sync.
async function setState(patch) {
  const now = { ...((await store.getMeta('syncState')) ?? {}), ...patch };
  await store.setMeta('syncState', now);
  channel?.postMessage({ type: 'sync', state: now });
  listeners.forEach((f) => f(now));
  return now;
}
const listeners = new Set();
export const onChange = (f) => { listeners.add(f); };
channel?.addEventListener('message', (e) => { if (e.data?.type === 'sync') listeners.forEach((f) => f(e.data.state)); });

let failures = 0;
let timer = null;

// One round: push, photos, pull. Answers true when it finished.
async function round() {
  await setState({ running: true });
  try {
    await push();
    await uploadPending();
    await pull();
    // A second push and upload for anything queued meanwhile costs nothing when empty.
    await push();
    failures = 0;
    await setState({ running: false, lastSynced: new Date().toISOString(), problem: null, offline: false });
    return true;
  } catch (e) {
    if (e instanceof Offline) {
      failures += 1;
      await setState({ running: false, offline: true, lastTried: new Date().toISOString() });
      return false;
    }
    const problem = e instanceof SignedOut ? 'signed_out'
      : e.status === 426 ? 'update_needed'
        : e.stalled ? 'stalled' : 'error';
    await setState({ running: false, offline: false, problem, message: e.message });
    return false;
  }
}

// Syncs now (one at a time); when it could not reach the server, tries again after a
// backoff: uniform in [0, min(60 s, 1 s × 2^failures)].
export async function sync() {
  clearTimeout(timer);
  const done = navigator.locks
    ? await navigator.locks.request('fieldvisit-sync', round)
    : await round();
  const state = (await store.getMeta('syncState')) ?? {};
  if (!done && state.offline) {
    const cap = Math.min(60_000, 1000 * 2 ** Math.min(failures, 6));
    timer = setTimeout(sync, Math.random() * cap);
  }
  return done;
}

// The service worker's Background Sync: the same round, then the page is told.
export async function syncInWorker() {
  const done = navigator.locks ? await navigator.locks.request('fieldvisit-sync', round) : await round();
  // Not done: let Background Sync try again later.
  if (!done) throw new Error('not synced yet');
}

// Asks the browser to sync when the network returns, even with the app closed.
export async function requestBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.ready;
    await reg?.sync?.register('fieldvisit-outbox');
  } catch { /* Background Sync is Chromium's; elsewhere the page syncs on open and online. */ }
}
