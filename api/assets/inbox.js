// The station's inbox: findings not yet taken into an issue, newest first, with their
// photos, place, raiser and severity, on a small map. Ticking some opens the form that
// makes them one issue, with the similar open issues nearby shown first: merging into one
// of those is the other way out (the new issue is made and merged at once, so the
// history says so).

import * as maplibregl from './vendor/maplibre-gl-6.20.0/maplibre-gl.mjs';
import { $, api, config, el, showError, t, when } from './common.js';

maplibregl.setWorkerUrl(`${config.maplibre}/maplibre-gl-worker.mjs`);

const picked = new Set();
let findings = [];
let departments = [];

function thumbs(ids) {
  const box = el('div', { class: 'thumbs' });
  for (const id of ids.slice(0, 4)) {
    api(`/v1/photos/${id}/thumbnail`).then((r) => box.append(el('a', { href: r.url, target: '_blank' },
      el('img', { src: r.url, alt: '' })))).catch(() => {});
  }
  return box;
}

function card(f) {
  const box = el('input', { type: 'checkbox', value: f.id, 'data-finding': f.id });
  box.addEventListener('change', () => { if (box.checked) picked.add(f.id); else picked.delete(f.id); renderForm(); });
  return el('div', { class: 'card' }, el('label', { class: 'pick' }, box, el('div', {},
    el('strong', {}, config.lang === 'zh' ? f.category_zh : f.category_en), ' · ',
    t(`severity.${f.severity}`), ' · ', f.place_name,
    el('div', {}, f.description),
    el('div', { class: 'muted' }, `${t('field.raiser')}: ${f.person_name} · ${when(f.created_at)}`),
    f.photo_ids?.length ? thumbs(f.photo_ids) : '')));
}

function smallMap() {
  const points = { type: 'FeatureCollection', features: findings.filter((f) => f.lon !== null).map((f) => ({
    type: 'Feature', properties: { id: f.id }, geometry: { type: 'Point', coordinates: [f.lon, f.lat] } })) };
  const map = new maplibregl.Map({
    container: 'inbox-map', attributionControl: false,
    style: { version: 8, sources: {
      coverage: { type: 'vector', tiles: [`${window.location.origin}/v1/tiles/coverage/{z}/{x}/{y}.mvt`], maxzoom: 16 },
      findings: { type: 'geojson', data: points } }, layers: [
      { id: 'bg', type: 'background', paint: { 'background-color': '#eef1f3' } },
      { id: 'areas', type: 'fill', source: 'coverage', 'source-layer': 'stations', paint: { 'fill-color': '#f6f2e8' } },
      { id: 'lines', type: 'line', source: 'coverage', 'source-layer': 'stations', paint: { 'line-color': '#8b1a1a' } },
      { id: 'findings', type: 'circle', source: 'findings', paint: { 'circle-color': '#c62828', 'circle-radius': 5,
        'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } }] },
    center: [112.1, 35.15], zoom: 10,
  });
  if (points.features.length) {
    const xs = points.features.map((p) => p.geometry.coordinates[0]); const ys = points.features.map((p) => p.geometry.coordinates[1]);
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 30, maxZoom: 14, duration: 0 });
  }
}

// Ticks come faster than the similar issues arrive: only the latest form is shown.
let generation = 0;

async function renderForm() {
  const mine = ++generation;
  const side = $('inbox-form');
  if (picked.size === 0) { side.replaceChildren(el('p', { class: 'muted' }, t('inbox.select'))); return; }
  const chosen = findings.filter((f) => picked.has(f.id));
  const first = chosen[0];
  const similar = await api(`/v1/issues/similar?finding_id=${first.id}`).catch(() => ({ items: [] }));
  if (mine !== generation) return;
  const message = el('p', { class: 'error', id: 'inbox-message' });
  const form = el('form', { class: 'stack', id: 'issue-form' },
    el('label', {}, t('field.title'), el('input', { name: 'title', id: 'issue-title', required: 'required', maxlength: '200' })),
    el('span', { class: 'field-error', 'data-error-for': 'title' }),
    el('label', {}, t('field.description'), el('textarea', { name: 'description', rows: '3' })),
    el('span', { class: 'field-error', 'data-error-for': 'description' }),
    el('label', {}, t('field.department'), el('select', { name: 'department_id', id: 'issue-department' },
      el('option', { value: '' }, '—'),
      departments.map((d) => el('option', { value: d.id }, config.lang === 'zh' ? d.name_zh : d.name_en)))),
    el('span', { class: 'field-error', 'data-error-for': 'department_id' }),
    el('label', {}, t('field.deadline'), el('input', { type: 'date', name: 'deadline', id: 'issue-deadline' })),
    el('span', { class: 'field-error', 'data-error-for': 'deadline' }),
    el('button', { type: 'submit', id: 'issue-create' }, t('inbox.create')), message);
  form.elements.title.value = first.description.slice(0, 60);
  form.elements.description.value = chosen.map((f) => f.description).join('\n');
  const body = () => {
    const v = Object.fromEntries(new FormData(form));
    return { finding_ids: [...picked], title: v.title, description: v.description, category: first.category,
      ...(v.department_id ? { department_id: v.department_id } : {}), ...(v.deadline ? { deadline: v.deadline } : {}) };
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const made = await api('/v1/issues', { method: 'POST', body: body() });
      window.location.href = `/ledger/${made.issue.id}`;
    } catch (err) { showError(form, err, message); }
  });
  const similarList = el('ul', { id: 'similar' }, (similar.items || []).map((s) => el('li', { 'data-similar': s.id },
    `${s.number} ${s.title} · ${t(`state.${s.state}`)} · ${Math.round(s.distance_m)} ${t('unit.m')} `,
    el('button', { type: 'button', class: 'merge', onclick: async () => {
      try {
        const made = await api('/v1/issues', { method: 'POST', body: body() });
        await api(`/v1/issues/${made.issue.id}/actions`, { method: 'POST', body: { action: 'merge', into: s.id } });
        window.location.href = `/ledger/${s.id}`;
      } catch (err) { showError(form, err, message); }
    } }, t('inbox.merge')))));
  side.replaceChildren(
    el('h2', {}, t('inbox.similar')),
    similar.items?.length ? similarList : el('p', { class: 'muted', id: 'no-similar' }, t('inbox.no_similar')),
    form);
  side.dataset.findings = String(picked.size);
}

async function load() {
  const [page, deps] = await Promise.all([api('/v1/findings?in_issue=false&limit=500'), api('/v1/departments')]);
  departments = deps.items || deps;
  findings = page.items.sort((a, b) => b.created_at.localeCompare(a.created_at));
  const content = $('content');
  content.classList.remove('muted');
  content.replaceChildren(el('div', { class: 'columns' },
    el('div', {}, el('div', { id: 'inbox-map', class: 'small-map' }),
      findings.length ? el('div', { id: 'inbox-list' }, findings.map(card)) : el('p', { class: 'muted' }, t('inbox.empty'))),
    el('aside', { id: 'inbox-form' })));
  renderForm();
  smallMap();
  document.body.dataset.loaded = 'yes';
}

load().catch((e) => { $('content').textContent = `${t('error.load')}: ${e.message}`; });
