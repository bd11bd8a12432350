"""``make load``: gunicorn under wrk on the demo county, the project's submit against a bare write.

Run by ``scripts/load.sh`` under ``scripts/with-services.sh`` (throwaway PostgreSQL + Redis):

    python -m bench.load.run

1. migrate, ``seed_demo --students $LOAD_STUDENTS`` (a term of attendance up to today),
   collectstatic (production serves hashed static names), a DRF token for ``bureau``, database
   sessions for up to $LOAD_PRINCIPALS principals (p003, p004, …);
2. bodies (:mod:`bench.load.bodies`): every (class, school day of this week up to today) for the
   project endpoint (scenario 2 gets what scenario 1 did not send); (class, earlier school day)
   for the bare endpoint; every report on those days deleted first, so each body is a first submit;
3. the database settled: VACUUM ANALYZE of every table and a CHECKPOINT (again before each later
   run), so neither autovacuum's first pass over the seed nor its write-back runs during a
   measurement; then gunicorn ``config.wsgi`` with :mod:`bench.load.settings` (production settings
   + the bare route), 2 sync workers, REDIS_URL as broker and cache, no Celery worker (the risk
   evaluations queue up in Redis); a few refused requests warm both workers;
4. scenario 1, one after the other with the same wrk (-t$LOAD_THREADS -c$LOAD_CONNECTIONS
   -d$LOAD_DURATION): the bare endpoint, then POST /api/v1/attendance/ (token of ``bureau``);
5. scenario 2: principals refreshing GET /dashboard/school/ (rotating session cookies) while
   teachers submit, two wrk side by side with half the connections each;
6. a table of rates, p50/p99 latency (wrk's latency distribution) and errors, then the database
   check of every submit pool (:func:`bench.load.bodies.verify`). Exit status 1 if a check fails.

The project runs this week's days only, so with few school days so far this week (Monday) or a
small county there may be too few bodies for $LOAD_DURATION: the project's run is then shortened
to what the bodies allow at the bare endpoint's measured rate (the project does strictly more per
request, so it cannot be faster), and the output says so; scenario 2 likewise at scenario 1's
project rate. If a thread still runs out, the rate is marked as
understated (wrk divides by the whole duration).

gunicorn runs in its own process group and is stopped (TERM, then KILL) whatever happens;
scripts/load.sh also kills it from its pid file. Every wrk has a hard timeout.
"""

import concurrent.futures
import dataclasses
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from importlib import import_module
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBMIT_PATH = "/api/v1/attendance/"
DASHBOARD_PATH = "/dashboard/school/"
BOUND_FACTOR = 1.0  # the project does strictly more than the bare write: assumed no faster
SETTLE_SECONDS = 2  # after a wrk stops, for the requests still in flight to finish before counting rows


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclasses.dataclass
class Knobs:
    students: int = env_int("LOAD_STUDENTS", 100_000)
    duration: int = env_int("LOAD_DURATION", 15)
    connections: int = env_int("LOAD_CONNECTIONS", 40)
    threads: int = env_int("LOAD_THREADS", 2)
    seed: int = env_int("LOAD_SEED", 1)
    principals: int = env_int("LOAD_PRINCIPALS", 20)
    timeout: int = env_int("LOAD_TIMEOUT", 5)  # wrk's per-request timeout, seconds


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def say(msg: str) -> None:
    out(f"load: {msg}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn in its own process group; stop() is idempotent. ``env`` is added to this process's
    environment (bench/pwa.py passes its SECRET_KEY, STATIC_ROOT and DATABASE_URL)."""

    def __init__(self, port: int, workdir: Path, env: dict[str, str] | None = None):
        self.port, self.workdir, self.env = port, workdir, env or {}
        self.proc: subprocess.Popen | None = None
        self.pidfile = Path(os.environ.get("LOAD_GUNICORN_PIDFILE") or workdir / "gunicorn.pid")

    def start(self) -> None:
        bin_dir = Path(sys.executable).parent
        cmd = [
            str(bin_dir / "gunicorn"),
            "-c",
            "config/gunicorn.py",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--graceful-timeout",
            "20",
            "--access-logfile",
            str(self.workdir / "access.log"),
            "--error-logfile",
            str(self.workdir / "gunicorn.log"),
            "--pid",
            str(self.pidfile),
            "--no-control-socket",  # its default path is shared by every gunicorn of this user
        ]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.load.settings", **self.env}
        # Django's own log lines (a 400 is a warning) go to the worker's stderr: keep them out of the table.
        with (self.workdir / "gunicorn.log").open("ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=HERE.parents[1],  # the repository: config/gunicorn.py and config.wsgi
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:  # any answer will do: /healthz says 503 without a Celery beat heartbeat
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn not answering /healthz after 60 s:\n{self.log_tail()}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        log = self.workdir / "gunicorn.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 25), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


def wrk_command(k: Knobs, url: str, script: str, duration: int, threads: int, connections: int, *args: str):
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        f"--timeout={k.timeout}s",
        "--latency",
        "-s",
        str(HERE / script),
        url,
        "--",
        *args,
    ]


def run_wrk(procs: list[tuple[list[str], Path]], duration: int):
    """Start the wrk commands together, wait (hard timeout), return their parsed results."""
    from .bodies import WrkResult

    running = [
        (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), out) for cmd, out in procs
    ]
    results = []
    for proc, out in running:
        try:
            output, _ = proc.communicate(timeout=duration + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RuntimeError("wrk did not finish in time") from None
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(f"wrk failed ({proc.returncode}):\n{output}")
        results.append(WrkResult.parse(out.read_text()))
    return results


def warm_up(url: str, requests: list[tuple[str, str, bytes | None, dict]]) -> list[int]:
    """Send each request a few times over 4 connections (both workers import everything); statuses."""

    def one(req):
        path, method, data, headers = req
        r = urllib.request.Request(url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(r, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, requests * 8))


def ms(us: int) -> str:
    return f"{us / 1000:.1f}"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.load.settings")
    import django

    django.setup()

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from students.calendar import SchoolCalendar
    from students.demo.logins import table
    from students.models import Classroom, County, Post, User

    from ..core import checkpoint, vacuum
    from .bare import BARE_PATH
    from .bodies import (
        build_bodies,
        clear_days,
        current_week_school_days,
        earlier_school_days,
        enrolled_by_class,
        sent_indexes,
        verify,
        write_bodies,
    )

    k = Knobs()
    if shutil.which("wrk") is None:
        say("wrk not found (make load installs it: apt-get install wrk)")
        return 2
    work = Path(tempfile.mkdtemp(prefix="kc-load."))
    gunicorn = Gunicorn(free_port(), work)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", students=k.students, seed=k.seed, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        say(f"seeded {k.students:,} students, migrated, collected static in {time.monotonic() - started:.0f} s")

        today = timezone.localdate()
        calendar = SchoolCalendar(County.objects.get().pk)
        week = current_week_school_days(calendar, today)
        if not week:
            say(f"no school day this week up to today ({today}): the attendance submit cannot be driven today")
            return 2
        pupils = enrolled_by_class()
        rng = random.Random(k.seed)
        pool1 = build_bodies(pupils, week, rng)
        wanted_bare = k.duration * 1000  # comfortably above the ≈600 req/s ceiling of this machine kind
        bare_days = earlier_school_days(calendar, week[0], max(1, -(-wanted_bare // max(1, len(pupils)))))
        bare = build_bodies(pupils, bare_days, rng)
        deleted = clear_days(week + bare_days)
        bureau = User.objects.get(username="bureau")
        token = Token.objects.get_or_create(user=bureau)[0].key
        bodies_dir = work / "bodies"
        bodies_dir.mkdir()
        write_bodies(bodies_dir / "project1.jsonl", pool1)
        write_bodies(bodies_dir / "bare.jsonl", bare, submitted_by=bureau.pk)

        principals = list(
            User.objects.filter(
                username__regex=r"^p[0-9]{3}$",
                posts__in=Post.objects.active().filter(role=Post.Role.PRINCIPAL),
            )
            .distinct()
            .order_by("username")[: k.principals]
        )
        store = import_module(settings.SESSION_ENGINE).SessionStore
        session_keys = []
        for user in principals:
            session = store()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.save()
            session_keys.append(session.session_key)
        say(
            f"today {today} ({today:%a}); this week's school days so far: {', '.join(map(str, week))}; "
            f"{len(pupils):,} classes with enrolled students of {Classroom.objects.count():,}; "
            f"bodies: project {len(pool1):,} (scenario 2 takes what scenario 1 leaves), bare {len(bare):,} on "
            f"{len(bare_days)} earlier days; {deleted:,} seeded reports deleted; {len(session_keys)} principal sessions"
        )

        # Settle the database: the seed's and the deletions' write-back must not run during a measurement.
        began = time.monotonic()
        vacuum()  # every table: autovacuum's first pass over the seed would otherwise run mid-measurement
        settled = "VACUUM ANALYZE and CHECKPOINT" if checkpoint() else "VACUUM ANALYZE (CHECKPOINT not permitted)"
        settled += f" in {time.monotonic() - began:.0f} s"
        say(f"database settled before measuring: {settled}; a CHECKPOINT again before each later run")

        gunicorn.start()
        auth = f"Token {token}"
        json_headers = {"Content-Type": "application/json"}
        refused_project = json.dumps(
            {"classroom": pool1[0].classroom, "date": today.isoformat(), "absences": [{"student": -1, "kind": "x"}]}
        ).encode()
        warm = warm_up(
            gunicorn.url,
            [
                (SUBMIT_PATH, "POST", refused_project, {**json_headers, "Authorization": auth}),
                (BARE_PATH, "POST", b'{"classroom": 0}', json_headers),
                (DASHBOARD_PATH, "GET", None, {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_keys[0]}"}),
            ],
        )
        say(
            f"gunicorn on {gunicorn.url} (2 sync workers, settings bench.load.settings); "
            f"warm-up statuses {sorted(set(warm))}"
        )

        # --- scenario 1: bare, then project ---------------------------------------------------
        notes = []
        out_bare, out_p1 = work / "bare.out", work / "project1.out"
        (r_bare,) = run_wrk(
            [
                (
                    wrk_command(
                        k,
                        gunicorn.url,
                        "submit.lua",
                        k.duration,
                        k.threads,
                        k.connections,
                        BARE_PATH,
                        str(bodies_dir / "bare.jsonl"),
                        str(k.threads),
                        str(out_bare),
                    ),
                    out_bare,
                )
            ],
            k.duration,
        )
        d1 = k.duration
        allowed = int(len(pool1) / (BOUND_FACTOR * max(r_bare.rate, 1.0)))
        if allowed < d1:
            d1 = max(1, allowed)
            notes.append(
                f"only {len(pool1):,} first submits available ({len(week)} school day(s) this week so far × "
                f"{len(pupils):,} classes): scenario 1's project run shortened to {d1} s"
            )
        checkpoint()  # the bare run's writes are written back now, not during the project's run
        (r_p1,) = run_wrk(
            [
                (
                    wrk_command(
                        k,
                        gunicorn.url,
                        "submit.lua",
                        d1,
                        k.threads,
                        k.connections,
                        SUBMIT_PATH,
                        str(bodies_dir / "project1.jsonl"),
                        str(k.threads),
                        str(out_p1),
                        auth,
                    ),
                    out_p1,
                )
            ],
            d1,
        )

        time.sleep(SETTLE_SECONDS)
        check1 = verify(pool1, r_p1, k.threads)  # before scenario 2 writes the bodies it did not send
        sent1 = sent_indexes(r_p1, k.threads)
        pool2 = [b for i, b in enumerate(pool1) if i not in sent1]
        write_bodies(bodies_dir / "project2.jsonl", pool2)

        # --- scenario 2: dashboards + submits side by side --------------------------------------
        half = max(1, k.connections // 2)
        d2 = k.duration
        allowed2 = int(len(pool2) / (BOUND_FACTOR * max(r_p1.rate, 1.0)))
        if allowed2 < d2:
            d2 = max(1, allowed2)
            notes.append(f"only {len(pool2):,} first submits available for scenario 2: run shortened to {d2} s")
        out_p2, out_dash = work / "project2.out", work / "dashboard.out"
        checkpoint()
        r_p2, r_dash = run_wrk(
            [
                (
                    wrk_command(
                        k,
                        gunicorn.url,
                        "submit.lua",
                        d2,
                        1,
                        half,
                        SUBMIT_PATH,
                        str(bodies_dir / "project2.jsonl"),
                        "1",
                        str(out_p2),
                        auth,
                    ),
                    out_p2,
                ),
                (
                    wrk_command(
                        k,
                        gunicorn.url,
                        "dashboard.lua",
                        d2,
                        1,
                        half,
                        DASHBOARD_PATH,
                        settings.SESSION_COOKIE_NAME,
                        str(out_dash),
                        ",".join(session_keys),
                    ),
                    out_dash,
                ),
            ],
            d2,
        )
        time.sleep(SETTLE_SECONDS)
        gunicorn.stop()

        # --- results ---------------------------------------------------------------------------
        def row(name, r, conns, secs):
            rate = f"{r.rate:,.1f}" + (" (understated: bodies ran out)" if r.exhausted else "")
            return [
                name,
                f"{conns}",
                f"{secs}",
                f"{r.requests:,}",
                rate,
                ms(r.p50_us),
                ms(r.p99_us),
                f"{r.non_2xx}",
                f"{r.socket_errors}",
                f"{r.timeouts}",
            ]

        header = [
            "scenario / endpoint",
            "conns",
            "s",
            "requests",
            "req/s",
            "p50 ms",
            "p99 ms",
            "non-2xx",
            "socket err",
            "timeouts",
        ]
        out()
        out(
            f"make load: {k.students:,} students, gunicorn 2 sync workers, wrk -t{k.threads} -c{k.connections} "
            f"-d{k.duration}s, {os.cpu_count()} CPUs"
        )
        out(
            table(
                header,
                [
                    row("1 bare write  POST " + BARE_PATH, r_bare, k.connections, k.duration),
                    row("1 project     POST " + SUBMIT_PATH, r_p1, k.connections, d1),
                    row("2 project     POST " + SUBMIT_PATH, r_p2, half, d2),
                    row("2 principals  GET  " + DASHBOARD_PATH, r_dash, half, d2),
                ],
            )
        )
        ratio = r_p1.rate / r_bare.rate if r_bare.rate else float("nan")
        out(
            f"ratio project/bare (scenario 1): {ratio:.2f}  "
            f"(p50 {r_p1.p50_us / max(r_bare.p50_us, 1):.1f}× the bare write's)"
        )
        for r, name in ((r_bare, "bare"), (r_p1, "project 1"), (r_p2, "project 2"), (r_dash, "dashboard")):
            out(f"statuses {name}: {dict(sorted(r.statuses.items()))}")
        for note in notes:
            out(f"note: {note}")

        checks = [
            ("bare", verify(bare, r_bare, k.threads)),
            ("project 1", check1),
            ("project 2", verify(pool2, r_p2, 1, frozenset(pool1[i].key for i in sent1))),
        ]
        for name, check in checks:
            out(f"database check {name}: {check.line()}")
        return 0 if all(check.ok for _name, check in checks) else 1
    finally:
        gunicorn.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
