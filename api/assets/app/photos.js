// Photos on the phone, as sync::client::photos does it. A photo is made smaller here
// when its longer side is above the server's configured size (a phone camera's 12
// megapixels cost minutes on a rural link), hashed with WebCrypto SHA-256, kept in the
// store with its declaration (`photo.declare.v1`) in the outbox, and its bytes follow
// once the server has taken the declaration: an upload URL, a PUT there, `complete`.
// Whatever breaks on the way (a PUT cut mid-body, an answer lost), the phone does the
// same thing next time: ask `complete` whether the bytes arrived, and only if not,
// send them again. Nothing is declared twice; a photo sent whole is not sent again.

import * as store from './store.js';
import { Offline, Refused, api, put } from './net.js';

const config = () => globalThis.fieldvisitConfig;
const ROUNDS = 4;

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

// The bytes to send for a picked file: downscaled JPEG when larger than the
// configured size (or when the browser cannot say what the file is), else as taken.
export async function prepare(file) {
  const max = config().photoMaxPx;
  let blob = file;
  let width = null;
  let height = null;
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    ({ width, height } = bitmap);
    if (Math.max(width, height) > max) {
      const scale = max / Math.max(width, height);
      width = Math.round(width * scale);
      height = Math.round(height * scale);
      const canvas = typeof OffscreenCanvas === 'undefined'
        ? Object.assign(document.createElement('canvas'), { width, height })
        : new OffscreenCanvas(width, height);
      canvas.getContext('2d').drawImage(bitmap, 0, 0, width, height);
      blob = canvas.convertToBlob
        ? await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 })
        : await new Promise((r) => { canvas.toBlob(r, 'image/jpeg', 0.85); });
    }
    bitmap.close?.();
  } catch {
    // A format this browser cannot draw (HEIC on most): sent as taken; the server reads it.
  }
  if (blob.size > config().photoMaxBytes) {
    const e = new Error('photo too large');
    e.tooLarge = true;
    throw e;
  }
  const sha256 = hex(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
  return { blob, sha256, size: blob.size, mime: blob.type || file.type || 'image/jpeg', width, height };
}

// `complete`: the server's answer once it holds the bytes, null when they must be sent.
async function complete(id) {
  try {
    const done = await api(`/v1/photos/${id}/complete`, { method: 'POST' });
    return done?.status === 'uploaded' ? done : null;
  } catch (e) {
    if (e instanceof Refused && e.status === 409 && ['not_uploaded', 'size_mismatch', 'hash_mismatch'].includes(e.code)) {
      return null;
    }
    throw e;
  }
}

// Sends one photo's bytes until `complete` says the server has them.
async function upload(p) {
  for (let round = 0; round < ROUNDS; round += 1) {
    if (p.askFirst) {
      if (await complete(p.id)) return true;
      p.askFirst = false;
    }
    let signed;
    try {
      signed = await api(`/v1/photos/${p.id}/upload-url`, { method: 'POST' });
    } catch (e) {
      if (e instanceof Refused && e.code === 'already_uploaded') { p.askFirst = true; continue; }
      throw e;
    }
    p.attempts += 1;
    p.state = 'uploading';
    await store.putPhoto(p);
    try {
      await put(signed, p.blob);
    } catch (e) {
      if (e instanceof Offline) {
        // No answer: the bytes may have arrived all the same. Ask before sending again.
        p.askFirst = true;
        await store.putPhoto(p);
        throw e;
      }
      if (e instanceof Refused && e.code === 'already_uploaded') { p.askFirst = true; continue; }
      if (e instanceof Refused && e.status === 413) throw e;
      continue; // an expired URL, a short body: a new round mends it
    }
    if (await complete(p.id)) return true;
  }
  return false;
}

// Every photo whose declaration the server has taken and whose bytes it has not.
export async function uploadPending() {
  const answers = new Map((await store.results()).map((r) => [r.id, r]));
  for (const p of await store.photos()) {
    if (p.state === 'uploaded' || p.state === 'failed') continue;
    const declared = answers.get(p.declareMutationId);
    if (!declared) continue; // not yet pushed
    if (store.firstOutcome(declared) === 'rejected') {
      await store.putPhoto({ ...p, state: 'failed', error: declared.reason, blob: null });
      continue;
    }
    try {
      if (await upload(p)) {
        // The server has it (and will make the thumbnail): the phone's copy can go.
        await store.putPhoto({ ...p, state: 'uploaded', blob: null, askFirst: false, uploadedAt: new Date().toISOString() });
      }
    } catch (e) {
      // Too large or not an image: it can never succeed, and the bytes go. Any other
      // refusal (a session to renew, an app to update) is shown and tried again later,
      // the bytes kept, as the reference device does.
      if (e instanceof Refused && (e.status === 413 || e.status === 415)) {
        await store.putPhoto({ ...p, state: 'failed', error: e.message, blob: null });
        continue;
      }
      if (e instanceof Refused) {
        await store.putPhoto({ ...p, error: e.message });
        continue;
      }
      throw e;
    }
  }
}
