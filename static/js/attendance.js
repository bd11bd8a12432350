/* The attendance pages, offline-first (templates/attendance/take.html and home.html).
 *
 * - Registers the service worker (/sw.js) and has it keep this user's attendance pages.
 * - A page served from the service worker's copy (data-served="cache") or opened without a network
 *   says so, and when its roster and calendar were last refreshed; the day shown is today's (or the
 *   ?date= asked for), from the copy's calendar and reports.
 * - Submitting queues the report in the outbox (outbox.js) first, then sends it: nothing is lost if
 *   the network drops. Waiting reports are sent on load, when the connection returns, on a timer and
 *   by Background Sync. A conflict shows both versions; the teacher chooses.
 * Without IndexedDB the form posts as before (the server renders the result).
 */
(function () {
  "use strict";

  const RETRY_MS = 30000;
  const app = document.getElementById("offline-app");
  const status = document.getElementById("offline-status");
  const outbox = self.KcbOutbox && typeof indexedDB !== "undefined" ? self.KcbOutbox : null;
  let outboxWorks = !!outbox;  // false if IndexedDB refuses (e.g. a private window): the form posts as before
  const fromCache = !!app && app.dataset.served === "cache";

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) { return key in values ? values[key] : match; });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function shanghaiToday() {
    // en-CA formats as YYYY-MM-DD; the school day is Beijing time's wherever the phone's clock is set.
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  }

  function mondayOf(isoDay) {
    const d = new Date(isoDay + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
    return d.toISOString().slice(0, 10);
  }

  function ask(worker, message) {
    return new Promise(function (resolve) {
      const channel = new MessageChannel();
      channel.port1.onmessage = function (event) { resolve(event.data); };
      worker.postMessage(message, [channel.port2]);
      setTimeout(function () { resolve(null); }, 60000);
    });
  }

  /* Register the service worker and have it keep these pages (a copy kept within the hour is left alone,
     so a page loaded through it costs nothing more); "ready" once this page's copy is on the phone. */
  function registerWorker(urls, readyText) {
    if (!("serviceWorker" in navigator) || !app) return;
    navigator.serviceWorker.register("/sw.js").then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      // Also keeps the static files again if a logout cleared them.
      return ask(registration.active, { type: "warm", urls: urls });
    }).then(function (reply) {
      if (reply && reply.ok && reply.result > 0 && status) {
        status.textContent = readyText;
        status.dataset.ready = "1";
      }
    }).catch(function () { /* no offline copy this time; the page works online */ });
  }

  function showOfflineBanner(text) {
    const banner = document.getElementById("offline-banner");
    if (!banner) return;
    const update = function () {
      const offline = fromCache || !navigator.onLine;
      banner.classList.toggle("d-none", !offline);
      if (text) banner.querySelector("span").textContent = text;
    };
    update();
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
  }

  const dataNode = document.getElementById("attendance-data");
  const form = document.getElementById("attendance-form");
  if (!dataNode || !form) {
    // The class list: keep the page and each class's page for offline use.
    const links = Array.prototype.map.call(document.querySelectorAll("#attendance-classes a[href]"), function (a) {
      return new URL(a.href).pathname;
    });
    showOfflineBanner(null);
    registerWorker([location.pathname].concat(links), status ? status.dataset.text || "" : "");
    performance.mark("attendance-ready");
    return;
  }

  const data = JSON.parse(dataNode.textContent);
  const T = data.text;
  const rows = Array.prototype.slice.call(form.querySelectorAll(".attendance-row"));
  const names = {};
  rows.forEach(function (row) { names[row.dataset.student] = row.querySelector(".student-name").textContent; });
  const today = fromCache ? shanghaiToday() : data.today;
  // A copy shows the day asked for, else the phone's today; a page from the server shows its own day.
  const day = fromCache ? new URLSearchParams(location.search).get("date") || today : data.day;
  const ready = fmt(T.offline_ready, { at: data.rendered_at });

  /* ---- the form ---- */

  function refresh() {
    let absent = 0;
    rows.forEach(function (row) {
      const checked = row.querySelector(".kind-radio:checked");
      const badge = row.querySelector(".state-badge");
      const isAbsent = !!checked && checked.value !== "";
      row.classList.toggle("is-absent", isAbsent);
      badge.className = "badge state-badge " + (isAbsent ? "text-bg-danger" : "text-bg-success");
      badge.textContent = isAbsent ? data.kinds[checked.value] : T.present;
      if (isAbsent) absent += 1;
    });
    document.getElementById("absent-summary").textContent =
      fmt(T.summary, { total: rows.length, absent: absent, present: rows.length - absent });
  }

  function readForm() {
    const absences = [];
    rows.forEach(function (row) {
      const id = row.dataset.student;
      const checked = row.querySelector(".kind-radio:checked");
      if (!checked || !checked.value) return;
      absences.push({
        student: Number(id),
        kind: checked.value,
        note: form.elements["note_" + id].value.trim(),
        family_contacted: form.elements["contacted_" + id].checked,
      });
    });
    return absences;
  }

  function setForm(absences) {
    const byStudent = {};
    absences.forEach(function (a) { byStudent[a.student] = a; });
    rows.forEach(function (row) {
      const id = row.dataset.student;
      const absence = byStudent[id];
      const radio = document.getElementById("k-" + id + "-" + (absence ? absence.kind : "present"));
      if (radio) radio.checked = true;
      form.elements["note_" + id].value = absence ? absence.note : "";
      form.elements["contacted_" + id].checked = !!(absence && absence.family_contacted);
      row.querySelector(".attendance-detail").classList.toggle("d-none", !absence);
    });
    refresh();
  }

  function setBanner(text, kind) {
    const banner = document.getElementById("report-state");
    if (!banner) return;
    banner.className = "alert py-2 small alert-" + kind;
    banner.textContent = text;
  }

  /* "2026-11-25T09:30:00+08:00" (a report as the API writes it, Beijing time) → "11-25 09:30". */
  function shortTime(iso) {
    return (iso || "").slice(5, 16).replace("T", " ");
  }

  function absencesText(absences) {
    if (!absences.length) return T.nobody_absent;
    return absences.map(function (a) {
      const name = names[a.student] || fmt(T.unknown_student, { id: a.student });
      return name + " " + (data.kinds[a.kind] || a.kind) + (a.note ? "(" + a.note + ")" : "");
    }).join("、");
  }

  /* ---- the day shown ---- */

  function weekNav() {
    // The copy may be from another day: this week's school days as the copy's calendar knows them.
    const nav = document.getElementById("week-days");
    nav.textContent = "";
    Object.keys(data.days).sort().forEach(function (d) {
      if (d < mondayOf(today) || d > today || !data.days[d].school) return;
      const link = el("a", "btn btn-sm " + (d === day ? "btn-primary" : "btn-outline-primary"), d.slice(5));
      link.href = "?date=" + d;
      nav.appendChild(link);
    });
  }

  function itemFor(d) {
    return outbox ? outbox.get(outbox.keyOf(data.user, data.classroom.id, d)) : Promise.resolve(null);
  }

  /* A copy's day: is it one to report, by the copy's calendar? (The server decided for its own pages.) */
  function checkDay() {
    const info = data.days[day];
    let why = null;
    if (!info) why = T.no_calendar;
    else if (!info.school) why = fmt(T.not_school_day, { day: day, why: info.why });
    else if (day > today || day < mondayOf(today)) why = T.outside_window;
    const notice = document.getElementById("not-school-day");
    notice.classList.toggle("d-none", !why);
    notice.textContent = why || "";
    document.getElementById("take-form").classList.toggle("d-none", !!why);
    return !why;
  }

  async function showDay() {
    form.elements.date.value = day;
    if (fromCache && !checkDay()) return;
    const report = data.reports[day] || null;
    const item = await itemFor(day);
    const pending = item && (item.state === "waiting" || item.state === "conflict");
    const sentNewer = item && item.state === "sent" && (!report || item.version > report.version);
    let version = report ? report.version : null;
    if (!fromCache && !pending && !sentNewer) {
      refresh();  // the server's own rendering of this day stands (with its notes, e.g. a changed roster)
      return;
    }
    if (pending) {
      setForm(item.absences);
      const base = item.base_version ? fmt(T.base_version, { version: item.base_version }) : T.base_none;
      if (item.state === "conflict") setBanner(T.conflict_banner, "danger");
      else setBanner(fmt(T.pending, { base: base }), "warning");
      version = item.base_version;
    } else if (sentNewer) {
      setForm(item.absences);
      setBanner(fmt(T.sent, { version: item.version }), "success");
      version = item.version;
    } else if (report) {
      setForm(report.absences);
      setBanner(fmt(T.reported, {
        version: report.version, by: report.submitted_by_name, at: shortTime(report.submitted_at),
        enrolled: report.enrolled_count, present: report.present_count,
      }), "success");
    } else {
      setForm([]);
      setBanner(T.not_reported, "info");
    }
    form.elements.version.value = version === null || version === undefined ? "" : version;
    const revisions = document.querySelector("#take-form details");
    if (revisions) revisions.classList.add("d-none");  // the server's list, of another state
  }

  /* ---- the outbox panel ---- */

  const STATE_CLASS = { waiting: "text-bg-warning", sent: "text-bg-success", conflict: "text-bg-danger", failed: "text-bg-secondary" };

  function stateText(item) {
    if (item.state === "sent") return fmt(T.sent, { version: item.version });
    if (item.state === "conflict") return T.conflict;
    if (item.state === "failed") return fmt(T.failed, { error: item.error || "" });
    return item.error === "auth" ? T.auth : T.waiting;
  }

  function conflictView(item) {
    const box = el("div", "mt-2 conflict");
    const server = item.server || { absences: [] };
    const mine = el("div", "border rounded p-2 mb-2 conflict-mine");
    mine.appendChild(el("div", "fw-semibold", T.yours));
    mine.appendChild(el("div", "", absencesText(item.absences)));
    const theirs = el("div", "border rounded p-2 mb-2 conflict-theirs");
    theirs.appendChild(el("div", "fw-semibold", fmt(T.theirs, {
      version: server.version, by: server.submitted_by_name || "", at: shortTime(server.submitted_at),
    })));
    theirs.appendChild(el("div", "", absencesText(server.absences || [])));
    const keep = el("button", "btn btn-sm btn-outline-secondary me-2 keep-theirs", T.keep_theirs);
    const mineButton = el("button", "btn btn-sm btn-primary use-mine", T.use_mine);
    keep.type = mineButton.type = "button";
    keep.addEventListener("click", function () { resolve(item, false); });
    mineButton.addEventListener("click", function () { resolve(item, true); });
    box.append(mine, theirs, keep, mineButton);
    return box;
  }

  async function renderOutbox() {
    if (!outbox) return;
    const panel = document.getElementById("outbox");
    const list = document.getElementById("outbox-items");
    const items = (await outbox.all()).filter(function (item) { return item.user === data.user; });
    items.sort(function (a, b) { return a.date < b.date ? 1 : a.date > b.date ? -1 : a.key < b.key ? -1 : 1; });
    list.textContent = "";
    items.forEach(function (item) {
      const li = el("li", "list-group-item outbox-item");
      li.dataset.key = item.key;
      li.dataset.state = item.state;
      const head = el("div", "d-flex justify-content-between gap-2");
      head.appendChild(el("span", "", item.classroom_name + " " + item.date.slice(5) + " · " +
        fmt(T.absent_count, { n: item.absences.length })));
      head.appendChild(el("span", "badge outbox-state " + (STATE_CLASS[item.state] || "text-bg-light"), stateText(item)));
      li.appendChild(head);
      if (item.state === "conflict") li.appendChild(conflictView(item));
      if (item.state === "failed") {
        const drop = el("button", "btn btn-sm btn-outline-secondary mt-2 drop-failed", T.drop_failed);
        drop.type = "button";
        drop.addEventListener("click", function () { outbox.resolveFailed(item.key).then(renderOutbox); });
        li.appendChild(drop);
      }
      list.appendChild(li);
    });
    panel.classList.toggle("d-none", !items.length);
  }

  async function resolve(item, useMine) {
    await outbox.resolveConflict(item.key, useMine);
    if (useMine) await send();
    if (navigator.onLine) { location.assign(location.pathname + "?date=" + item.date); return; }
    await renderOutbox();
    await showDay();
  }

  /* ---- sending ---- */

  function csrfToken() {
    const cookie = document.cookie.split("; ").find(function (c) { return c.indexOf("csrftoken=") === 0; });
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : form.elements.csrfmiddlewaretoken.value;
  }

  function askForSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.sync ? registration.sync.register(outbox.SYNC_TAG) : null;
    }).catch(function () { /* no Background Sync: the page retries on load, when online, on a timer */ });
  }

  // Concurrent sends queue on the outbox's lock; each sends what is still waiting by then.
  async function send() {
    if (navigator.onLine) await outbox.flush();
  }

  form.addEventListener("click", function (event) {
    const toggle = event.target.closest(".toggle-student");
    if (!toggle) return;
    const detail = toggle.parentElement.querySelector(".attendance-detail");
    const opening = detail.classList.contains("d-none");
    detail.classList.toggle("d-none");
    toggle.setAttribute("aria-expanded", opening ? "true" : "false");
  });
  form.addEventListener("change", refresh);

  if (outbox) {
    form.addEventListener("submit", async function (event) {
      if (!outboxWorks) return;
      event.preventDefault();
      const buttons = form.querySelectorAll("button[type=submit]");
      if (event.submitter && event.submitter.id === "all-present") {
        if (readForm().length && !window.confirm(fmt(T.all_present_confirm, { day: day }))) return;
        setForm([]);
      }
      buttons.forEach(function (b) { b.disabled = true; });
      let item;
      try {
        const version = form.elements.version.value;
        item = await outbox.queue({
          user: data.user,
          classroom: data.classroom.id,
          classroom_name: data.classroom.name,
          date: form.elements.date.value,
          base_version: version ? Number(version) : null,
          absences: readForm(),
          csrf: csrfToken(),
        });
      } catch (error) {
        outboxWorks = false;  // the phone cannot keep it: post the form as before
        HTMLFormElement.prototype.submit.call(form);
        return;
      }
      try {
        await send();
        const after = await outbox.get(item.key);
        if (after && after.state === "sent") {
          location.assign(location.pathname + "?date=" + after.date);  // the server's page of what it now holds
          return;
        }
        if (after && after.state === "waiting") {
          askForSync();
          setBanner(T.queued, "warning");
        }
        await renderOutbox();
      } finally {
        buttons.forEach(function (b) { b.disabled = false; });
      }
    });

    if (typeof BroadcastChannel !== "undefined") {
      new BroadcastChannel(outbox.CHANNEL).onmessage = function (event) {
        renderOutbox();
        const item = event.data || {};
        if (item.classroom === data.classroom.id && item.date === day && (item.state === "sent" || item.state === "conflict")) {
          showDay();
        }
      };
    }
    window.addEventListener("online", send);
    setInterval(function () {
      outbox.all().then(function (items) {
        if (items.some(function (item) { return item.state === "waiting" && item.user === data.user; })) send();
      });
    }, RETRY_MS);
  }

  showOfflineBanner(fmt(T.offline, { at: data.rendered_at }));
  if (fromCache) weekNav();
  const started = outbox
    ? outbox.claim(data.user, csrfToken()).then(showDay).then(renderOutbox).then(send)
      .catch(function () { outboxWorks = false; refresh(); })
    : Promise.resolve(refresh());
  started.then(function () {
    registerWorker([location.pathname], ready);
    if (fromCache && status) status.textContent = ready;
    performance.mark("attendance-ready");
    document.documentElement.dataset.ready = "1";
  });
})();
