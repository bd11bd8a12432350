/* What a shared phone must not keep once its user is gone (every page loads this, after outbox.js).
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
  if (!outbox || typeof indexedDB === "undefined") return;
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
