"""Faults cost speed, never a report; an outage is a clean answer and heals by itself.

- Redis (cache and broker) down during a submit. The production settings put both the cache and
  the Celery broker on ``REDIS_URL``. Here a private redis-server (its own port, so the suite's
  Redis is untouched) plays that Redis, with the cache configured exactly as production configures
  it (``config.settings.base.cache_settings``); the test stops it, submits, and starts it again.
- PostgreSQL restarted under a running web process. A private PostgreSQL cluster (its own
  directory and port, so the suite's database is untouched) serves a real gunicorn with the
  production settings; the test stops the cluster, asks, starts it again and asks again.
"""

import contextlib
import datetime as dt
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from config.settings.base import cache_settings
from students import ops
from students.models import DailyReport
from tests.conftest import missing_service, require_redis
from tests.helpers import celery_configured, free_port

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
URL = "/api/v1/attendance/"
ROOT = Path(__file__).resolve().parent.parent


class PrivateRedis:
    """A redis-server on a free loopback port that a test may stop and start again."""

    def __init__(self, binary: str, tmp_path):
        self.port = free_port()
        self.binary, self.dir, self.process = binary, tmp_path, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        missing_service("needs redis-server (apt-get install redis-server)")
    server = PrivateRedis(binary, tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def production_redis(settings, private_redis):
    """Cache and broker on the private Redis, configured as in production."""
    settings.CACHES = cache_settings(private_redis.url)
    with celery_configured(broker_url=private_redis.url, task_always_eager=False):
        yield private_redis
    cache.close()


def body(classroom, day: dt.date, absent=()) -> dict:
    return {
        "classroom": classroom.pk,
        "date": day.isoformat(),
        "absences": [{"student": s.pk, "kind": "unexcused", "note": ""} for s in absent],
    }


def test_redis_down_during_submits_loses_no_report(
    world, term, today, api, client, production_redis, django_capture_on_commit_callbacks, caplog
):
    # Warm: the dashboard is cached in Redis and the cache answers.
    client.force_login(world.principal)
    assert client.get(reverse("dashboard-school")).status_code == 200
    cache.set("probe", 1)
    assert cache.get("probe") == 1

    production_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        first = api.as_user(world.teacher).post(URL, body(world.class_a, today, world.students_a[:1]), format="json")
        second = api.as_user(world.teacher2).post(URL, body(world.class_b, today), format="json")
    assert first.status_code == 201, first.content
    assert second.status_code == 201, second.content
    assert DailyReport.objects.filter(date=today, classroom__in=[world.class_a, world.class_b]).count() == 2
    # Pages that read the cache still answer (from the database), and the cache says "nothing".
    assert client.get(reverse("dashboard-school")).status_code == 200
    assert cache.get("probe") is None
    assert any(r.name == "django_redis.cache" and r.levelname == "ERROR" for r in caplog.records)  # logged

    production_redis.start()
    cache.set("probe", 2)
    assert cache.get("probe") == 2  # the cache is back without restarting anything
    # The evaluation missed while the broker was down is caught up by the nightly run.
    from students.attendance.tasks import nightly_risk_evaluation

    summary = nightly_risk_evaluation.apply(args=(today.isoformat(),)).get()
    assert summary[str(world.county.pk)]["students_checked"] >= len(world.students_a) + len(world.students_b)


# --- PostgreSQL restarted under a running web process ------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server's binaries (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").exists()]
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0, default=None)


class PrivatePostgres:
    """A PostgreSQL cluster of its own (a directory under /tmp, a free loopback port) that a test may stop and start.

    PostgreSQL refuses to run as root: as root the cluster belongs to the ``postgres`` system user
    (as in scripts/with-services.sh), so the directory must be one that user can reach.
    """

    def __init__(self, bindir: Path, owner: pwd.struct_passwd | None):
        self.bindir, self.owner = bindir, owner
        self.dir = Path(tempfile.mkdtemp(prefix="kc-faults-pg.", dir="/tmp"))
        self.dir.chmod(0o711)  # the postgres user traverses it
        self.home = self.dir / "pg"  # the cluster's own files: data, log, unix socket
        self.data = self.home / "data"
        self.port = free_port()
        self.url = f"postgres://kc@127.0.0.1:{self.port}/kc"
        self.as_owner = ["runuser", "-u", owner.pw_name, "--"] if owner else []

    def _run(self, program: str, *args: str, as_owner: bool = True) -> None:
        cmd = [*(self.as_owner if as_owner else []), str(self.bindir / program), *args]
        result = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}{self.log_tail()}")

    def create(self) -> None:
        """initdb, first start, and the ``kc`` database (owned by the superuser ``kc``; trust on loopback)."""
        self.home.mkdir(mode=0o700)
        if self.owner:
            os.chown(self.home, self.owner.pw_uid, self.owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "kc", "-E", "UTF8", "--locale=C")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.home}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "kc", "kc", as_owner=False)

    def start(self) -> None:
        log = self.home / "postgres.log"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def log_tail(self, lines: int = 20) -> str:
        log = self.home / "postgres.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def destroy(self) -> None:
        """Stop the cluster (immediate; killed if it will not stop) and remove its directory."""
        pidfile = self.data / "postmaster.pid"
        if pidfile.exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "20", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres():
    bindir = postgres_bindir()
    if bindir is None:
        missing_service("needs the PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            missing_service("runs as root but there is no postgres user (apt-get install postgresql)")
    server = PrivatePostgres(bindir, owner)
    try:
        server.create()
        yield server
    finally:
        server.destroy()


class Web:
    """A gunicorn serving ``config.wsgi`` with the production settings; ``get`` asks it with an API token."""

    def __init__(self, workdir: Path, env: dict[str, str], token: str):
        self.port, self.workdir, self.env, self.token = free_port(), workdir, env, token
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "config/gunicorn.py",  # as production runs it
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "1",
            "--worker-class",
            "sync",
            "--no-control-socket",  # its default path is shared by every gunicorn of this user
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, start_new_session=True, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}")
            try:  # any answer will do: /healthz says 503 without a Celery beat heartbeat
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn not answering after 30 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def get(self, path: str) -> tuple[int, dict[str, str], object]:
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Token {self.token}", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, headers, raw = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            with error:
                status, headers, raw = error.code, dict(error.headers), error.read()
        try:
            return status, headers, json.loads(raw)
        except ValueError:
            return status, headers, raw.decode(errors="replace")

    def workers(self) -> list[int]:
        """The pids of the gunicorn master's children (its workers), from /proc."""
        assert self.process is not None
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                children.append(int(stat.parent.name))
        return sorted(children)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


def manage(env: dict[str, str], *args: str) -> str:
    cmd = [sys.executable, "manage.py", *args]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


NEW_SUPERUSER = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_superuser("ops", "", None)
print(Token.objects.create(user=user).key)
"""


@pytest.fixture
def production_web(private_postgres, tmp_path):
    """gunicorn (1 sync worker, production settings) on the private PostgreSQL and the suite's Redis."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "CONN_MAX_AGE")},
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DATABASE_URL": private_postgres.url,
        "REDIS_URL": require_redis(),
        "SECRET_KEY": "kc-faults-" + secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    token = manage(env, "shell", "-c", NEW_SUPERUSER).split()[-1]
    web = Web(tmp_path, env, token)
    try:
        web.start()
        yield web
    finally:
        web.stop()


def wait_for_answer(web: Web, path: str, seconds: float = 10) -> tuple[int, object]:
    """Ask until the answer is a 200 or ``seconds`` have passed; the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        status, _, body = web.get(path)
        if status == 200 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def test_postgres_restart_is_a_clean_503_in_chinese_and_heals_without_restarting_the_web_process(
    production_web, private_postgres
):
    web = production_web
    status, _, body = web.get("/api/v1/students/")  # reads the database (the token and scope come from Redis)
    assert status == 200, body
    assert body["count"] == 0
    workers = web.workers()
    assert len(workers) == 1

    private_postgres.stop()
    for path in ("/api/v1/students/", "/api/v1/students/?page=1", "/api/v1/students/?page=1"):
        status, headers, body = web.get(path)
        assert status == 503, (path, status, body, web.log_tail())
        assert headers["Retry-After"] == "30"
        assert body == {"detail": ops.DATABASE_DOWN}

    private_postgres.start()
    status, body = wait_for_answer(web, "/api/v1/students/")
    assert status == 200, (status, body, web.log_tail())

    # A restart between two requests: the next request checks its kept connection
    # (CONN_HEALTH_CHECKS), finds it broken and reconnects; no request is lost to the restart.
    private_postgres.stop()
    private_postgres.start()
    status, _, body = web.get("/api/v1/students/?page=1")
    assert status == 200, (status, body, web.log_tail())

    assert web.workers() == workers  # the same worker process served it all: nothing was restarted
