"""Every link a page shows leads to a page its reader may open (issue 12 item 15).

For each demo role, a crawl from the home page: every same-site ``<a href>`` on the pages reached
(up to two clicks deep, at most MAX_PAGES pages per role) must answer 200 (or a redirect that ends
in 200) — never 404, 403 or 500.
"""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.urls import reverse

from tests.helpers import build_case

pytestmark = pytest.mark.django_db

MAX_PAGES = 120
HREF = re.compile(r'<a\b[^>]*\bhref="([^"#]+)"', re.IGNORECASE)
SKIP = ("/accounts/logout/", "/admin/", "/static/", "/i18n/", "/api/")


def _links(html: str, base: str) -> set[str]:
    found = set()
    for href in HREF.findall(html):
        href = href.replace("&amp;", "&")
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.scheme in ("", "http") and parts.netloc in ("", "testserver") and not href.startswith("mailto:"):
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if not path.startswith(SKIP) and not parts.path.endswith((".xlsx", ".pdf")):
                found.add(path)
    return found


@pytest.mark.parametrize("role", ["bureau", "principal", "teacher", "cadre", "outsider"])
def test_every_link_leads_to_a_page_the_reader_may_open(world, term, today, client, role):
    build_case(world, world.students_a[0], "returning")
    client.force_login(getattr(world, role))
    seen: dict[str, int] = {}
    frontier = {reverse("home")}
    for _depth in range(3):
        next_frontier: set[str] = set()
        for url in sorted(frontier):
            if url in seen or len(seen) >= MAX_PAGES:
                continue
            response = client.get(url, follow=True)
            seen[url] = response.status_code
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                next_frontier |= _links(response.content.decode(), url)
        frontier = next_frontier - set(seen)
    broken = {url: code for url, code in seen.items() if code != 200}
    assert not broken, broken
    assert len(seen) >= 3
