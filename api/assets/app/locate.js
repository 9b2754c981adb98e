// Where the phone is. A check-in takes the browser's fix with its accuracy; the first
// fix is often coarse (cell towers, Wi-Fi), so the app keeps watching for a few
// seconds for one good enough to verify the visit, and sends the best it got.

// Resolves with the best position within `waitMs`, as soon as one is within `goodM`;
// `onFix` sees each fix as it comes (to show the accuracy improving). Rejects with the
// browser's error (`code` 1: permission refused, 2: no position, 3: timed out).
export function bestFix({ goodM = 30, waitMs = 8000, onFix = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(Object.assign(new Error('no geolocation'), { code: 2 }));
      return;
    }
    let best = null;
    let watch = null;
    const finish = () => {
      navigator.geolocation.clearWatch(watch);
      clearTimeout(timer);
      if (best) resolve(best); else reject(Object.assign(new Error('no fix'), { code: 3 }));
    };
    const timer = setTimeout(finish, waitMs);
    watch = navigator.geolocation.watchPosition(
      (p) => {
        const fix = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy, at: p.timestamp };
        if (!best || fix.accuracy < best.accuracy) best = fix;
        onFix(fix);
        if (fix.accuracy <= goodM) finish();
      },
      (e) => {
        // Refused is final; a missing fix may still come while the time lasts.
        if (e.code === 1) {
          navigator.geolocation.clearWatch(watch);
          clearTimeout(timer);
          reject(e);
        }
      },
      { enableHighAccuracy: true, maximumAge: 0, timeout: waitMs },
    );
  });
}

// A rough position for sorting places by distance (a minute old will do).
export function roughFix() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy }),
      () => resolve(null),
      { enableHighAccuracy: false, maximumAge: 60_000, timeout: 5000 },
    );
  });
}

const R = 6_371_008.8;
const rad = (d) => (d * Math.PI) / 180;
export function metres(a, b) {
  const dLat = rad(b[1] - a[1]);
  const dLon = rad(b[0] - a[0]);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a[1])) * Math.cos(rad(b[1])) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

function inRing(pt, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > pt[1]) !== (yj > pt[1]) && pt[0] < ((xj - xi) * (pt[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Metres from `pt` to a place's geometry, roughly (0 inside a grid cell; else to the
// nearest vertex): enough to sort places nearest first. The server measures the real
// distance of a check-in.
export function distanceTo(pt, geometry) {
  const polygons = geometry.type === 'Polygon' ? [geometry.coordinates]
    : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
  if (polygons.some((p) => inRing(pt, p[0]) && !p.slice(1).some((h) => inRing(pt, h)))) return 0;
  let best = Infinity;
  const walk = (c) => { if (typeof c[0] === 'number') best = Math.min(best, metres(pt, c)); else c.forEach(walk); };
  walk(geometry.coordinates);
  return best;
}
