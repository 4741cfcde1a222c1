// The page's shell is served from this cache first, so the tablet opens without a connection.
// API calls are not touched: the page keeps its own queue in IndexedDB.
"use strict";

// v2: the words moved out of app.js into messages.json; a new name drops the shell cached without them.
const CACHE = "intake-shell-v2";
const SHELL = ["./", "index.html", "app.js", "style.css", "config.json", "messages.json", "manifest.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const shell = event.request.method === "GET" && url.origin === location.origin && url.pathname.startsWith(new URL("./", location).pathname);
  if (!shell) return;
  // Stale-while-revalidate: answer from the cache at once, refresh it in the background.
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(event.request, { ignoreSearch: true });
      const fresh = fetch(event.request)
        .then((response) => {
          if (response.ok) cache.put(event.request, response.clone());
          return response;
        })
        .catch(() => cached || Response.error());
      if (cached) {
        event.waitUntil(fresh.then(() => undefined, () => undefined));
        return cached;
      }
      return fresh;
    }),
  );
});
