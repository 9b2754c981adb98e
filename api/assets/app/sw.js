// The field app's service worker (its release VERSION, the PRECACHE list and where
// MapLibre lives are written in front of this by the server). It keeps the app's
// shell and files for opening with no signal: the release's files are cached at
// install and answered from the cache (they never change under their version); the
// map library is kept once the map screen has loaded it. The API is never cached
// here: the app's own store holds the data, and answers from the network only.
// With Background Sync (Chromium), it also pushes the outbox when the network returns,
// with the app closed.

const CACHE = `fieldvisit-app-${VERSION}`;
const LIBRARIES = 'fieldvisit-libraries';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('fieldvisit-app-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname === '/app' || PRECACHE.includes(url.pathname)) {
    // The shell is the same for any query (`?lang=`); the files are what their URL says.
    event.respondWith((async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(url.pathname === '/app' ? '/app' : event.request, { ignoreSearch: url.pathname === '/app' });
      return hit ?? fetch(event.request);
    })());
  } else if (url.pathname.startsWith(MAP_LIBRARY)) {
    event.respondWith((async () => {
      const cache = await caches.open(LIBRARIES);
      const hit = await cache.match(event.request);
      if (hit) return hit;
      const res = await fetch(event.request);
      if (res.ok) await cache.put(event.request, res.clone());
      return res;
    })());
  }
});

self.addEventListener('sync', (event) => {
  if (event.tag === 'fieldvisit-outbox' && typeof syncInWorker === 'function') {
    event.waitUntil(syncInWorker());
  }
});
