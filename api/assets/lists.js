// The monthly issue list (问题清单): draft one for a month, put its lines in order by
// dragging (or with the arrow buttons, from the keyboard), add or remove issues, preview
// the printable page, issue it (it freezes: a confirmation says so), and download it as
// XLSX, CSV, GeoJSON or the printable page. Every change is the API's PATCH with the
// list's version, so two desks editing at once do not overwrite each other.

import { $, api, config, el, showError, t } from './common.js';

const content = $('content');
let current = null;

function exports(list) {
  return el('p', { class: 'actions', id: 'list-downloads' }, ['xlsx', 'csv', 'geojson', 'html'].map((f) =>
    el('a', { href: `/v1/issue-lists/${list.id}/export?format=${f}&lang=${config.lang}`, id: `download-${f}`,
      ...(f === 'html' ? { target: '_blank' } : { download: '' }) }, t(`list.download_${f}`))));
}

async function save(ids) {
  current = await api(`/v1/issue-lists/${current.id}`, { method: 'PATCH', body: { issue_ids: ids, version: current.version } });
  render();
}

function render() {
  const list = current;
  const draft = list.state === 'draft';
  const message = el('p', { class: 'error', id: 'list-message' });
  const ids = list.lines.map((l) => l.issue.id);
  let dragged = null;
  const rows = list.lines.map((line, index) => {
    const row = el('tr', { 'data-issue': line.issue.id, draggable: draft ? 'true' : 'false' },
      el('td', {}, line.position), el('td', {}, line.issue.number), el('td', {}, line.issue.title),
      el('td', {}, line.issue.station_name), el('td', {}, t(`state.${line.issue.state}`)),
      el('td', {}, line.carried_over ? t('list.carried_over') : ''),
      el('td', {}, draft ? [
        el('button', { type: 'button', class: 'up', 'aria-label': t('list.up'), onclick: () => {
          if (index === 0) return; const next = [...ids]; [next[index - 1], next[index]] = [next[index], next[index - 1]]; save(next).catch((e) => showError(content, e, message));
        } }, '↑'),
        el('button', { type: 'button', class: 'remove', onclick: () => save(ids.filter((id) => id !== line.issue.id)).catch((e) => showError(content, e, message)) }, t('list.remove')),
      ] : ''));
    if (draft) {
      row.addEventListener('dragstart', () => { dragged = index; });
      row.addEventListener('dragover', (e) => e.preventDefault());
      row.addEventListener('drop', (e) => {
        e.preventDefault();
        if (dragged === null || dragged === index) return;
        const next = [...ids]; const [moved] = next.splice(dragged, 1); next.splice(index, 0, moved);
        save(next).catch((err) => showError(content, err, message));
      });
    }
    return row;
  });
  const add = el('form', { class: 'filters-row', id: 'list-add' },
    el('label', {}, t('list.add'), el('select', { name: 'issue', id: 'list-candidates' })),
    el('button', { type: 'submit' }, t('list.add_button')));
  if (draft) {
    api('/v1/issues?state=accepted&limit=200').then((page) => {
      const select = add.elements.issue;
      page.items.filter((i) => !ids.includes(i.id)).forEach((i) => select.append(el('option', { value: i.id }, `${i.number} ${i.title}`)));
    }).catch(() => {});
    add.addEventListener('submit', (e) => { e.preventDefault(); const id = add.elements.issue.value; if (id) save([...ids, id]).catch((err) => showError(content, err, message)); });
  }
  const issue = el('button', { type: 'button', id: 'list-issue', onclick: async () => {
    if (!window.confirm(t('list.confirm'))) return;
    try { current = await api(`/v1/issue-lists/${list.id}/issue`, { method: 'POST', body: { version: list.version } }); render(); } catch (e) { showError(content, e, message); }
  } }, t('list.issue'));
  content.replaceChildren(
    el('h2', {}, `${list.month} ${list.station_name || ''} · `, el('span', { id: 'list-state', 'data-state': list.state }, t(`list.state_${list.state}`))),
    message,
    el('table', { class: 'ledger' }, el('thead', {}, el('tr', {}, ['list.position', 'field.number', 'field.title', 'field.station', 'field.state', 'list.carried', ''].map((k) => el('th', {}, k ? t(k) : '')))),
      el('tbody', { id: 'list-rows' }, rows)),
    draft ? add : '',
    draft ? el('p', { class: 'actions' }, el('a', { href: `/v1/issue-lists/${list.id}/export?format=html&lang=${config.lang}`, target: '_blank', id: 'list-preview' }, t('list.preview')), ' ', issue) : '',
    exports(list),
    el('p', {}, el('a', { href: '/lists' }, t('list.all'))));
  document.body.dataset.loaded = list.state;
}

async function open(id) {
  current = await api(`/v1/issue-lists/${id}`);
  render();
}

async function index() {
  const lists = await api('/v1/issue-lists');
  const form = el('form', { class: 'filters-row', id: 'list-draft' },
    el('label', {}, t('filter.month'), el('input', { type: 'month', name: 'month', required: 'required', value: config.month })),
    el('span', { class: 'field-error', 'data-error-for': 'month' }),
    el('button', { type: 'submit', id: 'list-draft-submit' }, t('list.draft')));
  const message = el('p', { class: 'error' });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const made = await api('/v1/issue-lists', { method: 'POST', body: { month: form.elements.month.value, ...(config.stationId ? { station_id: config.stationId } : {}) } });
      window.history.pushState({}, '', `/lists?id=${made.id}`);
      current = made; render();
    } catch (err) { showError(form, err, message); }
  });
  content.replaceChildren(config.canManage ? form : '', message,
    el('table', { class: 'ledger' }, el('tbody', {}, lists.items.map((l) => el('tr', { 'data-list': l.id },
      el('td', {}, el('a', { href: `/lists?id=${l.id}` }, l.month)), el('td', {}, l.station_name || t('list.township')),
      el('td', {}, t(`list.state_${l.state}`)), el('td', {}, `${l.items}`))))));
  document.body.dataset.loaded = 'index';
}

content.classList.remove('muted');
const id = new URLSearchParams(window.location.search).get('id');
(id ? open(id) : index()).catch((e) => { content.textContent = `${t('error.load')}: ${e.message}`; });
