// The phone's own store, in IndexedDB (through idb): what the server sent (records, by
// the buckets that brought them), the outbox of mutations not yet acknowledged, what
// the server answered to each, the photos waiting for their bytes to go, and the
// cursor. The rules mirror sync::client::store: mutation ids grow by one per install,
// a record is dropped when the last bucket that brought it goes, the newer version wins,
// and a page of changes and its cursor are written in one transaction, so a crash
// between the two cannot skip a page or apply one twice.

import { openDB, deleteDB } from '/assets/vendor/idb-8.0.4/index.js';

const NAME = 'fieldvisit';

let opened = null;

export function db() {
  opened ??= openDB(NAME, 1, {
    upgrade(d) {
      d.createObjectStore('meta');
      d.createObjectStore('outbox', { keyPath: 'id' });
      d.createObjectStore('results', { keyPath: 'id' });
      d.createObjectStore('records', { keyPath: ['entity', 'id'] }).createIndex('entity', 'entity');
      d.createObjectStore('photos', { keyPath: 'id' });
    },
    // Another tab or the worker opened a newer version: let it, and reopen later.
    blocking() { opened?.then((x) => x.close()); opened = null; },
  });
  return opened;
}

export async function getMeta(key) { return (await db()).get('meta', key); }
export async function setMeta(key, value) { return (await db()).put('meta', value, key); }

// The install's client id, made once (a UUID v4 from the platform).
export async function clientId() {
  const d = await db();
  const tx = d.transaction('meta', 'readwrite');
  let id = await tx.store.get('clientId');
  if (!id) { id = crypto.randomUUID(); await tx.store.put(id, 'clientId'); }
  await tx.done;
  return id;
}

// Queues a mutation; with `photo`, the photo's bytes and record go in the same
// transaction, so a photo is never declared without its bytes kept, nor kept undeclared.
export async function enqueue(name, args, photo = null) {
  const d = await db();
  const tx = d.transaction(['meta', 'outbox', 'photos'], 'readwrite');
  const meta = tx.objectStore('meta');
  const id = (await meta.get('nextMutationId')) ?? 1;
  await meta.put(id + 1, 'nextMutationId');
  await tx.objectStore('outbox').put({ id, name, args, queuedAt: new Date().toISOString() });
  if (photo) await tx.objectStore('photos').put({ ...photo, declareMutationId: id, state: 'waiting', attempts: 0 });
  await tx.done;
  return id;
}

export async function outbox() { return (await db()).getAll('outbox'); }

// Every mutation through `id` is taken by the server (applied, duplicate or rejected).
export async function acknowledgeThrough(id) {
  const d = await db();
  const tx = d.transaction('outbox', 'readwrite');
  let cursor = await tx.store.openCursor(IDBKeyRange.upperBound(id));
  while (cursor) { await cursor.delete(); cursor = await cursor.continue(); }
  await tx.done;
}

// Keeps what the server answered, with what was sent (the screens show verdicts and
// rejections by what they were about).
export async function saveResults(results, sent) {
  const d = await db();
  const tx = d.transaction('results', 'readwrite');
  for (const r of results) {
    const m = sent.find((s) => s.id === r.id);
    const before = await tx.store.get(r.id);
    // A duplicate's answer names what happened the first time; keep the first answer's data.
    const kept = before && r.status === 'duplicate' ? { ...before, ...r, data: r.data ?? before.data } : r;
    await tx.store.put({ ...kept, name: m?.name ?? before?.name, args: m?.args ?? before?.args });
  }
  await tx.done;
}

export async function results() { return (await db()).getAll('results'); }

export async function dismissResult(id) {
  const d = await db();
  const r = await d.get('results', id);
  if (r) await d.put('results', { ...r, dismissed: true });
}

// What became of a mutation first time: applied or rejected (a duplicate names it).
export const firstOutcome = (r) => (r.status === 'duplicate' ? r.original : r.status);

// Applies one pull page and saves its cursor, in one transaction.
export async function applyPage(page) {
  const d = await db();
  const tx = d.transaction(['records', 'meta'], 'readwrite');
  const records = tx.objectStore('records');
  for (const b of page.buckets) {
    if (b.event === 'removed' || b.event === 'reset') {
      let cursor = await records.openCursor();
      while (cursor) {
        const r = cursor.value;
        if (r.buckets.includes(b.id)) {
          const left = r.buckets.filter((x) => x !== b.id);
          if (left.length) await cursor.update({ ...r, buckets: left }); else await cursor.delete();
        }
        cursor = await cursor.continue();
      }
    }
  }
  for (const c of page.changes) {
    const key = [c.entity, c.id];
    const r = await records.get(key);
    if (c.op === 'upsert') {
      const buckets = [...new Set([...(r?.buckets ?? []), c.bucket])];
      // Two buckets may carry one record at different moments: the newer version wins.
      // (An upsert may come without data when the row went between the server's two
      // reads; the delete follows. Keep what the phone has until then.)
      const newer = (!r || c.version >= r.version) && c.data !== undefined && c.data !== null;
      if (!r && !newer) continue;
      await records.put({ entity: c.entity, id: c.id, version: newer ? c.version : r.version,
        data: newer ? c.data : r.data, buckets });
    } else if (r) {
      const left = r.buckets.filter((x) => x !== c.bucket);
      if (left.length) await records.put({ ...r, buckets: left }); else await records.delete(key);
    }
  }
  await tx.objectStore('meta').put(page.cursor, 'cursor');
  await tx.done;
}

// A cursor the server no longer accepts: forget what was pulled and bootstrap again.
export async function forgetPulled() {
  const d = await db();
  const tx = d.transaction(['records', 'meta'], 'readwrite');
  await tx.objectStore('records').clear();
  await tx.objectStore('meta').delete('cursor');
  await tx.done;
}

export async function entities(entity) {
  return (await (await db()).getAllFromIndex('records', 'entity', entity)).map((r) => r.data).filter((d) => d);
}

export async function photos() { return (await db()).getAll('photos'); }
export async function photo(id) { return (await db()).get('photos', id); }
export async function putPhoto(p) { return (await db()).put('photos', p); }

// Signing out clears the device: every record, the outbox, the photos and the cursor.
export async function wipe() {
  // Not under a sync of the worker's, which would write into a new database after it.
  const go = async () => {
    if (opened) { (await opened).close(); opened = null; }
    await deleteDB(NAME);
  };
  await (navigator.locks ? navigator.locks.request('fieldvisit-sync', go) : go());
}
