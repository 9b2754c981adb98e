// The map screen: the representative's places of the month, coloured by status, over
// the station's coverage tiles (the console's, drawn the same way), and where the phone
// is. MapLibre (800 KB) is loaded only here, from the vendored copy the console uses;
// the service worker keeps it once loaded, and the places layer comes from the phone's
// own store, so the map still shows them offline (the tiles need the network).

const COLOURS = { visited: '#2e7d32', due: '#f9a825', overdue: '#c62828', unassigned: '#757575' };
const statusColour = ['match', ['get', 'status'], 'visited', COLOURS.visited, 'due', COLOURS.due, 'overdue', COLOURS.overdue, COLOURS.unassigned];

let maplibre = null;

export async function show(container, entries, position) {
  const config = globalThis.fieldvisitConfig;
  if (!document.getElementById('maplibre-css')) {
    document.head.append(Object.assign(document.createElement('link'),
      { id: 'maplibre-css', rel: 'stylesheet', href: `${config.maplibre}/maplibre-gl.css` }));
  }
  maplibre ??= await import(`${config.maplibre}/maplibre-gl.mjs`);
  maplibre.setWorkerUrl(`${config.maplibre}/maplibre-gl-worker.mjs`);
  const features = entries.map((x) => ({ type: 'Feature', geometry: x.place.geometry,
    properties: { id: x.place.id, name: x.place.properties.name, status: x.status } }));
  const here = position ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: [position.lon, position.lat] }, properties: {} }] : [];
  const month = new Date().toLocaleDateString('en-CA', { timeZone: 'Asia/Shanghai' }).slice(0, 7);
  const polygons = ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]];
  const points = ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]];
  const map = new maplibre.Map({
    container,
    style: {
      version: 8,
      sources: {
        coverage: { type: 'vector', tiles: [`${window.location.origin}/v1/tiles/coverage/{z}/{x}/{y}.mvt?month=${month}`], minzoom: 0, maxzoom: 16 },
        mine: { type: 'geojson', data: { type: 'FeatureCollection', features } },
        here: { type: 'geojson', data: { type: 'FeatureCollection', features: here } },
      },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#eef1f3' } },
        { id: 'stations-line', type: 'line', source: 'coverage', 'source-layer': 'stations', paint: { 'line-color': '#8b1a1a', 'line-width': 1.2 } },
        { id: 'others', type: 'circle', source: 'coverage', 'source-layer': 'places', filter: points,
          paint: { 'circle-color': '#b0b7bd', 'circle-radius': 3 } },
        { id: 'cells-fill', type: 'fill', source: 'mine', filter: polygons, paint: { 'fill-color': statusColour, 'fill-opacity': 0.35 } },
        { id: 'cells-line', type: 'line', source: 'mine', filter: polygons, paint: { 'line-color': statusColour, 'line-width': 2 } },
        { id: 'points', type: 'circle', source: 'mine', filter: points,
          paint: { 'circle-color': statusColour, 'circle-radius': 9, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } },
        { id: 'labels', type: 'symbol', source: 'mine',
          layout: { 'text-field': ['get', 'name'], 'text-size': 13, 'text-offset': [0, 1.2], 'text-anchor': 'top' },
          paint: { 'text-color': '#222', 'text-halo-color': '#fff', 'text-halo-width': 1.5 } },
        { id: 'here', type: 'circle', source: 'here',
          paint: { 'circle-color': '#1565c0', 'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } },
      ],
    },
    center: position ? [position.lon, position.lat] : [112.1, 35.15],
    zoom: 12,
    localIdeographFontFamily: '"Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif',
    attributionControl: false,
  });
  map.addControl(new maplibre.NavigationControl({ showCompass: false }), 'top-right');
  const coords = [...features.map((f) => f.geometry), ...here.map((f) => f.geometry)];
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') { b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]); } else c.forEach(walk);
  };
  coords.forEach((g) => walk(g.coordinates));
  if (Number.isFinite(b[0])) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, maxZoom: 15, duration: 0 });
  map.on('click', (e) => {
    const hit = map.queryRenderedFeatures(e.point, { layers: ['points', 'cells-fill'] })[0];
    if (hit) window.location.hash = `place/${hit.properties.id}`;
  });
  window.fieldvisitMap = map;
  return map;
}
