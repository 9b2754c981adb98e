// The console's map page: the month's coverage of the township on a MapLibre map drawn
// from our own vector tiles (no base map, no glyph server: labels are drawn with the
// browser's own CJK fonts), the overdue and unassigned places beside it, the counts
// 邵原镇 reports, a place's visits, photos and issues, the trend chart (ECharts) and,
// for planners, the nearby rule's proposal compared on the map and applied.
// Everything comes from the JSON API; the session cookie stands in for a bearer token.

import * as maplibregl from './vendor/maplibre-gl-6.20.0/maplibre-gl.mjs';

import { $, COLOURS, api, bbox, centre, config, distance, el, percent, t, when } from './common.js';

const state = { month: config.month, station: '', kind: '', coverage: null, proposal: null };

maplibregl.setWorkerUrl(`${config.maplibre}/maplibre-gl-worker.mjs`);

// ---- the map ----

const statusColour = ['match', ['get', 'status'], 'visited', COLOURS.visited, 'due', COLOURS.due, 'overdue', COLOURS.overdue, COLOURS.unassigned];
const polygons = ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]];
const points = ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]];
const tileUrl = () => `${window.location.origin}/v1/tiles/coverage/{z}/{x}/{y}.mvt?month=${state.month}`;

const layers = [
  { id: 'background', type: 'background', paint: { 'background-color': '#eef1f3' } },
  { id: 'stations-fill', type: 'fill', source: 'coverage', 'source-layer': 'stations',
    paint: { 'fill-color': ['match', ['get', 'level'], 'central', '#fbe3e0', '#f6f2e8'], 'fill-opacity': 0.9 } },
  { id: 'stations-line', type: 'line', source: 'coverage', 'source-layer': 'stations',
    paint: { 'line-color': '#8b1a1a', 'line-width': 1.5 } },
  { id: 'cells-fill', type: 'fill', source: 'coverage', 'source-layer': 'places', filter: polygons,
    paint: { 'fill-color': statusColour, 'fill-opacity': 0.35 } },
  { id: 'cells-line', type: 'line', source: 'coverage', 'source-layer': 'places', filter: polygons,
    paint: { 'line-color': statusColour, 'line-width': 1.2 } },
];
if (config.canPlan) {
  layers.push({ id: 'assignments', type: 'line', source: 'coverage', 'source-layer': 'assignments',
    paint: { 'line-color': '#1565c0', 'line-width': 1, 'line-opacity': 0.55 } });
}
layers.push(
  { id: 'points', type: 'circle', source: 'coverage', 'source-layer': 'places', filter: points,
    paint: { 'circle-color': statusColour, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 3, 14, 8],
      'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1.2 } },
  { id: 'station-labels', type: 'symbol', source: 'coverage', 'source-layer': 'stations',
    layout: { 'text-field': ['get', 'name'], 'text-size': 14 },
    paint: { 'text-color': '#5a1010', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 } },
  { id: 'place-labels', type: 'symbol', source: 'coverage', 'source-layer': 'places', minzoom: 13,
    layout: { 'text-field': ['get', 'name'], 'text-size': 11, 'text-offset': [0, 1.1], 'text-anchor': 'top' },
    paint: { 'text-color': '#333333', 'text-halo-color': '#ffffff', 'text-halo-width': 1 } },
);

const map = new maplibregl.Map({
  container: 'map',
  style: { version: 8, sources: { coverage: { type: 'vector', tiles: [tileUrl()], minzoom: 0, maxzoom: 16 } }, layers },
  center: [112.1, 35.15],
  zoom: 10,
  localIdeographFontFamily: '"Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif',
  attributionControl: false,
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
window.fieldvisitMap = map;
const mapReady = new Promise((resolve) => map.on('load', resolve));
// When places first show on the map (the first-load benchmark reads it).
map.on('idle', function shown() {
  if (map.queryRenderedFeatures({ layers: ['points', 'cells-fill'] }).length > 0) {
    document.body.dataset.placesShownMs = String(Math.round(performance.now()));
    map.off('idle', shown);
  }
});

function placeFilter(base) {
  const parts = [base];
  if (state.kind) parts.push(['==', ['get', 'kind'], state.kind]);
  if (state.station && state.coverage) {
    const ids = [...new Set(state.coverage.features.map((f) => f.properties.station_id))];
    parts.push(['in', ['get', 'station_id'], ['literal', ids]]);
  }
  return ['all', ...parts];
}

function applyMapFilters() {
  map.setFilter('cells-fill', placeFilter(polygons));
  map.setFilter('cells-line', placeFilter(polygons));
  map.setFilter('points', placeFilter(points));
  map.setFilter('place-labels', placeFilter(['literal', true]));
}

for (const layer of ['points', 'cells-fill']) {
  map.on('click', layer, (e) => { const f = e.features?.[0]; if (f) openPanel(f.properties.id); });
  map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
}

// ---- the month's coverage: counts, legend, the list beside the map ----

async function loadCoverage(fit) {
  const q = new URLSearchParams({ month: state.month });
  if (state.station) q.set('station_id', state.station);
  if (state.kind) q.set('kind', state.kind);
  const coverage = await api(`/v1/coverage?${q}`);
  state.coverage = coverage;
  for (const s of ['visited', 'due', 'overdue', 'unassigned']) $(`n-${s}`).textContent = coverage.totals[s];
  $('count-coverage').textContent = percent(coverage.totals.coverage_rate);
  const select = $('station');
  if (select.options.length === 1) {
    for (const s of coverage.stations) select.append(el('option', { value: s.station_id }, s.station_name));
  }
  const gaps = coverage.features
    .filter((f) => f.properties.status === 'overdue' || f.properties.status === 'unassigned')
    .sort((a, b) => a.properties.station_name.localeCompare(b.properties.station_name, 'zh')
      || a.properties.name.localeCompare(b.properties.name, 'zh'));
  const list = $('gaps');
  list.replaceChildren(...gaps.map((f) => el('li', { 'data-place': f.id },
    el('button', { type: 'button', class: f.properties.status, onclick: () => { flyTo(f); openPanel(f.id); } },
      `${f.properties.name} · ${f.properties.station_name} · ${t(`status.${f.properties.status}`)}`))));
  if (gaps.length === 0) list.append(el('li', { class: 'muted' }, t('list.empty')));
  await mapReady;
  map.getSource('coverage').setTiles([tileUrl()]);
  applyMapFilters();
  if (fit && coverage.features.length) {
    const b = coverage.features.map((f) => bbox(f.geometry)).reduce((a, c) => [
      Math.min(a[0], c[0]), Math.min(a[1], c[1]), Math.max(a[2], c[2]), Math.max(a[3], c[3])]);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, duration: 0 });
  }
  document.body.dataset.coverageLoaded = state.month;
}

function flyTo(feature) {
  map.flyTo({ center: centre(feature.geometry), zoom: Math.max(map.getZoom(), 13), essential: true });
}

async function loadCounts() {
  const stats = await api('/v1/issues/stats');
  $('count-visits').textContent = stats.total.visits ?? '–';
  $('count-raised').textContent = stats.total.raised;
  $('count-closed').textContent = stats.total.closed_out;
}

// ---- a place's panel: its month, visits, photos and issues ----

async function openPanel(placeId) {
  const feature = state.coverage?.features.find((f) => f.id === placeId);
  const body = $('panel-body');
  $('panel').hidden = false;
  body.replaceChildren(el('p', { class: 'muted' }, '…'));
  const p = feature?.properties;
  const [visits, findings, issues] = await Promise.all([
    api(`/v1/check-ins?place_id=${placeId}&limit=20`).catch(() => null),
    api(`/v1/findings?place_id=${placeId}&limit=20`).catch(() => null),
    api(`/v1/issues?place_id=${placeId}&limit=20`).catch(() => null),
  ]);
  const photos = (findings?.items || []).flatMap((f) => f.photo_ids || []).slice(0, 12);
  const thumbs = el('div', { class: 'thumbs' });
  for (const id of photos) {
    api(`/v1/photos/${id}/thumbnail`).then((r) => thumbs.append(el('img', { src: r.url, alt: '' }))).catch(() => {});
  }
  body.replaceChildren(
    el('h3', {}, p ? p.name : ''),
    p ? el('p', {}, el('span', { class: `status ${p.status}` }, t(`status.${p.status}`)), ' ',
      `${t(`kind.${p.kind}`)} · ${p.station_name}`) : '',
    p ? el('p', {}, `${t('panel.assigned')}: `, p.assigned.map((a) => a.name).join('、') || t('panel.none')) : '',
    p ? el('p', {}, `${t('panel.last_visit')}: ${when(p.last_visit_at)}`) : '',
    el('h4', {}, t('panel.visits')),
    el('ul', { id: 'panel-visits' }, (visits?.items || []).map((v) => el('li', {},
      `${when(v.visited_at)} ${v.person_name} · ${t(`verdict.${v.verdict}`)}${v.review ? ` · ${t(`review.${v.review}`)}` : ''}`))),
    el('h4', {}, t('panel.photos')),
    photos.length ? thumbs : el('p', { class: 'muted' }, t('panel.none')),
    el('h4', {}, t('panel.issues')),
    el('ul', { id: 'panel-issues' }, (issues?.items || []).map((i) => el('li', {}, `${i.number} ${i.title} (${i.state})`))),
  );
}
$('panel-close').addEventListener('click', () => { $('panel').hidden = true; });

// ---- the trend chart ----

async function loadTrend() {
  const trend = await api(`/v1/coverage/trend?months=12&month=${state.month}`);
  const months = trend.stations[0]?.months.map((m) => m.month) || [];
  const draw = () => {
    const chart = window.echarts.init($('trend'));
    chart.setOption({
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null ? '–' : `${v}%`) },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 40, right: 16, top: 28, bottom: 24 },
      xAxis: { type: 'category', data: months },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
      series: trend.stations.map((s) => ({
        name: s.station_name, type: 'line', smooth: true,
        data: s.months.map((m) => (m.coverage_rate === null ? null : Math.round(m.coverage_rate * 1000) / 10)),
      })),
    });
    window.addEventListener('resize', () => chart.resize());
    document.body.dataset.trendLoaded = 'yes';
  };
  if (window.echarts) draw(); else window.addEventListener('load', draw, { once: true });
}

// ---- the planner's nearby-rule proposal ----

let anchors = null;
async function proposalLines(proposal) {
  if (!anchors) {
    const people = await api('/v1/people?role=representative&limit=500');
    anchors = new Map(people.items.filter((p) => p.anchor).map((p) => [p.id, [p.anchor.lon, p.anchor.lat]]));
  }
  const places = new Map((state.coverage?.features || []).map((f) => [f.id, centre(f.geometry)]));
  const line = (pair, change) => {
    const a = anchors.get(pair.person_id); const b = places.get(pair.place_id);
    return a && b ? { type: 'Feature', properties: { change }, geometry: { type: 'LineString', coordinates: [a, b] } } : null;
  };
  return { type: 'FeatureCollection', features: [
    ...proposal.diff.added.map((p) => line(p, 'added')), ...proposal.diff.removed.map((p) => line(p, 'removed')),
  ].filter(Boolean) };
}

async function showComparison(on) {
  await mapReady;
  if (map.getLayer('proposal')) { map.removeLayer('proposal'); map.removeSource('proposal'); }
  if (!on || !state.proposal) return;
  map.addSource('proposal', { type: 'geojson', data: await proposalLines(state.proposal) });
  map.addLayer({ id: 'proposal', type: 'line', source: 'proposal', paint: {
    'line-color': ['match', ['get', 'change'], 'added', '#2e7d32', '#c62828'], 'line-width': 3,
    'line-dasharray': [2, 1] } });
}

async function loadRule() {
  if (!config.canPlan) return;
  const box = $('rule-body');
  const [latest] = await api('/v1/assignment-proposals?limit=1');
  if (!latest) { box.replaceChildren(t('rule.none')); return; }
  const proposal = await api(`/v1/assignment-proposals/${latest.id}`);
  state.proposal = proposal;
  let comparing = false;
  const compare = el('button', { type: 'button', id: 'rule-compare', onclick: async () => {
    comparing = !comparing; compare.textContent = comparing ? t('rule.hide') : t('rule.show'); await showComparison(comparing);
  } }, t('rule.show'));
  const apply = el('button', { type: 'button', id: 'rule-apply', onclick: async () => {
    if (!window.confirm(t('rule.confirm'))) return;
    apply.disabled = true;
    try {
      await api(`/v1/assignment-proposals/${proposal.id}/apply`, { method: 'POST' });
      box.prepend(el('p', { class: 'done', id: 'rule-applied' }, t('rule.applied')));
      await showComparison(false);
      await loadCoverage(false);
    } catch (e) { box.prepend(el('p', { class: 'error' }, e.message)); apply.disabled = false; }
  } }, t('rule.apply'));
  const renewProposal = el('button', { type: 'button', id: 'rule-new', onclick: async () => {
    renewProposal.disabled = true;
    await api('/v1/assignment-proposals', { method: 'POST', body: proposal.params });
    await loadRule();
  } }, t('rule.propose'));
  if (proposal.stale || proposal.applied_at) apply.disabled = true;
  box.classList.remove('muted');
  box.replaceChildren(
    el('p', {}, `${t('rule.made')}: ${when(proposal.created_at)}`),
    proposal.stale ? el('p', { class: 'error' }, t('rule.stale')) : '',
    el('table', {}, el('tbody', {},
      el('tr', {}, el('td', {}, t('rule.added')), el('td', { id: 'rule-added' }, proposal.diff.added.length)),
      el('tr', {}, el('td', {}, t('rule.removed')), el('td', { id: 'rule-removed' }, proposal.diff.removed.length)),
      el('tr', {}, el('td', {}, t('rule.kept')), el('td', {}, proposal.diff.kept)),
      el('tr', {}, el('td', {}, t('rule.unserved')), el('td', {}, proposal.unserved.length)),
      el('tr', {}, el('td', {}, t('rule.total')), el('td', {}, distance(proposal.total_distance_m))))),
    el('ul', {}, proposal.unserved.map((u) => el('li', {}, `${u.place_name}: ${t(`reason.${u.reason}`)}`))),
    el('div', { class: 'actions' }, compare, apply, renewProposal),
  );
}

// ---- filters ----

$('month').addEventListener('change', (e) => { state.month = e.target.value || config.month; loadCoverage(false); loadTrend(); });
$('station').addEventListener('change', (e) => { state.station = e.target.value; loadCoverage(true); });
$('kind').addEventListener('change', (e) => { state.kind = e.target.value; loadCoverage(false); });

const failed = (e) => { console.error(e); };
loadCoverage(true).catch(failed);
loadCounts().catch(failed);
loadTrend().catch(failed);
loadRule().catch(failed);
