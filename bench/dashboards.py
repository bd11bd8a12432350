"""Both dashboards through the test client: p50/p95 as users come back to them and computed afresh."""

import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from reporting.selectors import dashboard_schools, forget_school

from .core import BenchContext, BenchResult, clock, full_size_target, percentile, seed_day


def time_dashboards(*, repeat: int = 30, principal: str = "principal", bureau: str = "bureau") -> dict[str, dict]:
    """Time both dashboards on an already seeded database through ``django.test.Client``.

    The principal opens ``/dashboard/school/`` and the bureau ``/dashboard/county/``: one warm-up
    request each (its queries are counted: the cold path), then ``repeat`` timed requests. Each
    dashboard is timed twice: as users see it when they come back to it (``school``, ``county``:
    the week's numbers from the short cache) and with the cache dropped before every request
    (``school_uncached``, ``county_uncached``: everything computed, as on the first view after a
    report was submitted). Returns per case ``{"p50": ms, "p95": ms, "max": ms, "queries": n,
    "requests": repeat}``.
    Run it with the clock where the seed left "today" (the bench's ``clock(day)``) and DEBUG off.
    """
    users = get_user_model().objects
    school_user = users.get(username=principal)
    school_id = dashboard_schools(school_user).order_by("code").values_list("pk", flat=True).first()
    results: dict[str, dict] = {}
    county_user = users.get(username=bureau)
    for name, user, url, uncached in (
        ("school", school_user, reverse("dashboard-school"), False),
        ("school_uncached", school_user, reverse("dashboard-school"), True),
        ("county", county_user, reverse("dashboard-county"), False),
        ("county_uncached", county_user, reverse("dashboard-county"), True),
    ):
        client = Client()
        client.force_login(user)
        forget_school(school_id)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        query_count = len(queries.captured_queries)  # now: later requests reset the connection's log
        if response.status_code != 200:
            raise RuntimeError(f"{url} as {user} answered {response.status_code}")
        times = []
        for _ in range(repeat):
            if uncached:
                forget_school(school_id)
            began = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url} as {user} answered {response.status_code}")
        results[name] = {
            "p50": round(percentile(times, 50), 1),
            "p95": round(percentile(times, 95), 1),
            "max": round(max(times), 1),
            "queries": query_count,
            "requests": repeat,
        }
    return results


def bench_dashboards(ctx: BenchContext) -> list[BenchResult]:
    """Principal dashboard p95 < 50 ms, county dashboard p95 < 300 ms: as users come back to them
    (the week's numbers from the short cache) and computed afresh (the cache dropped before each
    request, as on the first view after a report was submitted)."""
    with clock(seed_day(ctx)), override_settings(DEBUG=False):
        result = time_dashboards(repeat=50)
    return [
        BenchResult("principal dashboard uncached p50 (ms)", result["school_uncached"]["p50"], "ms"),
        BenchResult(
            "principal dashboard uncached p95 (ms)",
            result["school_uncached"]["p95"],
            "ms",
            full_size_target(ctx, 50.0),
        ),
        BenchResult("county dashboard uncached p50 (ms)", result["county_uncached"]["p50"], "ms"),
        BenchResult(
            "county dashboard uncached p95 (ms)", result["county_uncached"]["p95"], "ms", full_size_target(ctx, 300.0)
        ),
        BenchResult("principal dashboard p50 (ms)", result["school"]["p50"], "ms"),
        BenchResult("principal dashboard p95 (ms)", result["school"]["p95"], "ms", full_size_target(ctx, 50.0)),
        BenchResult("county dashboard p50 (ms)", result["county"]["p50"], "ms"),
        BenchResult("county dashboard p95 (ms)", result["county"]["p95"], "ms", full_size_target(ctx, 300.0)),
        BenchResult("principal dashboard queries", result["school"]["queries"], ""),
        BenchResult("county dashboard queries", result["county"]["queries"], ""),
    ]
