"""make bench's pwa section: the attendance page, first visit over 3G, through gunicorn and headless Chromium."""

import io

import pytest
from django.core.management.base import CommandError

from bench import pwa, runner
from bench.core import BenchContext


@pytest.mark.browser
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # gunicorn is another process: the seeded county must be committed
def test_pwa_section_reports_the_pages_weight_and_time(settings, monkeypatch, tmp_path, redis_url):
    # gunicorn runs the production settings, whose hashers do not read the tests' MD5 passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(pwa, "RUNS", 1)  # one visit at each CPU speed: the test checks the figures exist
    out = io.StringIO()
    results = runner.run(
        students=300,
        seed=7,
        reset=True,
        only=["seed", "pwa"],
        migrate=False,
        stdout=out,
        verbosity=2,
        report_only=True,
    )
    figures = {r.name: r for r in results}
    weight = figures["pwa page weight (3G first load)"]
    assert weight.unit == "KB"
    assert weight.target == 150
    assert 10 < weight.value <= figures["pwa page weight as served by gunicorn"].value
    assert figures["pwa requests (3G first load)"].value >= 3  # the page, its CSS, its JS at least
    assert figures["pwa service worker install downloads, bodies as served by gunicorn"].value >= 0
    timed = [r for r in results if r.name.startswith("pwa time to interactive (3G")]
    assert len(timed) == 2, [r.name for r in results]
    assert timed[0].target == 2000
    assert all(r.value > 0 for r in timed)
    text = out.getvalue()
    assert "/attendance/ → /attendance/;" in text  # the class's page at the start page, no redirect
    assert "attendance-ready" in text  # the page's own mark, not the DOMContentLoaded fallback
    assert "text/html" in text  # the per-URL list of -v 2


@pytest.mark.django_db
def test_pwa_section_skips_inside_a_tests_transaction():
    """gunicorn, another process, could not see what a test has not committed."""
    lines: list[str] = []
    assert pwa.bench_pwa(BenchContext(students=1, seed=1, write=lines.append)) == []
    assert "skipped" in lines[0]


def test_pwa_section_says_when_chromium_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(pwa, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(CommandError, match="needs Chromium"):
        pwa.bench_pwa(BenchContext(students=1, seed=1, write=lambda _msg: None))
