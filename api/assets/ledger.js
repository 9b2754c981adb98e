// The issue ledger (台账): the filters of `GET /v1/issues`, overdue rows marked, a page
// at a time; a row opens the issue.

import { $, api, config, el, t } from './common.js';

const STATES = ['new', 'accepted', 'forwarded', 'in_progress', 'answered', 'closed_out', 'returned', 'rejected', 'merged'];
let departments = [];
let categories = [];

function filters() {
  const form = el('form', { class: 'filters-row', id: 'ledger-filters' },
    el('label', {}, t('field.state'), el('select', { name: 'state' }, el('option', { value: '' }, t('filter.all')),
      STATES.map((s) => el('option', { value: s }, t(`state.${s}`))))),
    el('label', {}, t('field.department'), el('select', { name: 'department_id' }, el('option', { value: '' }, t('filter.all')),
      departments.map((d) => el('option', { value: d.id }, config.lang === 'zh' ? d.name_zh : d.name_en)))),
    el('label', {}, t('field.category'), el('select', { name: 'category', id: 'ledger-category' }, el('option', { value: '' }, t('filter.all')),
      categories.map((c) => el('option', { value: c.category }, config.lang === 'zh' ? c.category_zh : c.category_en)))),
    el('label', {}, t('field.month'), el('input', { type: 'month', name: 'month' })),
    el('label', {}, t('field.overdue'), el('input', { type: 'checkbox', name: 'overdue', value: 'true' })),
    el('button', { type: 'submit', id: 'ledger-apply' }, t('ledger.filter')));
  form.addEventListener('submit', (e) => { e.preventDefault(); load(form, null, true); });
  return form;
}

const body = el('tbody', { id: 'ledger-rows' });
const more = el('button', { type: 'button', id: 'ledger-more', hidden: 'hidden' }, t('ledger.more'));

async function load(form, after, fresh) {
  const q = new URLSearchParams({ limit: '50' });
  for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
  if (after) q.set('after', after);
  const page = await api(`/v1/issues?${q}`);
  if (fresh) body.replaceChildren();
  for (const i of page.items) {
    body.append(el('tr', { class: i.overdue ? 'overdue' : '', 'data-issue': i.id },
      el('td', {}, el('a', { href: `/ledger/${i.id}` }, i.number)), el('td', {}, i.title),
      el('td', {}, i.station_name), el('td', {}, (config.lang === 'zh' ? i.department_zh : i.department_en) || '—'),
      el('td', {}, t(`state.${i.state}`)), el('td', {}, i.deadline || '—')));
  }
  if (fresh && page.items.length === 0) body.append(el('tr', {}, el('td', { colspan: '6', class: 'muted' }, t('ledger.none'))));
  more.hidden = !page.next_after;
  more.onclick = () => load(form, page.next_after, false);
  document.body.dataset.loaded = 'yes';
}

async function start() {
  departments = (await api('/v1/departments')).items;
  // The categories the period's issues use, with their names (the ledger's statistics).
  categories = (await api('/v1/issues/stats').catch(() => ({ by_category: [] }))).by_category;
  const form = filters();
  $('content').classList.remove('muted');
  $('content').replaceChildren(form, el('table', { class: 'ledger' },
    el('thead', {}, el('tr', {}, ['field.number', 'field.title', 'field.station', 'field.department', 'field.state', 'field.deadline']
      .map((k) => el('th', {}, t(k))))), body), more);
  await load(form, null, true);
}

start().catch((e) => { $('content').textContent = `${t('error.load')}: ${e.message}`; });
