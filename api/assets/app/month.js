// "This month" on the phone, from what sync brought: the representative's places whose
// assignment is in force this month (Asia/Shanghai), each visited, due, or overdue from
// last month, with the check-ins waiting for the server's verdict. The rules are the
// server's, as migrations 0011 and 0013 write them (`in_force_during`,
// `counts_as_visit`): the phone works them out itself so that the list is right
// offline, and the server's verdicts replace the phone's guesses as they arrive.

import { distanceTo } from './locate.js';

const shanghai = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit' });
export const monthOf = (date) => shanghai.format(date).slice(0, 7);
export function shiftMonth(month, by) {
  const [y, m] = month.split('-').map(Number);
  const d = new Date(Date.UTC(y, m - 1 + by, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

// An assignment from `from` until `to` (exclusive; null: open) is in force during `month`.
export function inForce(a, month) {
  const start = `${month}-01`;
  const next = `${shiftMonth(month, 1)}-01`;
  return a.valid_from < next && (a.valid_to === null || a.valid_to === undefined || a.valid_to > start);
}

export const countsAsVisit = (verdict, review) => review === 'accepted' || (verdict === 'verified' && review !== 'rejected');

// Every check-in of mine the phone knows, newest first: the server's records, the
// verdicts push answered that no pull has brought yet, and those still queued.
export function myCheckIns({ records, results, outbox, personId }) {
  const seen = new Set();
  const all = [];
  for (const c of records) {
    if (c.person_id !== personId) continue;
    seen.add(c.id);
    all.push({ ...c, state: 'judged' });
  }
  for (const r of results) {
    if (r.name !== 'checkin.create.v1' || seen.has(r.args?.id)) continue;
    seen.add(r.args.id);
    const first = r.status === 'duplicate' ? r.original : r.status;
    if (first === 'rejected') {
      all.push({ ...r.args, state: 'rejected', code: r.code, reason: r.reason, month: null, mutationId: r.id });
    } else {
      all.push({ ...r.args, ...(r.data ?? {}), state: 'judged', review: null });
    }
  }
  for (const m of outbox) {
    if (m.name !== 'checkin.create.v1' || seen.has(m.args.id)) continue;
    all.push({ ...m.args, state: 'pending', month: monthOf(new Date(m.args.device_time)), mutationId: m.id });
  }
  const at = (c) => c.visited_at || c.device_time || '';
  return all.sort((a, b) => (at(a) < at(b) ? 1 : -1));
}

// The month's places and counts.
export function thisMonth({ places, assignments, checkIns, personId, month, position }) {
  const last = shiftMonth(month, -1);
  const mine = assignments.filter((a) => a.person_id === personId);
  const byId = new Map(places.map((p) => [p.id, p]));
  const now = new Map();
  for (const a of mine.filter((x) => inForce(x, month))) {
    const place = byId.get(a.place_id);
    if (!place || now.has(a.place_id)) continue;
    const visits = checkIns.filter((c) => c.place_id === a.place_id);
    const counted = visits.filter((c) => c.state === 'judged' && c.month === month && countsAsVisit(c.verdict, c.review));
    const pending = visits.filter((c) => c.state === 'pending');
    const wasDue = mine.some((x) => x.place_id === a.place_id && inForce(x, last));
    const missedLast = wasDue
      && !visits.some((c) => c.state === 'judged' && c.month === last && countsAsVisit(c.verdict, c.review));
    const status = counted.length ? 'visited' : missedLast ? 'overdue' : 'due';
    const d = position ? distanceTo([position.lon, position.lat], place.geometry) : null;
    now.set(a.place_id, { place, status, visits: counted.length, pending: pending.length, lastVisit: visits[0] ?? null,
      distance: d, missedLast });
  }
  const list = [...now.values()].sort((a, b) => (a.distance ?? Infinity) - (b.distance ?? Infinity)
    || a.place.properties.name.localeCompare(b.place.properties.name, 'zh-CN'));
  const count = (s) => list.filter((x) => x.status === s).length;
  return { list, counts: { total: list.length, visited: count('visited'), due: count('due'), overdue: count('overdue') } };
}
