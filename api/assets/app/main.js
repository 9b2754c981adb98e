// The field app's screens: this month's places, a place (check in, file a finding with
// photos), my issues (comment, confirm with a rating, dispute), the map, and the sync
// status with the settings. Every screen is drawn from the phone's own store, so it
// works without a signal; every action goes into the outbox and is pushed when the
// network lets it.

import * as store from './store.js';
import * as syncer from './sync.js';
import { Offline, SignedOut, api, pageCsrf } from './net.js';
import { prepare } from './photos.js';
import { bestFix, roughFix } from './locate.js';
import { monthOf, myCheckIns, thisMonth } from './month.js';
import * as i18n from './i18n.js';

const { t, when, metres } = i18n;
globalThis.fieldvisitConfig = JSON.parse(document.getElementById('fv-config').textContent);
const config = globalThis.fieldvisitConfig;

const S = { me: null, position: null, busy: false, notice: null };
const $ = (id) => document.getElementById(id);
const screen = $('screen');

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

// ---- what the store holds, for a screen ----

async function snapshot() {
  const [places, assignments, checkInRecords, results, outbox, photos, photoRecords, findings, issues, categories,
    departments, syncState] = await Promise.all([
    store.entities('place'), store.entities('assignment'), store.entities('check_in'), store.results(),
    store.outbox(), store.photos(), store.entities('photo'), store.entities('finding'), store.entities('issue'),
    store.entities('finding_category'), store.entities('department'), store.getMeta('syncState')]);
  const personId = S.me?.id;
  const checkIns = myCheckIns({ records: checkInRecords, results, outbox, personId });
  const month = monthOf(new Date());
  const now = thisMonth({ places, assignments, checkIns, personId, month, position: S.position });
  const waitingPhotos = photos.filter((p) => p.state !== 'uploaded' && p.state !== 'failed').length;
  // What the screens show changed only if this did (a sync that brought nothing new
  // must not redraw under a finger about to tap).
  const versions = (xs) => xs.reduce((n, x) => n + (x.version ?? x.properties?.version ?? 0), 0);
  const route = window.location.hash.slice(1).split('/')[0];
  const signature = JSON.stringify([outbox.map((m) => m.id), results.map((r) => [r.id, r.status, r.dismissed]),
    photos.map((p) => p.state), [places, assignments, checkInRecords, photoRecords, findings, issues].map((xs) => [xs.length, versions(xs)]),
    syncState?.problem ?? null, month, !!S.position,
    route === 'me' ? [syncState?.running, syncState?.lastSynced, syncState?.offline] : null]);
  return { places, assignments, checkIns, results, outbox, photos, photoRecords, findings, issues, categories,
    departments, syncState: syncState ?? {}, month, now, personId, pending: outbox.length + waitingPhotos, signature };
}

// ---- words for what the server said ----

// Why the server refused a mutation: in the app's words when the code is one it
// knows, else the server's own.
const refusal = (r) => (r.code && i18n.has(`code.${r.code}`) ? t(`code.${r.code}`) : r.reason ?? r.code);

export function verdictText(c) {
  if (c.state === 'pending') return t('verdict.pending');
  if (c.state === 'rejected') return t('verdict.rejected', { reason: refusal(c) });
  let text;
  if (c.verdict === 'verified') text = t('verdict.verified', { distance: metres(c.distance_m ?? 0) });
  else if (c.verdict === 'outside_geofence') {
    text = t('verdict.outside_geofence', { distance: metres(c.distance_m), geofence: metres(c.geofence_m) });
  } else if (c.verdict === 'low_accuracy') {
    text = t('verdict.low_accuracy', { accuracy: metres(c.accuracy_m), limit: metres(config.maxAccuracyM) });
  } else {
    const why = (c.reasons ?? []).filter((r) => r !== 'outside_geofence' && r !== 'low_accuracy')
      .map((r) => t(`reason.${r}`)).join('；');
    text = t('verdict.suspicious', { why: why || t('reason.unknown') });
  }
  if (c.review === 'accepted') text += t('review.accepted');
  if (c.review === 'rejected') text += t('review.rejected');
  return text;
}
const verdictClass = (c) => (c.state === 'pending' ? 'pending' : c.state === 'rejected' ? 'bad'
  : c.review === 'accepted' || (c.verdict === 'verified' && c.review !== 'rejected') ? 'good' : 'bad');

const kindLabel = (k) => t(`kind.${k}`);
const statusPill = (s) => el('span', { class: `pill ${s}` }, t(`status.${s}`));

// ---- the frame: the sync badge, the tabs ----

function badge(snap) {
  const b = $('sync-badge');
  b.onclick = () => { window.location.hash = 'me'; };
  const s = snap.syncState;
  b.className = 'badge';
  if (s.problem) { b.classList.add('bad'); b.textContent = t('sync.needs_you'); } else if (s.running) {
    b.textContent = t('sync.running');
  } else if (snap.pending > 0) {
    b.classList.add(s.offline ? 'offline' : 'pending');
    b.textContent = s.offline ? t('sync.offline_pending', { n: snap.pending }) : t('sync.pending', { n: snap.pending });
  } else if (s.offline) { b.classList.add('offline'); b.textContent = t('sync.offline'); } else {
    b.textContent = s.lastSynced ? t('sync.synced', { at: i18n.lately(s.lastSynced) }) : t('sync.never');
  }
  // For whoever watches the page (the tests, a support person): the sync's state.
  document.body.dataset.pending = String(snap.pending);
  document.body.dataset.sync = s.running ? 'running' : s.problem ? 'problem' : s.offline ? 'offline' : 'idle';
}

function tabs(active) {
  $('tabs').hidden = false;
  for (const b of $('tabs').querySelectorAll('button')) {
    b.textContent = t(`tab.${b.dataset.tab}`);
    b.classList.toggle('active', b.dataset.tab === active);
    b.onclick = () => { window.location.hash = b.dataset.tab; };
  }
}

function notice() {
  if (!S.notice) return null;
  const n = el('p', { class: `notice ${S.notice.kind ?? ''}`, role: 'status', id: 'notice' }, S.notice.text);
  S.notice = null;
  return n;
}

// ---- screens ----

function monthScreen(snap) {
  const { list, counts } = snap.now;
  const [y, m] = snap.month.split('-');
  // When this month's places first show (the first-load benchmark reads it).
  if (list.length && !document.body.dataset.monthShownMs) document.body.dataset.monthShownMs = String(Math.round(performance.now()));
  const items = list.map((x) => el('li', {},
    el('button', { class: `place ${x.status}`, 'data-place': x.place.id, onclick: () => { window.location.hash = `place/${x.place.id}`; } },
      el('span', { class: 'name' }, x.place.properties.name),
      el('span', { class: 'meta' }, kindLabel(x.place.properties.kind),
        x.distance === null ? null : ` · ${metres(x.distance)}`),
      el('span', { class: 'state' }, statusPill(x.status),
        x.pending ? el('span', { class: 'pill pending' }, t('status.pending_n', { n: x.pending })) : null))));
  return [
    el('h2', {}, t('month.title', { year: y, month: Number(m) })),
    el('p', { class: 'counts', id: 'month-counts' },
      el('span', {}, t('month.total', { n: counts.total })),
      el('span', { class: 'visited' }, t('month.visited', { n: counts.visited })),
      el('span', { class: 'due' }, t('month.due', { n: counts.due })),
      el('span', { class: 'overdue' }, t('month.overdue', { n: counts.overdue }))),
    S.position ? null : el('p', { class: 'hint' }, t('month.no_position')),
    list.length ? el('ul', { class: 'places', id: 'month-list' }, items)
      : el('p', { class: 'empty', id: 'month-list' }, t('month.none')),
  ];
}

function photoThumb(p, record) {
  const img = el('img', { alt: t('finding.photo'), class: 'thumb', 'data-photo': p?.id ?? record.id });
  if (p?.blob) img.src = URL.createObjectURL(p.blob);
  if (record?.thumbnail_ready) {
    img.dataset.server = 'true';
    api(`/v1/photos/${record.id}/thumbnail`).then((r) => { img.src = r.url; }).catch(() => {});
  }
  const state = p?.state === 'failed' ? t('photo.failed', { why: p.error ?? '' })
    : record?.thumbnail_ready ? t('photo.on_server') : record || p?.state === 'uploaded' ? t('photo.uploaded')
      : p?.state === 'uploading' ? t('photo.uploading') : t('photo.waiting');
  return el('figure', { class: 'photo' }, img, el('figcaption', {}, state));
}

function findingCard(f, snap) {
  const local = snap.photos.filter((p) => p.findingId === f.id);
  const remote = snap.photoRecords.filter((r) => r.finding_id === f.id);
  const ids = [...new Set([...local.map((p) => p.id), ...remote.map((r) => r.id)])];
  return el('li', { class: 'finding', 'data-finding': f.id },
    el('p', {}, el('strong', {}, categoryLabel(snap, f.category)), ' · ', t(`severity.${f.severity}`),
      f.pending ? el('span', { class: 'pill pending' }, t('status.queued')) : null),
    el('p', {}, f.description),
    el('div', { class: 'photos' }, ids.map((id) => photoThumb(local.find((p) => p.id === id),
      remote.find((r) => r.id === id)))));
}

function categoryLabel(snap, code) {
  const c = snap.categories.find((x) => x.code === code);
  return c ? (i18n.lang === 'zh' ? c.label_zh : c.label_en) : code;
}

function myFindings(snap, placeId) {
  const known = snap.findings.filter((f) => f.person_id === snap.personId && f.place_id === placeId);
  const ids = new Set(known.map((f) => f.id));
  const queued = [...snap.results.filter((r) => r.name === 'finding.create.v1' && store.firstOutcome(r) !== 'rejected'),
    ...snap.outbox.filter((m) => m.name === 'finding.create.v1').map((m) => ({ args: m.args, pending: true }))]
    .filter((r) => r.args.place_id === placeId && !ids.has(r.args.id))
    .map((r) => ({ ...r.args, pending: !!r.pending }));
  return [...queued, ...known];
}

function placeScreen(snap, id) {
  const place = snap.places.find((p) => p.id === id);
  if (!place) return [el('p', { class: 'empty' }, t('place.gone'))];
  const entry = snap.now.list.find((x) => x.place.id === id);
  const mine = snap.checkIns.filter((c) => c.place_id === id);
  const status = el('div', { id: 'checkin-status', 'aria-live': 'polite' });
  const checkIn = el('button', { class: 'primary big', id: 'check-in', onclick: () => doCheckIn(place, status, checkIn) },
    t('place.check_in'));
  const visits = mine.slice(0, 10).map((c) => el('li', { class: `visit ${verdictClass(c)}`, 'data-check-in': c.id },
    el('span', { class: 'when' }, when(c.visited_at || c.device_time)),
    el('span', { class: 'verdict' }, verdictText(c)),
    c.state !== 'rejected' && (c.state === 'pending' || c.month === snap.month)
      ? el('button', { class: 'secondary', 'data-finding-for': c.id, onclick: () => { window.location.hash = `finding/${c.id}`; } },
        t('place.file_finding'))
      : null));
  const findings = myFindings(snap, id);
  return [
    el('button', { class: 'back', onclick: () => { window.location.hash = 'month'; } }, t('nav.back')),
    el('h2', {}, place.properties.name),
    el('p', { class: 'meta' }, kindLabel(place.properties.kind), place.properties.address ? ` · ${place.properties.address}` : ''),
    entry ? el('p', {}, statusPill(entry.status), entry.distance === null ? '' : ` ${t('place.distance', { d: metres(entry.distance) })}`) : null,
    checkIn, status,
    el('h3', {}, t('place.my_visits')),
    visits.length ? el('ul', { class: 'visits', id: 'visits' }, visits) : el('p', { class: 'empty' }, t('place.no_visits')),
    el('h3', {}, t('place.my_findings')),
    findings.length ? el('ul', { class: 'findings', id: 'findings' }, findings.map((f) => findingCard(f, snap)))
      : el('p', { class: 'empty' }, t('place.no_findings')),
  ];
}

async function doCheckIn(place, status, button) {
  button.disabled = true;
  S.busy = true;
  const show = (text, kind = '') => { status.replaceChildren(el('p', { class: `notice ${kind}` }, text)); };
  const limit = config.maxAccuracyM;
  show(t('locate.waiting'));
  let fix;
  try {
    fix = await bestFix({ goodM: Math.min(30, limit / 2), waitMs: 8000,
      onFix: (f) => show(t('locate.improving', { accuracy: metres(f.accuracy) })) });
  } catch (e) {
    show(e.code === 1 ? t('locate.denied') : t('locate.unavailable'), 'bad');
    button.disabled = false;
    S.busy = false;
    return;
  }
  if (fix.accuracy > limit) {
    // A fix this coarse cannot verify the visit: say so, and let the person choose.
    const again = el('button', { class: 'secondary', id: 'locate-again', onclick: () => { status.replaceChildren(); doCheckIn(place, status, button); } }, t('locate.again'));
    const anyway = el('button', { class: 'secondary', id: 'send-anyway', onclick: (e) => {
      e.currentTarget.disabled = true;
      queueCheckIn(place, fix, status);
    } }, t('locate.anyway'));
    status.replaceChildren(el('p', { class: 'notice bad', id: 'poor-fix' },
      t('locate.poor', { accuracy: metres(fix.accuracy), limit: metres(limit) })), again, anyway);
    S.busy = false;
    return;
  }
  await queueCheckIn(place, fix, status);
}

async function queueCheckIn(place, fix, status) {
  const args = { id: crypto.randomUUID(), place_id: place.id,
    position: { lon: fix.lon, lat: fix.lat, crs: 'wgs84' }, accuracy_m: Math.round(fix.accuracy * 10) / 10,
    device_time: syncer.deviceTime(), mock_location: false };
  try {
    await store.enqueue('checkin.create.v1', args);
    S.notice = { text: t('checkin.queued'), kind: 'good' };
  } catch (e) {
    S.notice = { text: String(e.message ?? e), kind: 'bad' };
  } finally {
    S.busy = false;
  }
  status.replaceChildren();
  await draw();
  syncer.requestBackgroundSync();
  syncer.sync();
}

function findingScreen(snap, checkInId) {
  const c = snap.checkIns.find((x) => x.id === checkInId);
  if (!c) return [el('p', { class: 'empty' }, t('place.gone'))];
  const picked = [];
  const preview = el('div', { class: 'photos', id: 'picked' });
  const category = el('select', { id: 'finding-category', required: true },
    [...snap.categories].sort((a, b) => a.sort - b.sort).map((x) => el('option', { value: x.code }, i18n.lang === 'zh' ? x.label_zh : x.label_en)));
  const severity = el('select', { id: 'finding-severity' },
    ['low', 'medium', 'high', 'urgent'].map((s) => el('option', { value: s, selected: s === 'medium' }, t(`severity.${s}`))));
  const description = el('textarea', { id: 'finding-description', rows: 4, required: true, maxlength: 2000 });
  const files = el('input', { type: 'file', class: 'picker', id: 'finding-photos', accept: 'image/*', capture: 'environment', multiple: true });
  const drawPicked = () => preview.replaceChildren(...picked.map((f, i) => el('figure', { class: 'photo' },
    el('img', { class: 'thumb', src: URL.createObjectURL(f), alt: f.name }),
    el('button', { type: 'button', class: 'link', onclick: () => { picked.splice(i, 1); drawPicked(); } }, t('finding.remove_photo')))));
  files.addEventListener('change', () => { picked.push(...files.files); files.value = ''; drawPicked(); });
  const error = el('p', { class: 'error', role: 'alert', id: 'finding-error' });
  const submit = el('button', { type: 'submit', class: 'primary big', id: 'finding-submit' }, t('finding.submit'));
  const form = el('form', { id: 'finding-form' },
    el('label', { for: 'finding-category' }, t('finding.category')), category,
    el('label', { for: 'finding-severity' }, t('finding.severity')), severity,
    el('label', { for: 'finding-description' }, t('finding.description')), description,
    el('label', { for: 'finding-photos', class: 'camera' }, t('finding.add_photo')), files, preview, error, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!description.value.trim()) { error.textContent = t('finding.needs_description'); return; }
    submit.disabled = true;
    S.busy = true;
    try {
      const prepared = [];
      for (const [i, f] of picked.entries()) {
        submit.textContent = t('finding.preparing', { i: i + 1, n: picked.length });
        prepared.push(await prepare(f));
      }
      const findingId = crypto.randomUUID();
      await store.enqueue('finding.create.v1', { id: findingId, place_id: c.place_id, check_in_id: c.id,
        category: category.value, description: description.value.trim(), severity: severity.value,
        position: c.position ? { lon: c.position.lon, lat: c.position.lat, crs: c.position.crs ?? 'wgs84' } : null });
      for (const p of prepared) {
        const id = crypto.randomUUID();
        await store.enqueue('photo.declare.v1', { id, sha256: p.sha256, size: p.size, mime: p.mime, attached_to: { finding: findingId } },
          { id, blob: p.blob, sha256: p.sha256, size: p.size, mime: p.mime, findingId, createdAt: new Date().toISOString() });
      }
      S.notice = { text: t('finding.queued', { n: prepared.length }), kind: 'good' };
      S.busy = false;
      window.location.hash = `place/${c.place_id}`;
      syncer.requestBackgroundSync();
      syncer.sync();
    } catch (err) {
      S.busy = false;
      submit.disabled = false;
      submit.textContent = t('finding.submit');
      error.textContent = err.tooLarge ? t('finding.too_large') : String(err.message ?? err);
    }
  });
  const place = snap.places.find((p) => p.id === c.place_id);
  return [
    el('button', { class: 'back', onclick: () => { window.location.hash = `place/${c.place_id}`; } }, t('nav.back')),
    el('h2', {}, t('finding.title')),
    el('p', { class: 'meta' }, place?.properties.name ?? '', ' · ', when(c.visited_at || c.device_time)),
    form,
  ];
}

const ISSUE_STATES_OPEN = ['new', 'accepted', 'forwarded', 'in_progress', 'answered', 'returned'];

function myIssues(snap) {
  return snap.issues.filter((i) => (i.raiser_ids ?? []).includes(snap.personId))
    .sort((a, b) => (a.raised_at < b.raised_at ? 1 : -1));
}

function issuesScreen(snap) {
  const list = myIssues(snap);
  return [
    el('h2', {}, t('issues.title')),
    list.length ? el('ul', { class: 'issues', id: 'issue-list' }, list.map((i) => el('li', {},
      el('button', { class: 'issue', 'data-issue': i.id, onclick: () => { window.location.hash = `issue/${i.id}`; } },
        el('span', { class: 'name' }, `${i.number} ${i.title}`),
        el('span', { class: 'meta' }, when(i.raised_at), i.deadline ? ` · ${t('issue.deadline', { d: i.deadline })}` : ''),
        el('span', { class: 'state' }, el('span', { class: `pill state-${i.state}` }, t(`state.${i.state}`)))))))
      : el('p', { class: 'empty', id: 'issue-list' }, t('issues.none')),
  ];
}

function issueScreen(snap, id) {
  const issue = snap.issues.find((i) => i.id === id);
  if (!issue) return [el('p', { class: 'empty' }, t('place.gone'))];
  // Steps queued, and those the server took that no pull has shown yet (their id names
  // the history entry): either way, not to be taken twice.
  const entries = new Set((issue.history ?? []).map((h) => h.id));
  const queued = [...snap.outbox.filter((m) => m.name.startsWith('issue.') && m.args.issue_id === id),
    ...snap.results.filter((r) => r.name?.startsWith('issue.') && r.args?.issue_id === id
      && store.firstOutcome(r) === 'applied' && !entries.has(r.args.id))];
  const refused = snap.results.filter((r) => r.name?.startsWith('issue.') && r.args?.issue_id === id
    && store.firstOutcome(r) === 'rejected' && !r.dismissed);
  const place = snap.places.find((p) => p.id === issue.place_id);
  const dept = snap.departments.find((d) => d.id === issue.department_id);
  const history = (issue.history ?? []).map((h) => el('li', {},
    el('span', { class: 'when' }, when(h.at)), ' ', el('strong', {}, h.actor_name), ' ',
    t(`action.${h.action}`), h.to_state && h.to_state !== h.from_state ? ` → ${t(`state.${h.to_state}`)}` : '',
    h.note ? el('p', { class: 'note' }, h.note) : null));
  const pendingItems = queued.map((m) => el('li', { class: 'pending' }, el('span', { class: 'pill pending' }, t('status.queued')), ' ',
    t(`mutation.${m.name}`), m.args.rating ? ` ${'★'.repeat(m.args.rating)}` : '', m.args.note ? el('p', { class: 'note' }, m.args.note) : null));
  const actions = [];
  const error = el('p', { class: 'error', role: 'alert', id: 'issue-error' });
  const note = el('textarea', { id: 'issue-note', rows: 3, maxlength: 2000, placeholder: t('issue.note') });
  const act = async (name, args, needsNote) => {
    if (needsNote && !note.value.trim()) { error.textContent = t('issue.needs_note'); return; }
    await store.enqueue(name, { id: crypto.randomUUID(), issue_id: id, ...args, ...(note.value.trim() ? { note: note.value.trim() } : {}) });
    S.notice = { text: t('issue.queued'), kind: 'good' };
    await draw();
    syncer.requestBackgroundSync();
    syncer.sync();
  };
  if (!queued.length && ISSUE_STATES_OPEN.includes(issue.state)) {
    actions.push(note);
    if (issue.state === 'answered') {
      let rating = 0;
      const stars = el('div', { class: 'stars', role: 'radiogroup', 'aria-label': t('issue.rating') },
        [1, 2, 3, 4, 5].map((n) => el('button', { type: 'button', role: 'radio', 'aria-checked': 'false', 'data-rating': n,
          onclick: (e) => {
            rating = n;
            error.textContent = '';
            for (const s of e.currentTarget.parentNode.children) {
              s.setAttribute('aria-checked', String(Number(s.dataset.rating) <= n));
              s.classList.toggle('on', Number(s.dataset.rating) <= n);
            }
          } }, '★')));
      actions.push(el('p', {}, t('issue.rate')), stars,
        el('button', { class: 'primary big', id: 'issue-confirm', onclick: () => {
          if (!rating) { error.textContent = t('issue.needs_rating'); return; }
          act('issue.confirm.v1', { rating }, false);
        } }, t('issue.confirm')),
        el('button', { class: 'secondary', id: 'issue-dispute', onclick: () => act('issue.dispute.v1', {}, true) }, t('issue.dispute')));
    }
    actions.push(el('button', { class: 'secondary', id: 'issue-comment', onclick: () => act('issue.comment.v1', {}, true) }, t('issue.comment')));
    actions.push(error);
  }
  return [
    el('button', { class: 'back', onclick: () => { window.location.hash = 'issues'; } }, t('nav.back')),
    el('h2', {}, `${issue.number} ${issue.title}`),
    el('p', {}, el('span', { class: `pill state-${issue.state}`, id: 'issue-state' }, t(`state.${issue.state}`)),
      issue.satisfaction ? ` ${'★'.repeat(issue.satisfaction)}` : ''),
    el('p', { class: 'meta' }, place?.properties.name ?? '', dept ? ` · ${i18n.lang === 'zh' ? dept.name_zh : dept.name_en}` : '',
      issue.deadline ? ` · ${t('issue.deadline', { d: issue.deadline })}` : ''),
    el('p', {}, issue.description),
    issue.answer ? el('div', { class: 'answer' }, el('h3', {}, t('issue.answer')), el('p', {}, issue.answer)) : null,
    refused.map((r) => el('p', { class: 'notice bad' }, t('issue.refused', { reason: refusal(r) }))),
    el('div', { class: 'actions', id: 'issue-actions' }, actions),
    el('h3', {}, t('issue.history')),
    el('ul', { class: 'history', id: 'issue-history' }, pendingItems, [...history].reverse()),
  ];
}

function mapScreen(snap) {
  const box = el('div', { id: 'map', class: 'map' });
  const legend = el('p', { class: 'legend' }, ['visited', 'due', 'overdue'].map((s) => statusPill(s)));
  import('./map.js').then((m) => m.show(box, snap.now.list, S.position)).catch((e) => {
    box.replaceChildren(el('p', { class: 'empty' }, t('map.unavailable'), ' ', String(e.message ?? '')));
  });
  return [legend, box];
}

function meScreen(snap) {
  const s = snap.syncState;
  const problems = [];
  if (s.problem) problems.push(el('li', { class: 'bad', id: 'sync-problem' }, t(`problem.${s.problem}`),
    s.problem === 'signed_out' ? el('a', { href: '/login?next=/app', class: 'button' }, t('me.sign_in')) : null));
  for (const r of snap.results.filter((x) => store.firstOutcome(x) === 'rejected' && !x.dismissed)) {
    problems.push(el('li', { class: 'bad', 'data-rejected': r.id }, t('me.rejected', { what: t(`mutation.${r.name}`), reason: refusal(r) }),
      el('button', { class: 'link', onclick: async () => { await store.dismissResult(r.id); draw(); } }, t('me.dismiss'))));
  }
  for (const p of snap.photos.filter((x) => x.state === 'failed')) {
    problems.push(el('li', { class: 'bad' }, t('photo.failed', { why: p.error ?? '' })));
  }
  const langs = ['zh', 'en'].map((l) => el('button', { class: l === i18n.lang ? 'secondary on' : 'secondary', 'data-lang': l,
    onclick: async () => { i18n.choose(l); await i18n.load(l); draw(); } }, l === 'zh' ? '中文' : 'English'));
  return [
    el('h2', {}, S.me?.name ?? ''),
    el('p', { class: 'meta' }, S.me?.username ?? ''),
    el('h3', {}, t('me.sync')),
    el('dl', { class: 'sync', id: 'sync-status' },
      el('dt', {}, t('me.pending')), el('dd', { id: 'sync-pending' }, String(snap.pending)),
      el('dt', {}, t('me.last_synced')), el('dd', { id: 'sync-last' }, s.lastSynced ? when(s.lastSynced) : t('sync.never')),
      el('dt', {}, t('me.network')), el('dd', {}, s.offline || !navigator.onLine ? t('me.offline') : t('me.online'))),
    el('button', { class: 'primary big', id: 'sync-now', onclick: () => syncer.sync() }, t('me.sync_now')),
    problems.length ? el('ul', { class: 'problems', id: 'problems' }, problems) : el('p', { class: 'empty' }, t('me.no_problems')),
    el('h3', {}, t('me.language')), el('div', { class: 'langs' }, langs),
    el('button', { class: 'secondary danger', id: 'sign-out', onclick: () => signOut(snap) }, t('me.sign_out')),
  ];
}

async function signOut(snap) {
  if (snap.pending > 0 && !window.confirm(t('me.sign_out_pending', { n: snap.pending }))) return;
  const body = new URLSearchParams({ csrf: pageCsrf() });
  try { await fetch('/logout', { method: 'POST', body, credentials: 'same-origin', redirect: 'manual' }); } catch { /* offline: the cookies go with the data */ }
  await store.wipe();
  window.location.href = '/login?next=/app';
}

// ---- drawing ----

async function draw(given) {
  const snap = given instanceof Event || !given ? await snapshot() : given;
  S.drawn = snap.signature;
  $('title').textContent = t('app.title');
  badge(snap);
  const [route, arg] = (window.location.hash.slice(1) || 'month').split('/');
  const tab = { place: 'month', finding: 'month', issue: 'issues' }[route] ?? route;
  tabs(tab);
  document.body.dataset.screen = route;
  const content = {
    month: () => monthScreen(snap), place: () => placeScreen(snap, arg), finding: () => findingScreen(snap, arg),
    issues: () => issuesScreen(snap), issue: () => issueScreen(snap, arg), map: () => mapScreen(snap), me: () => meScreen(snap),
  }[route] ?? (() => monthScreen(snap));
  screen.replaceChildren(...[notice(), content()].flat(Infinity).filter(Boolean));
  document.body.dataset.ready = 'true';
}

// Redraw after a sync when what it shows changed, unless the person is in the middle
// of something.
async function refresh() {
  const route = window.location.hash.slice(1).split('/')[0];
  const snap = await snapshot();
  badge(snap);
  if (S.busy || route === 'finding' || route === 'map' || document.activeElement?.tagName === 'TEXTAREA') return;
  if (snap.signature !== S.drawn) await draw(snap);
}

function signInScreen(why) {
  $('tabs').hidden = true;
  screen.replaceChildren(el('div', { class: 'signin' }, el('p', {}, t(why)),
    el('a', { class: 'button primary big', href: '/login?next=/app', id: 'go-sign-in' }, t('me.sign_in'))));
}

// ---- start ----

// Listening and drawing, once who is signed in is known (from the phone's store or
// the server, whichever answers first).
let begun = false;
async function begin() {
  if (begun) return;
  begun = true;
  window.addEventListener('hashchange', draw);
  syncer.onChange(refresh);
  window.addEventListener('online', () => syncer.sync());
  window.addEventListener('offline', refresh);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') syncer.sync(); });
  setInterval(() => syncer.sync(), 5 * 60_000);
  roughFix().then((p) => { if (p) { S.position = p; refresh(); } });
  await draw();
}

async function start() {
  const hadWorker = !!navigator.serviceWorker?.controller;
  await i18n.load();
  $('title').textContent = t('app.title');
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app', type: 'module' })
      .catch(() => navigator.serviceWorker.register('/app/sw-classic.js', { scope: '/app' }))
      .catch(() => {});
  }
  // The worker has no cookies to read; it uses this copy of the CSRF token.
  if (pageCsrf()) await store.setMeta('csrf', pageCsrf());
  const cached = await store.getMeta('me');
  // Who is signed in, and the first sync, at once: on a slow link each is a round trip.
  const asked = api('/v1/me');
  // A phone new to the app syncs at once; one that knows a person first checks it is
  // still them (another person's unsent work must not go out under this sign-in).
  let first = cached ? null : syncer.sync();
  // Offline first: a phone that knows its person draws from its store at once.
  if (cached) { S.me = cached; await begin(); }
  try {
    const me = await asked;
    if (cached && cached.id !== me.id) {
      // Another person signed in on this phone: their data is not this person's.
      const photos = (await store.photos()).filter((p) => p.state !== 'uploaded' && p.state !== 'failed');
      if ((await store.outbox()).length || photos.length) { signInScreen('start.other_person'); return; }
      await store.wipe();
    }
    S.me = me;
    await store.setMeta('me', me);
  } catch (e) {
    if (e instanceof SignedOut && !cached) { window.location.href = '/login?next=/app'; return; }
    if (e instanceof Offline && !cached) { signInScreen('start.needs_network'); return; }
  }
  first ??= syncer.sync();
  if (begun) await draw(); else await begin();
  // A new release's worker has taken over: reload to run it, unless the person is busy
  // (then at the next opening).
  navigator.serviceWorker?.addEventListener('controllerchange', () => {
    if (!hadWorker) return; // the first worker taking an already running page
    const route = window.location.hash.slice(1).split('/')[0];
    if (!S.busy && !['finding', 'issue'].includes(route) && document.activeElement?.tagName !== 'TEXTAREA') window.location.reload();
  });
  await first;
}

start();
