"""Project-level promises: deploy checks, reversible migrations, settings from the environment."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parent.parent
OUR_APPS = {"students", "casework", "reporting", "accountability"}


def test_check_deploy_is_clean_under_production_settings():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},  # set by the browser tests
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-for-the-check-9f8e7d6c",
        "ALLOWED_HOSTS": "kcbx.example.gov.cn",
        "REDIS_URL": "redis://127.0.0.1:6379/0",  # production refuses to start without it (not contacted here)
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_development_secret_key():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": "dev-insecure-key-change-me",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_every_migration_of_ours_is_reversible():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = [m for (app, _), m in loader.disk_migrations.items() if app in OUR_APPS]
    assert ours, "no migrations found"
    for migration in ours:
        for operation in migration.operations:
            assert operation.reversible, f"{migration.app_label}.{migration.name}: {operation.describe()}"


def test_no_missing_migrations():
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_settings_come_from_environment(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.USE_TZ is True
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_openapi_schema_validates_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/api/v1/attendance/" in (tmp_path / "s.yml").read_text()


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


def test_compose_file_is_valid_where_compose_is_installed(tmp_path):
    compose = _compose_command()
    if compose is None:
        pytest.skip("docker compose is not installed here (an optional tool: the file is checked where it is)")
    env_file = tmp_path / "test.env"
    env_file.write_text("SECRET_KEY=x\nPOSTGRES_PASSWORD=y\n")
    result = subprocess.run(
        [*compose, "-f", "deploy/compose.yaml", "--env-file", str(env_file), "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for service in ("web:", "worker:", "beat:", "db:", "redis:"):
        assert service in result.stdout


def test_serve_refuses_to_start_without_its_services():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(["scripts/serve.sh"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
