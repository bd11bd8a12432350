/* 控辍保学 service worker (students/pwa.py serves it from /sw.js).
 *
 * - Static files of the attendance pages: kept at install, served from the copy (hashed names in
 *   production never change; others are refreshed in the background).
 * - Pages: only those the server marks with the offline header are kept, per user, and only the
 *   attendance pages carry it. They are fetched from the network first; when it fails or hangs, the
 *   copy is served, marked data-served="cache" so the page says it is offline. Any other page goes
 *   to the network, with a plain offline page when there is none.
 * - API calls and form posts are never touched: the outbox (outbox.js) sends the reports taken
 *   offline, from the page or from here on Background Sync.
 */
"use strict";
const SETTINGS = {{ settings|safe }};
const STATIC_CACHE = "kcb-static-" + SETTINGS.version;
const NETWORK_TIMEOUT_MS = 6000;
const FRESH_COPY_MS = 60 * 60 * 1000;  // warm() leaves a copy younger than this alone (3G costs)
const TAKE_PAGE = /^\/attendance\/take\/\d+\/$/;
importScripts(SETTINGS.outbox);

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then(function (cache) { return cache.addAll(SETTINGS.precache); })
      .then(function () { return self.skipWaiting(); })
  );
});

/* A new release: the page copies kept so far name the previous release's files, so its static cache
   stays (older ones go) and the copies are fetched again now, while the phone is online. */
self.addEventListener("activate", function (event) {
  event.waitUntil((async function () {
    const versions = ((await KcbOutbox.getMeta("static_versions")) || []).filter(function (v) { return v !== SETTINGS.version; });
    versions.push(SETTINGS.version);
    const keep = versions.slice(-2);
    await KcbOutbox.setMeta("static_versions", keep);
    for (const name of await caches.keys()) {
      if (name.indexOf("kcb-static-") === 0 && keep.indexOf(name.slice("kcb-static-".length)) < 0) await caches.delete(name);
    }
    await self.clients.claim();
    const user = await KcbOutbox.getMeta("user");
    if (user !== null && user !== undefined && (await caches.has(KcbOutbox.PAGE_CACHE_PREFIX + user))) {
      const copies = await (await caches.open(KcbOutbox.PAGE_CACHE_PREFIX + user)).keys();
      await warm(copies.map(function (req) { return new URL(req.url).pathname; }), true);
    }
  })());
});

function offlineCapable(url) {
  return url.pathname === SETTINGS.home || TAKE_PAGE.test(url.pathname);
}

function timeout(ms) {
  return new Promise(function (resolve) { setTimeout(function () { resolve(null); }, ms); });
}

/* Keep a page the server marked, in its user's cache (a page of another user means the phone changed hands). */
async function remember(url, response) {
  const owner = response.headers.get(SETTINGS.header);
  if (!response.ok || !owner || new URL(response.url).pathname !== url.pathname) return false;
  const user = Number(owner);
  if ((await KcbOutbox.getMeta("user")) !== user) await KcbOutbox.claim(user, null);
  const cache = await caches.open(KcbOutbox.PAGE_CACHE_PREFIX + user);
  await cache.put(url.pathname, response);
  return true;
}

async function fromCache(url) {
  const user = await KcbOutbox.getMeta("user");
  const name = KcbOutbox.PAGE_CACHE_PREFIX + user;
  if (user === null || user === undefined || !(await caches.has(name))) return null;
  const cache = await caches.open(name);
  const copy = await cache.match(url.pathname);
  if (!copy) {
    if (url.pathname !== SETTINGS.home) return null;
    // A teacher of one class is sent from /attendance/ to the class's page: do so offline as well.
    const takes = (await cache.keys()).filter(function (req) { return TAKE_PAGE.test(new URL(req.url).pathname); });
    return takes.length === 1 ? Response.redirect(takes[0].url + url.search, 302) : null;
  }
  const html = (await copy.text()).replace('data-served="network"', 'data-served="cache"');
  const headers = new Headers(copy.headers);  // its CSP names the nonce the copy's scripts carry
  headers.delete("Content-Length");  // the body is the decoded, marked text now
  headers.delete("Content-Encoding");
  return new Response(html, { status: copy.status, statusText: copy.statusText, headers: headers });
}

async function offlinePage() {
  const copy = await caches.match(SETTINGS.offlinePage);
  return copy || new Response("<!doctype html><meta charset=utf-8><title>离线</title><p>网络不可用 / offline", {
    status: 503, headers: { "Content-Type": "text/html; charset=utf-8" },
  });
}

async function navigate(event) {
  const url = new URL(event.request.url);
  if (!offlineCapable(url)) {
    try { return await fetch(event.request); } catch (error) { return offlinePage(); }
  }
  const network = fetch(event.request).then(async function (response) {
    await remember(url, response.clone());
    return response;
  });
  let response = null;
  try { response = await Promise.race([network, timeout(NETWORK_TIMEOUT_MS)]); } catch (error) { response = null; }
  if (response) return response;
  // No network, or none within the timeout: the copy, if there is one.
  const copy = await fromCache(url);
  if (copy) {
    event.waitUntil(network.catch(function () { return null; }));  // a slow answer still refreshes the copy
    return copy;
  }
  try { return await network; } catch (again) { return offlinePage(); }
}

/* This release's copy of a static file, else the previous release's (an older page copy names its files). */
async function staticCopy(request) {
  const names = (await caches.keys()).filter(function (name) { return name.indexOf("kcb-static-") === 0; });
  const ordered = names.filter(function (n) { return n === STATIC_CACHE; }).concat(names.filter(function (n) { return n !== STATIC_CACHE; }));
  for (const name of ordered) {  // (caches.keys() lists existing caches: open() creates none)
    const copy = await (await caches.open(name)).match(request, { ignoreSearch: true });
    if (copy) return copy;
  }
  return null;
}

async function staticFile(event) {
  const copy = await staticCopy(event.request);
  if (!copy) return fetch(event.request);  // not an attendance page's file: not kept
  if (!/\.[0-9a-f]{12}\.\w+$/.test(new URL(event.request.url).pathname) && (await caches.has(STATIC_CACHE))) {
    // An unhashed name (development) may change: refresh the copy for next time.
    const cache = await caches.open(STATIC_CACHE);
    event.waitUntil(fetch(event.request).then(function (response) {
      return response.ok ? cache.put(event.request, response) : null;
    }).catch(function () { return null; }));
  }
  return copy;
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (url.pathname.indexOf(SETTINGS.staticPrefix) === 0 || url.pathname === SETTINGS.offlinePage) {
    event.respondWith(staticFile(event));
  }
});

/* Keep copies of the user's attendance pages now (the page that registered us was loaded before we ran). */
async function warm(urls, force) {
  if (!(await caches.has(STATIC_CACHE))) {
    // Cleared at the last logout: keep the static files again for this user's offline pages.
    await (await caches.open(STATIC_CACHE)).addAll(SETTINGS.precache);
  }
  let kept = 0;
  for (const path of urls) {
    const url = new URL(path, self.location.origin);
    if (!offlineCapable(url)) continue;
    const user = await KcbOutbox.getMeta("user");
    if (user !== null && user !== undefined && (await caches.has(KcbOutbox.PAGE_CACHE_PREFIX + user))) {
      const copy = await (await caches.open(KcbOutbox.PAGE_CACHE_PREFIX + user)).match(url.pathname);
      const age = copy ? Date.now() - Date.parse(copy.headers.get("Date")) : NaN;
      if (!force && age < FRESH_COPY_MS) { kept += 1; continue; }
    }
    try {
      const response = await fetch(url.pathname, { credentials: "same-origin", cache: "no-store" });
      if (await remember(url, response)) kept += 1;
    } catch (error) { /* offline: nothing to keep now */ }
  }
  return kept;
}

self.addEventListener("message", function (event) {
  const data = event.data || {};
  const reply = event.ports && event.ports[0];
  let work = null;
  if (data.type === "warm") work = warm(data.urls || []);
  else if (data.type === "flush") work = KcbOutbox.flush();
  if (!work) return;
  event.waitUntil(work.then(
    function (result) { if (reply) reply.postMessage({ ok: true, result: result }); },
    function (error) { if (reply) reply.postMessage({ ok: false, error: String(error) }); }
  ));
});

self.addEventListener("sync", function (event) {
  if (event.tag !== KcbOutbox.SYNC_TAG) return;
  // Rejecting asks the browser to try again later (the network is still down).
  event.waitUntil(KcbOutbox.flush().then(function (done) { if (!done) throw new Error("offline"); }));
});
