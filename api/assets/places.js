// Places (planners): a table and a map with filters; edit a place's name, kind and
// station, move a point on the map by dragging its marker or a polygon's outer ring by
// dragging its vertices, deactivate.

import * as maplibregl from './vendor/maplibre-gl-6.20.0/maplibre-gl.mjs';
import { $, api, bbox, config, el, showError, t } from './common.js';

maplibregl.setWorkerUrl(`${config.maplibre}/maplibre-gl-worker.mjs`);
const content = $('content');
let stations = [];
let map = null;
let marker = null;
let vertices = [];
let editedRing = null;

// A polygon's outer ring as draggable vertex handles; the edited ring is drawn as it moves
// and saved with the place (holes and further parts are kept as they are).
function editVertices(feature) {
  vertices.forEach((v) => v.remove());
  vertices = [];
  editedRing = null;
  const g = feature.geometry;
  const ring = g.type === 'Polygon' ? g.coordinates[0] : g.type === 'MultiPolygon' ? g.coordinates[0][0] : null;
  if (!ring) return;
  editedRing = ring.slice(0, -1).map((c) => [...c]);
  const draw = () => {
    const closed = [...editedRing, editedRing[0]];
    const data = { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [closed] } };
    if (map.getSource('editing')) map.getSource('editing').setData(data);
    else {
      map.addSource('editing', { type: 'geojson', data });
      map.addLayer({ id: 'editing', type: 'line', source: 'editing', paint: { 'line-color': '#c62828', 'line-width': 2 } });
    }
  };
  editedRing.forEach((c, i) => {
    const handle = el('div', { class: 'vertex', 'data-vertex': String(i) });
    const m = new maplibregl.Marker({ element: handle, draggable: true }).setLngLat(c).addTo(map);
    m.on('drag', () => { const at = m.getLngLat(); editedRing[i] = [at.lng, at.lat]; draw(); });
    vertices.push(m);
  });
  if (map.loaded()) draw(); else map.once('load', draw);
}

function editedGeometry(feature) {
  if (!editedRing) return null;
  const ring = [...editedRing, editedRing[0]];
  const g = feature.geometry;
  if (g.type === 'Polygon') return { type: 'Polygon', coordinates: [ring, ...g.coordinates.slice(1)] };
  return { type: 'MultiPolygon', coordinates: [[ring, ...g.coordinates[0].slice(1)], ...g.coordinates.slice(1)] };
}

function editor(feature, reload) {
  const p = feature.properties;
  const message = el('p', { class: 'error' });
  const form = el('form', { class: 'stack card', id: 'place-edit', 'data-place': feature.id }, el('h2', {}, p.name),
    el('label', {}, t('field.title'), el('input', { name: 'name', value: p.name, id: 'place-name' })),
    el('span', { class: 'field-error', 'data-error-for': 'name' }),
    el('label', {}, t('filter.kind'), el('select', { name: 'kind' }, ['grid_cell', 'enterprise', 'project_site'].map((k) =>
      el('option', { value: k, ...(k === p.kind ? { selected: 'selected' } : {}) }, t(`kind.${k}`))))),
    el('label', {}, t('field.station'), el('select', { name: 'station_id' }, stations.map((s) =>
      el('option', { value: s.id, ...(s.id === p.station_id ? { selected: 'selected' } : {}) }, s.name)))),
    el('p', { class: 'muted' }, feature.geometry.type === 'Point' ? t('places.drag') : t('places.drag_vertices')),
    el('p', { class: 'actions' }, el('button', { type: 'submit', id: 'place-save' }, t('places.save')),
      el('button', { type: 'button', id: 'place-deactivate', onclick: async () => {
        if (!window.confirm(t('places.confirm_deactivate'))) return;
        try { await api(`/v1/places/${feature.id}`, { method: 'DELETE' }); await reload(); } catch (e) { showError(form, e, message); }
      } }, t('places.deactivate'))), message);
  if (marker) marker.remove();
  marker = null;
  if (feature.geometry.type === 'Point') {
    marker = new maplibregl.Marker({ draggable: true }).setLngLat(feature.geometry.coordinates).addTo(map);
  }
  editVertices(feature);
  if (feature.geometry.type === 'Point') map.jumpTo({ center: feature.geometry.coordinates, zoom: 14 });
  else { const b = bbox(feature.geometry); map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 0 }); }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const body = { properties: { name: v.name, kind: v.kind, station_id: v.station_id }, version: feature.properties.version };
    if (marker) { const at = marker.getLngLat(); body.geometry = { type: 'Point', coordinates: [at.lng, at.lat] }; }
    const polygon = editedGeometry(feature);
    if (polygon) body.geometry = polygon;
    try { await api(`/v1/places/${feature.id}`, { method: 'PATCH', body }); document.body.dataset.saved = feature.id; await reload(feature.id); } catch (err) { message.className = 'error'; showError(form, err, message); }
  });
  return form;
}

async function render(keep) {
  stations = (await api('/v1/stations')).items;
  const kind = $('places-kind')?.value || '';
  const q = new URLSearchParams({ limit: '500', active: 'true' });
  if (kind) q.set('kind', kind);
  const page = await api(`/v1/places?${q}`);
  const places = page.features;
  const side = el('div', { id: 'place-side' });
  const filter = el('select', { id: 'places-kind' }, el('option', { value: '' }, t('filter.all')),
    ['grid_cell', 'enterprise', 'project_site'].map((k) => el('option', { value: k, ...(k === kind ? { selected: 'selected' } : {}) }, t(`kind.${k}`))));
  filter.addEventListener('change', () => render());
  const table = el('table', { class: 'ledger' }, el('tbody', { id: 'places-rows' }, places.map((f) => el('tr', { 'data-place': f.id },
    el('td', {}, el('a', { href: '#', onclick: (e) => { e.preventDefault(); side.replaceChildren(editor(f, render)); } }, f.properties.name)),
    el('td', {}, t(`kind.${f.properties.kind}`)), el('td', {}, stations.find((s) => s.id === f.properties.station_id)?.name || '')))));
  content.classList.remove('muted');
  content.replaceChildren(el('label', {}, `${t('filter.kind')} `, filter),
    el('div', { class: 'columns' }, el('div', {}, el('div', { id: 'places-map', class: 'small-map' }), el('div', { class: 'scroll' }, table)), side));
  map = new maplibregl.Map({ container: 'places-map', attributionControl: false, center: [112.1, 35.15], zoom: 10,
    style: { version: 8, sources: { places: { type: 'geojson', data: { type: 'FeatureCollection', features: places } } }, layers: [
      { id: 'bg', type: 'background', paint: { 'background-color': '#eef1f3' } },
      { id: 'areas', type: 'fill', source: 'places', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'fill-color': '#1565c0', 'fill-opacity': 0.2 } },
      { id: 'points', type: 'circle', source: 'places', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-color': '#1565c0', 'circle-radius': 5 } }] } });
  map.on('click', 'points', (e) => { const f = places.find((x) => x.id === e.features[0].id || x.id === e.features[0].properties.id); if (f) side.replaceChildren(editor(f, render)); });
  const again = keep && places.find((f) => f.id === keep);
  map.on('load', () => { if (again) side.replaceChildren(editor(again, render)); });
  document.body.dataset.loaded = `${kind || 'all'}:${places.length}`;
}

render().catch((e) => { content.textContent = `${t('error.load')}: ${e.message}`; });
