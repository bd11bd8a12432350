"""The attendance page on a phone over 3G, first visit: its weight and its time to interactive.

Through a real server, as in production: collectstatic into a temporary STATIC_ROOT with the
production storage (whitenoise's CompressedManifestStaticFilesStorage: hashed names, .gz and .br
siblings), then gunicorn with :mod:`bench.load.settings` (production settings, plain HTTP on
127.0.0.1) on the bench's database (the :class:`bench.load.run.Gunicorn` of ``make load``). The
apps' own static files (admin, DRF, the API docs' sidecar) and the dashboards' ECharts are left out
of collectstatic: no teacher's page loads them, and compressing them would take most of a minute.

The seeded ``teacher`` logs in through the login form in one browser context; its cookies are
copied into a fresh context for every run (cold HTTP cache, no service worker installed: a first
visit), 360×740, zh-CN, headless Chromium. Through the page's DevTools session the network is
Chrome DevTools' "3G" preset (562.5 ms latency, 1.6 Mbit/s × 0.9 down, 750 kbit/s × 0.9 up), then
``/attendance/`` is opened, the home-screen icon's start page (a teacher of one class gets the
class's take page there, without a redirect).

- Page weight: the sum of ``encodedDataLength`` (bytes on the wire, headers included) over every
  response the page received (``Network.loadingFinished``, plus the redirect) until the network is
  idle, then the manifest and its primary icon (Chrome on a phone fetches both on every visit to
  check whether the site can be installed; headless Chromium is asked to, through
  ``Page.getAppManifest`` and ``Page.getInstallabilityErrors``). The attendance pages compress
  themselves (``gzip_page``); anything else Django renders uncompressed is gzipped by nginx in
  production (deploy/nginx/kongchuo.conf: text/html and its ``gzip_types``, at its
  ``gzip_comp_level``, nginx's default 1 when unset). The target (< 150 KB) is checked on that
  figure: each such response's body counted at its gzip size, as nginx would send it. Static
  files come from whitenoise already compressed (brotli: Chromium offers it to 127.0.0.1 too), as
  in production. The figure as served by gunicorn is printed beside it. HTTP/1.1: production speaks
  HTTP/2 (smaller headers, and no limit of six connections that queues a seventh request behind
  the others), so both figures slightly overstate.
- Time to interactive: from navigation start (the redirect included) to the page's
  ``performance.mark("attendance-ready")`` (set once its handlers are attached); a page without
  the mark is timed to DOMContentLoaded instead and the figure's name says so. The median of RUNS
  first visits; target ≤ 2000 ms. What gunicorn sends uncompressed (the manifest) makes this a
  little slower than through nginx (the gzip's saving at 3G's throughput is printed beside it).
- The same with the CPU 4× slower (``Emulation.setCPUThrottlingRate``), a cheap phone: no target.

The service worker the page registers downloads in its own DevTools target, outside the page's
figures: what gunicorn served beyond the page's own requests during a run (its access log: body
bytes, the rendered pages uncompressed) is reported as the service worker's install downloads, for
information. Once it is installed it may have fetched a file before the page asks for it (the
favicon, the manifest's icon): the page then takes it from the cache and counts 0 bytes for it.

gunicorn runs at the real date, not the bench's: the page still renders the class roster.
"""

import base64
import concurrent.futures
import contextlib
import dataclasses
import gzip
import os
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

from students.demo.logins import DEFAULT_PASSWORD
from students.models import User

from .core import BenchContext, BenchResult
from .load.run import Gunicorn, free_port

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [  # as the browser tests (tests/browser/conftest.py)
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 360, "height": 740}
# Chrome DevTools' "3G" preset (formerly "Fast 3G"): latency in ms, throughput in bytes/s.
THREE_G = {
    "offline": False,
    "latency": 562.5,  # 150 ms round trip × 3.75
    "downloadThroughput": 180_000,  # 1.6 Mbit/s × 0.9 / 8
    "uploadThroughput": 84_375,  # 750 kbit/s × 0.9 / 8
}
CPU_SLOWDOWN = 4  # a cheap phone
RUNS = 3
READY_MARK = "attendance-ready"
WEIGHT_TARGET_KB = 150
READY_TARGET_MS = 2000
USERNAME = "teacher"
START_PATH = "/attendance/"
# Not collected: no teacher's page loads them (see the module docstring).
COLLECT_IGNORE = ["admin", "rest_framework", "drf_spectacular_sidecar", "echarts"]
TIMEOUT_MS = 60_000  # any one navigation or wait in the browser
MARK_WAIT_MS = 10_000  # after DOMContentLoaded, for the ready mark
IDLE_WAIT_MS = 15_000  # after the mark, for the page's late requests to finish
SW_WAIT_MS = 15_000  # after the load, for a registered service worker to finish installing
NGINX_CONF = Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "kongchuo.conf"
# The page's service worker once it is no longer installing: "none", "activated", "redundant" (its
# install failed) or "timeout".
SW_SETTLED = """async (ms) => {
    const registration = (await navigator.serviceWorker?.getRegistrations() ?? [])[0];
    if (!registration) return "none";
    const settled = new Promise((resolve) => {
        const check = () => {
            const worker = registration.installing || registration.waiting;
            if (worker) worker.addEventListener("statechange", check, {once: true});
            else resolve(registration.active ? registration.active.state : "redundant");
        };
        check();
    });
    return Promise.race([settled, new Promise((resolve) => setTimeout(() => resolve("timeout"), ms))]);
}"""
# Resolves once the page has set the mark (true) or after the timeout (false).
WAIT_FOR_MARK = """([name, ms]) => new Promise((resolve) => {
    const seen = () => performance.getEntriesByName(name, "mark").length > 0;
    if (seen()) return resolve(true);
    const observer = new PerformanceObserver(() => seen() && (observer.disconnect(), resolve(true)));
    observer.observe({type: "mark"});
    setTimeout(() => (observer.disconnect(), resolve(seen())), ms);
})"""
# gunicorn's default access line plus the response's Content-Length: a file sent with sendfile()
# (whitenoise's static files) is logged with 0 bytes sent.
ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({content-length}o)s'
ACCESS_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) (?P<sent>\d+|-) .* (?P<length>\d+|-)$'
)


@dataclasses.dataclass
class Resource:
    url: str
    status: int
    mime: str
    encoding: str  # Content-Encoding ("" for none)
    encoded: int  # bytes on the wire from gunicorn, headers included
    nginx: int  # the same through nginx (its gzip on what is not compressed yet)


@dataclasses.dataclass
class Visit:
    resources: list[Resource]
    ready_ms: float
    marked: bool  # the page set READY_MARK (else ready_ms is DOMContentLoaded)
    landed: str  # the page's path after the redirect
    milestones: dict[str, float]  # ms from navigation start: redirect, HTML, DOMContentLoaded, load
    sw_state: str  # the service worker after the load (SW_SETTLED)
    sw_requests: list[tuple[str, int]]  # (path, body bytes) gunicorn served beyond the page's requests

    @property
    def weight(self) -> int:
        return sum(r.encoded for r in self.resources)

    @property
    def weight_nginx(self) -> int:
        return sum(r.nginx for r in self.resources)


def nginx_gzip() -> tuple[set[str], int]:
    """The MIME types nginx gzips in production and its compression level (deploy/nginx)."""
    types, level = {"text/html"}, 1  # nginx always includes text/html; gzip_comp_level defaults to 1
    if NGINX_CONF.exists():
        conf = NGINX_CONF.read_text()
        for found in re.findall(r"^\s*gzip_types\s+([^;]+);", conf, re.MULTILINE):
            types.update(found.split())
        if found := re.search(r"^\s*gzip_comp_level\s+(\d+);", conf, re.MULTILINE):
            level = int(found.group(1))
    return types, level


def database_url() -> str:
    """The bench's own database as a DATABASE_URL for gunicorn (a test's test_ database too)."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(s.get("USER") or "", safe="")
        password = quote(s.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if user and password else f"{user}@" if user else ""
        port = f":{s['PORT']}" if s.get("PORT") else ""
        return f"postgres://{auth}{quote(s.get('HOST') or 'localhost', safe='')}{port}/{quote(s['NAME'], safe='')}"
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        return f"sqlite:///{s['NAME']}"
    raise CommandError(f"pwa: gunicorn cannot share this {connection.vendor} database ({s.get('NAME')})")


def server_env(static_root: Path) -> dict[str, str]:
    if not os.environ.get("REDIS_URL"):
        raise CommandError(
            "pwa 部分需要 Redis(生产配置)/ the pwa section runs gunicorn with production settings, which need"
            " REDIS_URL: run it under scripts/with-services.sh (make bench does)"
        )
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url(),
        "GUNICORN_CMD_ARGS": f"--access-logformat {shlex.quote(ACCESS_FORMAT)}",
    }


def collect_static(env: dict[str, str]) -> None:
    """collectstatic with the production storage (hashed names, .gz and .br), in its own process."""
    cmd = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    for pattern in COLLECT_IGNORE:
        cmd += ["--ignore", pattern]
    done = subprocess.run(
        cmd,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.load.settings", **env},
        cwd=settings.BASE_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise CommandError(f"pwa: collectstatic failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def served_since(log: Path, offset: int) -> list[tuple[str, int]]:
    """(path, body bytes) of every request in gunicorn's access log after ``offset``."""
    if not log.exists():
        return []
    with log.open("rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    return [
        (m["path"], max(int(n) for n in (m["sent"], m["length"], "0") if n != "-"))
        for m in (ACCESS_LINE.search(line) for line in text.splitlines())
        if m
    ]


def log_size(log: Path) -> int:
    return log.stat().st_size if log.exists() else 0


def log_in(browser, base_url: str) -> dict:
    """The teacher's cookies after logging in through the form, as a storage state with nothing else;
    then a few unthrottled loads of the page, so both gunicorn workers have compiled its templates."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{base_url}/accounts/login/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", DEFAULT_PASSWORD)
        try:
            with page.expect_navigation():
                page.click("main form button[type=submit]")
        except PlaywrightTimeout:
            raise CommandError("pwa: the login form did not answer") from None
        if "/accounts/login/" in page.url:
            raise CommandError(f"pwa: {USERNAME} could not log in with the demo password (seeded with --password?)")
        state = {"cookies": context.cookies(), "origins": []}
        for _ in range(4):
            response = page.goto(f"{base_url}{START_PATH}")
            if response is None or response.status != 200:
                raise CommandError(f"pwa: {START_PATH} answered {response and response.status} to {USERNAME}")
        return state
    finally:
        context.close()


def first_visit(
    browser, base_url: str, state: dict, *, cpu: int = 1, wait_for_mark: bool = True, access_log: Path
) -> Visit:
    """One first visit to START_PATH over 3G in a fresh context (cold cache, no service worker)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai", storage_state=state)
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        responses: dict[str, dict] = {}  # requestId → the response's url, status, mime, Content-Encoding
        finished: dict[str, int] = {}  # requestId → encodedDataLength
        redirects: list[Resource] = []

        def on_request(event):
            redirect = event.get("redirectResponse")
            if redirect:
                size = int(redirect.get("encodedDataLength") or 0)
                redirects.append(Resource(redirect["url"], redirect["status"], "(redirect)", "", size, size))

        def on_response(event):
            r = event["response"]
            headers = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
            responses[event["requestId"]] = {
                "url": r["url"],
                "status": r["status"],
                "mime": r.get("mimeType", ""),
                "encoding": headers.get("content-encoding", ""),
            }

        def on_finished(event):
            finished[event["requestId"]] = int(event["encodedDataLength"])

        cdp.on("Network.requestWillBeSent", on_request)
        cdp.on("Network.responseReceived", on_response)
        cdp.on("Network.loadingFinished", on_finished)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", THREE_G)
        if cpu != 1:
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})

        offset = log_size(access_log)
        response = page.goto(f"{base_url}{START_PATH}", wait_until="domcontentloaded")
        if response is None or response.status != 200:
            raise CommandError(f"pwa: {START_PATH} answered {response and response.status} on the 3G visit")
        if wait_for_mark:  # (not page.wait_for_function: it evaluates a string, which the page's CSP forbids)
            page.evaluate(WAIT_FOR_MARK, [READY_MARK, MARK_WAIT_MS])
        page.wait_for_load_state("load")
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_load_state("networkidle", timeout=IDLE_WAIT_MS)
        # Chrome on a phone checks on every visit whether the site can be installed: it fetches the
        # manifest and its primary icon. Headless Chromium does not by itself: ask it to.
        with contextlib.suppress(PlaywrightError):
            cdp.send("Page.getAppManifest")
            cdp.send("Page.getInstallabilityErrors")
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_load_state("networkidle", timeout=IDLE_WAIT_MS)
        timing = page.evaluate(
            """(name) => {
                const mark = performance.getEntriesByName(name, "mark")[0];
                const nav = performance.getEntriesByType("navigation")[0];
                return {
                    mark: mark ? mark.startTime : null, dcl: nav.domContentLoadedEventEnd,
                    redirect: nav.redirectEnd, html: nav.responseEnd, load: nav.loadEventEnd,
                };
            }""",
            READY_MARK,
        )
        marked = timing["mark"] is not None
        ready_ms = timing["mark"] if marked else timing["dcl"]

        types, level = nginx_gzip()
        resources = list(redirects)
        for request_id, size in finished.items():
            r = responses.get(request_id)
            if r is None or not r["url"].startswith(("http:", "https:")):  # data: URLs are not on the wire
                continue
            nginx = size
            if r["mime"] in types and not r["encoding"]:
                try:
                    body = cdp.send("Network.getResponseBody", {"requestId": request_id})
                except PlaywrightError:  # evicted: count it as served
                    body = None
                if body is not None:
                    raw = base64.b64decode(body["body"]) if body["base64Encoded"] else body["body"].encode()
                    nginx = size - len(raw) + len(gzip.compress(raw, compresslevel=level, mtime=0))
            resources.append(Resource(r["url"], r["status"], r["mime"], r["encoding"], size, min(size, nginx)))

        # The service worker's install (its own target): wait for it, then see what gunicorn served.
        sw_state = page.evaluate(SW_SETTLED, SW_WAIT_MS)
        time.sleep(0.3)  # gunicorn writes its access line just after the response
        # What the page took from gunicorn (not from the cache, which the service worker may have filled first).
        page_paths = Counter(urlsplit(r.url).path for r in resources if r.encoded > 0)
        sw_requests = []
        for path, size in served_since(access_log, offset):
            if page_paths[urlsplit(path).path] > 0:
                page_paths[urlsplit(path).path] -= 1
            else:
                sw_requests.append((path, size))
        return Visit(
            resources=resources,
            ready_ms=round(ready_ms, 1),
            marked=marked,
            landed=urlsplit(page.url).path,
            milestones={
                "redirect": round(timing["redirect"]),
                "HTML": round(timing["html"]),
                "DOMContentLoaded": round(timing["dcl"]),
                **({READY_MARK: round(timing["mark"])} if marked else {}),
                "load": round(timing["load"]),
            },
            sw_state=sw_state,
            sw_requests=sw_requests,
        )
    finally:
        context.close()


@contextlib.contextmanager
def stop_on_sigterm():
    """SIGTERM ends the section through its finally clauses (gunicorn stopped) rather than outright."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def kb(n: float) -> float:
    return round(n / 1024, 1)


def drive(base_url: str, access_log: Path, visits: list[Visit], slow: list[Visit]) -> None:
    """Log in, then RUNS first visits at full speed and RUNS with the CPU slowed (appended to the lists)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        try:
            state = log_in(browser, base_url)
            mark = True
            for _ in range(RUNS):
                visits.append(first_visit(browser, base_url, state, access_log=access_log))
                mark = mark and visits[-1].marked  # once missing, do not wait for it again
            for _ in range(RUNS):
                slow.append(
                    first_visit(browser, base_url, state, cpu=CPU_SLOWDOWN, wait_for_mark=mark, access_log=access_log)
                )
        finally:
            browser.close()


def bench_pwa(ctx: BenchContext) -> list[BenchResult]:
    """The attendance page, first visit on a phone over 3G through gunicorn: page weight < 150 KB
    (HTML at nginx's gzip size), time to ``attendance-ready`` ≤ 2000 ms (median of RUNS); the same
    with the CPU 4× slower for information. See the module docstring."""
    if connection.in_atomic_block:
        # A test's transaction: gunicorn, another process, would not see the seeded county.
        ctx.write("   skipped: the database is inside a transaction that gunicorn cannot see")
        return []
    if not CHROMIUM.exists():
        raise CommandError(
            f"pwa 部分需要 Chromium / the pwa section needs Chromium, none at {CHROMIUM}"
            " (apt-get install chromium fonts-noto-cjk; make bench installs it; or set CHROMIUM_PATH)"
        )
    try:
        from playwright.sync_api import Error as PlaywrightError
    except ImportError:
        raise CommandError("pwa: Playwright is not installed (pip install -e '.[dev]')") from None
    if not User.objects.filter(username=USERNAME, is_active=True).exists():
        raise CommandError(f"pwa: no active {USERNAME!r} account: run the seed section first")

    work = Path(tempfile.mkdtemp(prefix="kc-bench-pwa."))
    env = server_env(work / "static")
    gunicorn = Gunicorn(free_port(), work, env=env)
    visits: list[Visit] = []
    slow: list[Visit] = []
    try:
        with stop_on_sigterm():
            began = time.monotonic()
            collect_static(env)
            collected = time.monotonic() - began
            connection.close()  # no connection of ours idles while Playwright runs
            try:
                gunicorn.start()
            except RuntimeError as exc:
                raise CommandError(f"pwa: {exc}") from exc
            ctx.write(f"   collectstatic {collected:.0f} s; gunicorn on {gunicorn.url}")
            access_log = work / "access.log"
            try:
                # In a thread of its own: Playwright's sync API refuses a thread whose asyncio loop is
                # running (a test process whose browser tests already drive Chromium, for one).
                with concurrent.futures.ThreadPoolExecutor(1) as pool:
                    pool.submit(drive, gunicorn.url, access_log, visits, slow).result()
            except PlaywrightError as exc:
                raise CommandError(f"pwa: the browser failed: {exc}\n{gunicorn.log_tail()}") from exc
    finally:
        gunicorn.stop()
        shutil.rmtree(work, ignore_errors=True)

    first = visits[0]
    marked = all(v.marked for v in visits + slow)
    what = "time to interactive" if marked else "time to DOMContentLoaded (no attendance-ready mark)"
    ready = statistics.median(v.ready_ms for v in visits)
    ready_slow = statistics.median(v.ready_ms for v in slow)
    weight = statistics.median(v.weight for v in visits)
    weight_nginx = statistics.median(v.weight_nginx for v in visits)
    ctx.write(
        f"   {START_PATH} → {first.landed}; {what} per run: {[v.ready_ms for v in visits]} ms, "
        f"CPU {CPU_SLOWDOWN}× slower {[v.ready_ms for v in slow]} ms"
    )
    if len({v.weight for v in visits}) > 1:
        ctx.write(f"   page weight per run (as served): {[v.weight for v in visits]} bytes")
    largest = sorted(first.resources, key=lambda r: -r.nginx)[:3]
    ctx.write("   largest: " + ", ".join(f"{urlsplit(r.url).path} {kb(r.nginx)} KB" for r in largest))
    ctx.write(
        "   first visit, ms from navigation start: "
        + ", ".join(f"{name} {ms:,}" for name, ms in first.milestones.items())
    )
    saved = first.weight - first.weight_nginx
    if saved > 0:
        ctx.write(
            f"   through nginx the rendered responses would be {kb(saved)} KB smaller (gzip): about"
            f" {saved / THREE_G['downloadThroughput'] * 1000:.0f} ms less at 3G's throughput"
        )
    ctx.write(
        f"   service worker after the load: {first.sw_state}; besides the page gunicorn served"
        f" {len(first.sw_requests)} requests, {kb(sum(size for _path, size in first.sw_requests))} KB of bodies"
        " (the service worker's script and install, in its own target: not in the page weight)"
    )
    if ctx.verbosity >= 2:
        ctx.write(f"   {'bytes':>8} {'nginx':>8}  status  encoding  type  path (first 3G visit, as the page saw it)")
        for r in sorted(first.resources, key=lambda r: -r.encoded):
            path = urlsplit(r.url).path
            ctx.write(f"   {r.encoded:>8,} {r.nginx:>8,}  {r.status:>6}  {r.encoding or '-':8}  {r.mime}  {path}")
        for path, size in first.sw_requests:
            ctx.write(f"   {size:>8,} {'':>8}  {'':>6}  {'':8}  (service worker, body only)  {path}")
    suffix = "" if marked else ", DOMContentLoaded: no attendance-ready mark"
    sw_bytes = statistics.median(sum(size for _path, size in v.sw_requests) for v in visits)
    return [
        BenchResult("pwa page weight (3G first load)", kb(weight_nginx), "KB", WEIGHT_TARGET_KB),
        BenchResult("pwa page weight as served by gunicorn", kb(weight), "KB"),
        BenchResult("pwa requests (3G first load)", len(first.resources), ""),
        BenchResult("pwa service worker install downloads, bodies as served by gunicorn", kb(sw_bytes), "KB"),
        BenchResult(f"pwa time to interactive (3G{suffix})", round(ready), "ms", READY_TARGET_MS),
        BenchResult(f"pwa time to interactive (3G, CPU {CPU_SLOWDOWN}× slower{suffix})", round(ready_slow), "ms"),
    ]
