/* Crowd Service: the expert app's service worker (served by /my/crowd/sw.js, scope /my/).
 *
 * - The expert's pages (offers, jobs, a job, the profile) are fetched from the network first and kept;
 *   without a connection the kept copy is shown, else the offline page.
 * - The assets those pages load (Odoo's bundles, Leaflet, icons) are served from the cache first.
 * - Every other request (customer pages, forms posted, JSON calls) goes to the network untouched.
 * - Logging out empties the cache: the next user of the phone never sees the previous one's pages.
 */
/* eslint-env serviceworker */
const CACHE = "crowd-expert-v1";
const OFFLINE_URL = "/my/crowd/offline";
const PAGES = /^\/my\/(offers|jobs|crowd\/profile|crowd\/offline)(\/|$)/;
const ASSETS = /^\/(web\/assets|web\/static|web\/image|crowd_service\/static|crowd_service_portal\/static)\//;

self.addEventListener("install", (event) => {
    event.waitUntil(
        caches
            .open(CACHE)
            .then((cache) => cache.add(new Request(OFFLINE_URL, { credentials: "same-origin" })))
            .catch(() => undefined)
            .then(() => self.skipWaiting())
    );
});

self.addEventListener("activate", (event) => {
    event.waitUntil(
        caches
            .keys()
            .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
            .then(() => self.clients.claim())
    );
});

async function networkFirst(request) {
    const cache = await caches.open(CACHE);
    try {
        const response = await fetch(request);
        // only real pages are kept (not a login page reached by a redirect)
        if (response.ok && !response.redirected) {
            await cache.put(request, response.clone());
        }
        return response;
    } catch {
        const kept = await cache.match(request, { ignoreSearch: true });
        return kept || (await cache.match(OFFLINE_URL)) || Response.error();
    }
}

async function cacheFirst(request) {
    const cache = await caches.open(CACHE);
    const kept = await cache.match(request);
    if (kept) {
        return kept;
    }
    const response = await fetch(request);
    if (response.ok) {
        await cache.put(request, response.clone());
    }
    return response;
}

self.addEventListener("fetch", (event) => {
    const request = event.request;
    const url = new URL(request.url);
    if (url.origin !== self.location.origin) {
        return;
    }
    if (url.pathname === "/web/session/logout") {
        event.waitUntil(caches.delete(CACHE));
        return;
    }
    if (request.method !== "GET") {
        return;
    }
    if (request.mode === "navigate" && PAGES.test(url.pathname)) {
        event.respondWith(networkFirst(request));
    } else if (ASSETS.test(url.pathname)) {
        event.respondWith(cacheFirst(request));
    }
});
