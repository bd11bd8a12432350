/* The attendance outbox: reports taken on the phone wait here (IndexedDB) until the server has them.
 *
 * Loaded by the attendance page and by the service worker (importScripts), so both send the same way.
 * One item per user, class and day: {key, user, classroom, classroom_name, date, base_version,
 * absences, state, csrf, queued_at, updated_at, version, sent_at, server, error, attempts}.
 *   waiting  — kept on the phone, sent when the connection returns (page load, "online", a timer,
 *              Background Sync in the service worker);
 *   sent     — the server has it (its version); cleared at logout;
 *   conflict — someone corrected the report meanwhile: the server's version is kept beside ours
 *              and nothing is sent until the teacher chooses;
 *   failed   — the server refused it (e.g. the correction window has passed): shown with the reason.
 * Sending is safe to repeat: the API answers an identical resubmit with 200 and writes nothing.
 * Sends are serialised across the page and the service worker with a Web Lock.
 *
 * On a page (not in the service worker) it also clears what a shared phone must not keep once its user
 * is gone — below, at the end; it lives here to spare every page a request.
 */
(function (global) {
  "use strict";

  const DB_NAME = "kcb-offline";
  const DB_VERSION = 1;
  const API = "/api/v1/attendance/";
  const LOCK = "kcb-outbox";
  const SYNC_TAG = "kcb-outbox";
  const CHANNEL = "kcb-outbox";
  const PAGE_CACHE_PREFIX = "kcb-pages-u";
  const SEND_TIMEOUT_MS = 20000;
  const KEEP_SENT_DAYS = 7;

  let dbPromise = null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        const req = indexedDB.open(DB_NAME, DB_VERSION);
        req.onupgradeneeded = function () {
          const database = req.result;
          database.createObjectStore("outbox", { keyPath: "key" });
          database.createObjectStore("meta", { keyPath: "name" });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { dbPromise = null; reject(req.error); };
      });
    }
    return dbPromise;
  }

  async function store(name, mode) {
    return (await db()).transaction(name, mode).objectStore(name);
  }

  async function all() { return request((await store("outbox", "readonly")).getAll()); }
  async function get(key) { return request((await store("outbox", "readonly")).get(key)); }
  async function put(item) {
    item.updated_at = new Date().toISOString();
    await request((await store("outbox", "readwrite")).put(item));
    announce(item);
    return item;
  }
  async function remove(key) {
    await request((await store("outbox", "readwrite")).delete(key));
    announce({ key: key, removed: true });
  }

  async function getMeta(name) {
    const row = await request((await store("meta", "readonly")).get(name));
    return row ? row.value : null;
  }
  async function setMeta(name, value) {
    await request((await store("meta", "readwrite")).put({ name: name, value: value }));
  }

  function announce(item) {
    if (typeof BroadcastChannel === "undefined") return;
    const channel = new BroadcastChannel(CHANNEL);
    channel.postMessage(item);
    channel.close();
  }

  function keyOf(user, classroom, date) { return user + ":" + classroom + ":" + date; }

  /* Keep a report taken on this phone (replacing an unsent one of the same class and day). */
  async function queue(report) {
    const key = keyOf(report.user, report.classroom, report.date);
    const now = new Date().toISOString();
    const previous = await get(key);
    const keepBase = previous && (previous.state === "waiting" || previous.state === "conflict");
    return put({
      key: key,
      user: report.user,
      classroom: report.classroom,
      classroom_name: report.classroom_name,
      date: report.date,
      // The version it was based on: an unsent edit of an unsent report keeps the first one's base.
      base_version: keepBase ? previous.base_version : report.base_version,
      absences: report.absences,
      csrf: report.csrf,
      state: "waiting",
      queued_at: now,
      attempts: 0,
      error: null,
      server: null,
    });
  }

  function withLock(fn) {
    if (global.navigator && navigator.locks && navigator.locks.request) {
      return navigator.locks.request(LOCK, fn);
    }
    return fn();
  }

  async function post(item) {
    const controller = typeof AbortController !== "undefined" ? new AbortController() : null;
    const timer = controller ? setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS) : null;
    try {
      return await fetch(API, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        signal: controller ? controller.signal : undefined,
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRFToken": item.csrf || "",
        },
        body: JSON.stringify({
          classroom: item.classroom,
          date: item.date,
          version: item.base_version,
          absences: item.absences,
          // Refused unless it is the signed-in user: a report never goes out under another account.
          submitted_as: item.user,
        }),
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /* Send one waiting item; returns its new state ("network" when the phone could not reach us). */
  async function send(item) {
    let response;
    try {
      response = await post(item);
    } catch (error) {
      item.attempts = (item.attempts || 0) + 1;
      item.error = "network";
      await put(item);
      return "network";
    }
    let body = {};
    try { body = await response.json(); } catch (error) { body = {}; }
    if (response.ok) {
      item.state = "sent";
      item.version = body.version;
      item.sent_at = new Date().toISOString();
      item.error = null;
      item.csrf = null;
    } else if (response.status === 409) {
      item.state = "conflict";
      item.server = body.current || null;
      item.error = body.detail || null;
    } else if (response.status === 401 || response.status === 403) {
      item.error = "auth";  // signed out, or another account: keep it for its teacher's next sign-in
    } else if (response.status >= 500 || response.status === 429) {
      item.error = "server";
    } else {
      item.state = "failed";
      item.error = body.detail || ("HTTP " + response.status);
    }
    item.attempts = (item.attempts || 0) + 1;
    await put(item);
    return item.state === "waiting" ? item.error : item.state;
  }

  /* Send every waiting report of the signed-in user. Resolves false if the network was down. */
  function flush() {
    return withLock(async function () {
      const user = await getMeta("user");
      if (user === null || user === undefined) return true;
      const items = (await all()).filter(function (item) { return item.state === "waiting" && item.user === user; });
      for (const item of items) {
        if ((await send(item)) === "network") return false;
      }
      return true;
    });
  }

  /* The conflict's choices: resend ours on top of the server's version, or drop ours. */
  async function resolveConflict(key, useMine) {
    const item = await get(key);
    if (!item || item.state !== "conflict") return null;
    if (!useMine) { await remove(key); return null; }
    item.base_version = item.server ? item.server.version : item.base_version;
    item.state = "waiting";
    item.server = null;
    item.error = null;
    await put(item);
    return item;
  }

  /* A refused report, once the teacher has read why: forget it. */
  async function resolveFailed(key) {
    const item = await get(key);
    if (item && item.state === "failed") await remove(key);
  }

  async function deleteCaches(keep) {
    if (typeof caches === "undefined") return;
    for (const name of await caches.keys()) {
      if (name.indexOf("kcb-") === 0 && name !== keep) await caches.delete(name);
    }
  }

  /* This phone is now used by ``user``: other users' page copies go, and their sent reports. */
  async function claim(user, csrf) {
    const previous = await getMeta("user");
    if (previous !== user) {
      if (typeof caches !== "undefined") {
        for (const name of await caches.keys()) {
          if (name.indexOf(PAGE_CACHE_PREFIX) === 0 && name !== PAGE_CACHE_PREFIX + user) await caches.delete(name);
        }
      }
      await setMeta("user", user);
    }
    const cutoff = Date.now() - KEEP_SENT_DAYS * 86400000;
    for (const item of await all()) {
      const done = item.state === "sent" || item.state === "failed";
      if (done && (item.user !== user || Date.parse(item.updated_at) < cutoff)) {
        await remove(item.key);
      } else if (item.user === user && item.state === "waiting" && csrf && item.csrf !== csrf) {
        item.csrf = csrf;  // the token of this sign-in
        await put(item);
      }
    }
  }

  /* Logout (and the login page): nobody is signed in on this phone. Every cache of the site goes —
     page copies and static files — and every sent or refused report; reports not yet sent stay,
     for their teacher's next sign-in. */
  async function forget() {
    await deleteCaches(null);
    if (typeof indexedDB === "undefined") return;
    await setMeta("user", null);
    for (const item of await all()) {
      if (item.state === "sent" || item.state === "failed") await remove(item.key);
    }
  }

  global.KcbOutbox = {
    API: API,
    SYNC_TAG: SYNC_TAG,
    CHANNEL: CHANNEL,
    PAGE_CACHE_PREFIX: PAGE_CACHE_PREFIX,
    all: all,
    get: get,
    queue: queue,
    flush: flush,
    resolveConflict: resolveConflict,
    resolveFailed: resolveFailed,
    claim: claim,
    forget: forget,
    getMeta: getMeta,
    setMeta: setMeta,
    keyOf: keyOf,
  };
})(self);

/* What a shared phone must not keep once its user is gone (every page, through this file).
 *
 * - Logout: the reports still waiting are sent first (a few seconds at most), then the service
 *   worker's caches (the copies of the attendance pages, the static files) and the sent reports are
 *   cleared before the logout is posted. Reports that could not be sent stay for their teacher's next
 *   sign-in: they are never sent under another account (the API checks ``submitted_as``).
 * - The login page (after a logout or an expired session): the same clearing, without sending.
 */
(function () {
  "use strict";
  const outbox = self.KcbOutbox;
  if (typeof document === "undefined" || typeof indexedDB === "undefined") return;  // the service worker
  const FLUSH_WAIT_MS = 3000;

  const logout = document.getElementById("logout-form");
  if (logout) {
    logout.addEventListener("submit", function (event) {
      event.preventDefault();
      const button = logout.querySelector("button");
      if (button) button.disabled = true;
      const waited = new Promise(function (resolve) { setTimeout(resolve, FLUSH_WAIT_MS); });
      Promise.race([navigator.onLine ? outbox.flush() : null, waited])
        .catch(function () { return null; })
        .then(function () { return outbox.forget(); })
        .catch(function () { return null; })
        .then(function () { logout.submit(); });  // submit() fires no submit event: no loop
    });
  }
  if (document.querySelector("[data-forget-offline]")) {
    outbox.forget().catch(function () { return null; });
  }
})();
