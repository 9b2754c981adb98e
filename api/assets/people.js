// People (admins): create representatives and staff, reset a password, set role,
// station, anchor and capacity, deactivate; and the departments issues are sent to.
// Every change is the API's, with the row's version; field errors show by the field.

import * as maplibregl from './vendor/maplibre-gl-6.20.0/maplibre-gl.mjs';
import { $, api, config, el, showError, t } from './common.js';

maplibregl.setWorkerUrl(`${config.maplibre}/maplibre-gl-worker.mjs`);

const content = $('content');
const ROLES = ['representative', 'station_staff', 'planner', 'presidium', 'admin'];
let stations = [];

const stationSelect = (value) => el('select', { name: 'station_id' }, el('option', { value: '' }, '—'),
  stations.map((s) => el('option', { value: s.id, ...(s.id === value ? { selected: 'selected' } : {}) }, s.name)));
const roleSelect = (value) => el('select', { name: 'role' }, ROLES.map((r) => el('option', { value: r, ...(r === value ? { selected: 'selected' } : {}) }, t(`role.${r}`))));
const field = (label, input, name) => [el('label', {}, t(label), input), el('span', { class: 'field-error', 'data-error-for': name })];
// (A field is a label and its error slot: spread it into a form's children.)

function personBody(v) {
  const body = { name: v.name, role: v.role, station_id: v.station_id || null };
  if (v.phone) body.phone = v.phone;
  if (v.visit_capacity !== '') body.visit_capacity = Number(v.visit_capacity);
  if (v.lon && v.lat) body.anchor = { lon: Number(v.lon), lat: Number(v.lat) };
  return body;
}

function createForm(reload) {
  const message = el('p', { class: 'error' });
  const form = el('form', { class: 'stack card', id: 'person-create' }, el('h2', {}, t('people.create')),
    ...field('people.name', el('input', { name: 'name', id: 'person-name', required: 'required' }), 'name'),
    ...field('people.username', el('input', { name: 'username', id: 'person-username', required: 'required' }), 'username'),
    ...field('people.password', el('input', { name: 'password', id: 'person-password', type: 'password', required: 'required', autocomplete: 'new-password' }), 'password'),
    ...field('people.phone', el('input', { name: 'phone' }), 'phone'),
    ...field('people.role', roleSelect('representative'), 'role'),
    ...field('field.station', stationSelect(''), 'station_id'),
    ...field('people.capacity', el('input', { name: 'visit_capacity', type: 'number', min: '0', value: '2' }), 'visit_capacity'),
    ...field('people.lon', el('input', { name: 'lon', type: 'number', step: 'any' }), 'anchor'),
    ...field('people.lat', el('input', { name: 'lat', type: 'number', step: 'any' }), 'anchor'),
    el('button', { type: 'submit', id: 'person-create-submit' }, t('people.create')), message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    try {
      const made = await api('/v1/people', { method: 'POST', body: { ...personBody(v), username: v.username, password: v.password } });
      form.reset(); message.textContent = `${t('people.created')}: ${made.username}`; message.className = 'done'; message.id = 'person-created';
      await reload();
    } catch (err) { message.className = 'error'; showError(form, err, message); }
  });
  return form;
}

// Edit a person: admins everything, planners the anchor (dragged on the map) and capacity.
function editForm(p, reload) {
  const message = el('p', { class: 'error' });
  const admin = config.canAdmin;
  const mapBox = el('div', { class: 'small-map', id: 'anchor-map' });
  const form = el('form', { class: 'stack card', id: 'person-edit', 'data-person': p.id }, el('h2', {}, `${p.name} · ${p.username}`),
    admin ? field('people.role', roleSelect(p.role), 'role') : '',
    admin ? field('field.station', stationSelect(p.station_id), 'station_id') : '',
    ...field('people.capacity', el('input', { name: 'visit_capacity', type: 'number', min: '0', value: String(p.visit_capacity), id: 'edit-capacity' }), 'visit_capacity'),
    el('p', { class: 'muted' }, t('people.drag_anchor')), mapBox,
    el('button', { type: 'submit', id: 'person-save' }, t('places.save')), message);
  const start = p.anchor ? [p.anchor.lon, p.anchor.lat] : [112.1, 35.15];
  requestAnimationFrame(() => {
    const map = new maplibregl.Map({ container: mapBox, attributionControl: false, center: start, zoom: 12,
      style: { version: 8, sources: { coverage: { type: 'vector', tiles: [`${window.location.origin}/v1/tiles/coverage/{z}/{x}/{y}.mvt`], maxzoom: 16 } },
        layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#eef1f3' } },
          { id: 'areas', type: 'line', source: 'coverage', 'source-layer': 'stations', paint: { 'line-color': '#8b1a1a' } },
          { id: 'places', type: 'circle', source: 'coverage', 'source-layer': 'places', paint: { 'circle-color': '#1565c0', 'circle-radius': 3 } }] } });
    form.marker = new maplibregl.Marker({ draggable: true }).setLngLat(start).addTo(map);
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = { version: p.version, visit_capacity: Number(v.visit_capacity) };
    if (admin) { body.role = v.role; body.station_id = v.station_id || null; }
    if (form.marker) { const at = form.marker.getLngLat(); body.anchor = { lon: at.lng, lat: at.lat }; }
    try { await api(`/v1/people/${p.id}`, { method: 'PATCH', body }); await reload(); $('people-side').prepend(el('p', { class: 'done', id: 'person-saved' }, t('places.saved'))); } catch (err) { showError(form, err, message); }
  });
  return form;
}

function row(p, reload) {
  const message = el('span', { class: 'error' });
  const act = (label, id, fn) => el('button', { type: 'button', id, onclick: async () => {
    try { await fn(); await reload(); } catch (e) { message.textContent = e.message; }
  } }, t(label));
  return el('tr', { 'data-person': p.id, class: p.active ? '' : 'muted' },
    el('td', {}, p.name), el('td', {}, p.username), el('td', {}, t(`role.${p.role}`)),
    el('td', {}, stations.find((s) => s.id === p.station_id)?.name || '—'), el('td', {}, p.visit_capacity),
    el('td', {}, p.active ? t('people.active') : t('people.inactive')),
    el('td', { class: 'actions' },
      el('button', { type: 'button', id: `edit-${p.username}`, onclick: () => $('people-side').replaceChildren(editForm(p, reload)) }, t('people.edit')),
      config.canAdmin ? [act('people.reset', `reset-${p.username}`, async () => {
        const password = window.prompt(t('people.new_password'));
        if (password) await api(`/v1/people/${p.id}`, { method: 'PATCH', body: { password, version: p.version } });
      }),
      p.active ? act('people.deactivate', `deactivate-${p.username}`, () => api(`/v1/people/${p.id}`, { method: 'PATCH', body: { active: false, version: p.version } }))
        : act('people.activate', `activate-${p.username}`, () => api(`/v1/people/${p.id}`, { method: 'PATCH', body: { active: true, version: p.version } }))] : '',
      message));
}

async function departments() {
  const list = (await api('/v1/departments')).items;
  const message = el('p', { class: 'error' });
  const form = el('form', { class: 'filters-row', id: 'department-create' },
    el('label', {}, t('people.department_zh'), el('input', { name: 'name_zh', required: 'required' })),
    el('label', {}, t('people.department_en'), el('input', { name: 'name_en', required: 'required' })),
    el('button', { type: 'submit' }, t('people.department_add')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try { await api('/v1/departments', { method: 'POST', body: Object.fromEntries(new FormData(form)) }); await render(); } catch (err) { showError(form, err, message); }
  });
  return el('details', { class: 'card', id: 'departments' }, el('summary', {}, t('people.departments')), form, message,
    el('ul', { id: 'department-list' }, list.map((d) => el('li', { 'data-department': d.id }, `${d.name_zh} · ${d.name_en}${d.active ? '' : ` (${t('people.inactive')})`} `,
      el('button', { type: 'button', onclick: async () => {
        const name = window.prompt(t('people.department_zh'), d.name_zh);
        if (name) { try { await api(`/v1/departments/${d.id}`, { method: 'PATCH', body: { name_zh: name, version: d.version } }); await render(); } catch (e) { message.textContent = e.message; } }
      } }, t('people.rename')),
      el('button', { type: 'button', onclick: async () => {
        try { await api(`/v1/departments/${d.id}`, { method: 'PATCH', body: { active: !d.active, version: d.version } }); await render(); } catch (e) { message.textContent = e.message; }
      } }, d.active ? t('people.deactivate') : t('people.activate'))))));
}

// Stations (planners): rename one, or add a regional station under the central one at a point.
function stationsSection() {
  const message = el('p', { class: 'error' });
  const central = stations.find((s) => s.level === 'central');
  const form = el('form', { class: 'filters-row', id: 'station-create' },
    el('label', {}, t('people.station_code'), el('input', { name: 'code', required: 'required', pattern: '[a-z0-9_-]+' })),
    el('label', {}, t('people.station_name'), el('input', { name: 'name', required: 'required' })),
    el('label', {}, t('people.lon'), el('input', { name: 'lon', type: 'number', step: 'any', required: 'required' })),
    el('label', {}, t('people.lat'), el('input', { name: 'lat', type: 'number', step: 'any', required: 'required' })),
    el('button', { type: 'submit' }, t('people.station_add')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    try {
      await api('/v1/stations', { method: 'POST', body: { code: v.code, name: v.name, level: 'regional', parent_id: central?.id,
        location: { lon: Number(v.lon), lat: Number(v.lat) } } });
      await render();
    } catch (err) { showError(form, err, message); }
  });
  return el('details', { class: 'card', id: 'stations' }, el('summary', {}, t('people.stations')), form, message,
    el('ul', {}, stations.map((x) => el('li', {}, `${x.name} (${x.code}) `, el('button', { type: 'button', onclick: async () => {
      const name = window.prompt(t('people.station_name'), x.name);
      if (name) { try { await api(`/v1/stations/${x.id}`, { method: 'PATCH', body: { name, version: x.version } }); await render(); } catch (e) { message.textContent = e.message; } }
    } }, t('people.rename'))))));
}

async function render() {
  stations = (await api('/v1/stations')).items;
  const q = new URLSearchParams({ limit: '500' });
  if (!config.canAdmin) q.set('role', 'representative');
  const people = (await api(`/v1/people?${q}`)).items;
  content.classList.remove('muted');
  content.replaceChildren(el('div', { class: 'columns' },
    el('div', {}, el('table', { class: 'ledger' }, el('thead', {}, el('tr', {},
      ['people.name', 'people.username', 'people.role', 'field.station', 'people.capacity', 'people.state', ''].map((k) => el('th', {}, k ? t(k) : '')))),
    el('tbody', { id: 'people-rows' }, people.map((p) => row(p, render))))),
    el('div', { id: 'people-side' }, config.canAdmin ? createForm(render) : el('p', { class: 'muted' }, t('people.planner_hint')),
      config.canDepartments ? await departments() : '', config.canPlan ? stationsSection() : '')));
  document.body.dataset.loaded = String(people.length);
}

render().catch((e) => { content.textContent = `${t('error.load')}: ${e.message}`; });
