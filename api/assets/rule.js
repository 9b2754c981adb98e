// The nearby rule (就近就便) for planners: set the parameters, run a proposal, review it
// (what it adds, removes and keeps, the places it cannot serve and why, each
// representative's load against capacity, a place's explanation), lock or unlock
// assignments by hand (kept as they are by the next run), and apply it.

import { $, api, distance, el, showError, t, when } from './common.js';

const content = $('content');

function paramsForm(onRun) {
  const message = el('p', { class: 'error' });
  const num = (name, value, min) => el('input', { type: 'number', name, value, min: String(min) });
  const form = el('form', { class: 'stack card', id: 'rule-form' },
    el('h2', {}, t('rule.params')),
    el('label', {}, t('rule.need_grid'), num('grid_cell', 1, 0)), el('label', {}, t('rule.need_enterprise'), num('enterprise', 1, 0)),
    el('label', {}, t('rule.need_project'), num('project_site', 1, 0)),
    el('label', {}, t('rule.default_capacity'), num('default_capacity', 0, 0)),
    el('span', { class: 'field-error', 'data-error-for': 'default_capacity' }),
    el('label', {}, t('rule.max_distance'), el('input', { type: 'number', name: 'max_distance_m', min: '1', step: '100' })),
    el('span', { class: 'field-error', 'data-error-for': 'max_distance_m' }),
    el('label', {}, el('input', { type: 'checkbox', name: 'within_station', checked: 'checked' }), ' ', t('rule.within_station')),
    el('button', { type: 'submit', id: 'rule-run' }, t('rule.run')), el('progress', { hidden: 'hidden', id: 'rule-progress' }), message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = { needs: { grid_cell: Number(v.grid_cell), enterprise: Number(v.enterprise), project_site: Number(v.project_site) },
      default_capacity: Number(v.default_capacity), within_station: v.within_station === 'on' };
    if (v.max_distance_m) body.max_distance_m = Number(v.max_distance_m);
    const bar = form.querySelector('#rule-progress'); bar.hidden = false;
    try { onRun(await api('/v1/assignment-proposals', { method: 'POST', body })); } catch (err) { showError(form, err, message); } finally { bar.hidden = true; }
  });
  return form;
}

async function locks() {
  const page = await api('/v1/assignments?current=true&limit=500');
  const rows = page.items.filter((a) => !a.valid_to).map((a) => {
    const box = el('input', { type: 'checkbox', 'data-assignment': a.id, ...(a.locked ? { checked: 'checked' } : {}) });
    box.addEventListener('change', async () => {
      try { await api(`/v1/assignments/${a.id}`, { method: 'PATCH', body: { locked: box.checked, version: a.version } }); a.version += 1; } catch (e) { box.checked = !box.checked; window.alert(e.message); }
    });
    return el('tr', {}, el('td', {}, box), el('td', {}, a.person_name || a.person_id), el('td', {}, a.place_name || a.place_id));
  });
  return el('details', { class: 'card', id: 'rule-locks' }, el('summary', {}, t('rule.locks')),
    el('table', { class: 'ledger' }, el('tbody', {}, rows)));
}

function review(p) {
  const message = el('p', { class: 'error' });
  const explain = el('div', { id: 'rule-explain' });
  const apply = el('button', { type: 'button', id: 'rule-apply', ...(p.stale || p.applied_at ? { disabled: 'disabled' } : {}), onclick: async () => {
    if (!window.confirm(t('rule.confirm'))) return;
    try { await api(`/v1/assignment-proposals/${p.id}/apply`, { method: 'POST' }); box.prepend(el('p', { id: 'rule-applied' }, t('rule.applied'))); apply.disabled = true; } catch (e) { showError(box, e, message); }
  } }, t('rule.apply'));
  // The difference names ids only: the names come from the loads and the explanations.
  const personName = new Map(p.loads.map((l) => [l.person_id, l.person_name]));
  const placeName = (id) => p.explanations?.[id]?.place_name || id;
  const pairs = (list, kind) => list.map((x) => el('tr', { class: kind, 'data-place': x.place_id },
    el('td', {}, t(`rule.${kind}`)), el('td', {}, personName.get(x.person_id) || x.person_id), el('td', {}, el('a', { href: '#', onclick: async (e) => {
      e.preventDefault();
      const ex = await api(`/v1/assignment-proposals/${p.id}/places/${x.place_id}`);
      explain.replaceChildren(el('h3', {}, ex.place_name), el('ul', {},
        ex.served_by.map((s) => el('li', {}, `✔ ${s.person_name} · ${distance(s.distance_m)}`)),
        ex.next.map((n) => el('li', {}, `${n.person_name} · ${distance(n.distance_m)} · ${t(`rule.why_${n.reason}`)}`))));
    } }, placeName(x.place_id)))));
  const box = el('div', { class: 'card', id: 'rule-review' },
    el('h2', {}, `${t('rule.title')} · ${when(p.created_at)}`), p.stale ? el('p', { class: 'error' }, t('rule.stale')) : '', message,
    el('p', {}, `${t('rule.added')} `, el('b', { id: 'rule-added' }, p.diff.added.length), ` · ${t('rule.removed')} `,
      el('b', { id: 'rule-removed' }, p.diff.removed.length), ` · ${t('rule.kept')} ${p.diff.kept} · ${t('rule.total')} ${distance(p.total_distance_m)}`),
    el('table', { class: 'ledger' }, el('tbody', {}, pairs(p.diff.added, 'added'), pairs(p.diff.removed, 'removed'))),
    el('h3', {}, t('rule.unserved')),
    el('ul', { id: 'rule-unserved' }, p.unserved.map((u) => el('li', {}, `${u.place_name}: ${t(`reason.${u.reason}`)}`))),
    el('h3', {}, t('rule.loads')),
    el('table', { class: 'ledger' }, el('tbody', {}, p.loads.filter((l) => l.load > 0 || l.capacity > 0).map((l) =>
      el('tr', { class: l.load >= l.capacity ? 'full' : '' }, el('td', {}, l.person_name), el('td', {}, `${l.load} / ${l.capacity}`))))),
    explain, el('p', { class: 'actions' }, apply));
  return box;
}

async function start() {
  const side = el('div', { id: 'rule-side' });
  const [latest] = await api('/v1/assignment-proposals?limit=1');
  const show = async (p) => { side.replaceChildren(review(p)); document.body.dataset.loaded = p.id; };
  content.classList.remove('muted');
  content.replaceChildren(el('div', { class: 'columns' }, el('div', {}, paramsForm(show), await locks()), side));
  if (latest) await show(await api(`/v1/assignment-proposals/${latest.id}`));
  else document.body.dataset.loaded = 'none';
}

start().catch((e) => { content.textContent = `${t('error.load')}: ${e.message}`; });
