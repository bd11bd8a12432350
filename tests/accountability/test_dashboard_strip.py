"""The 督导 strip on the principal's and the bureau's dashboards (issue 13, items 1, 3 and 5)."""

import re

import pytest
from django.urls import reverse

from accountability.findings import services as findings
from accountability.matrix import selectors as matrix
from tests import factories as f

pytestmark = pytest.mark.django_db


def strip(client, url) -> dict[str, str]:
    page = client.get(url).content.decode()
    return {key: re.search(rf'id="{key}"[^>]*>([^<]*)<', page)[1].strip() for key in ("gap-count", "finding-count")}


def test_both_dashboards_count_gaps_and_findings_and_the_counts_drop(world, term, today, client):
    f.RiskFlagFactory(student=world.students_a[0], level="red")
    finding = findings.issue_finding(user=world.bureau, school_id=world.school.pk, facts="日报不按时")
    school_url, county_url = reverse("dashboard-school"), reverse("dashboard-county")
    client.force_login(world.principal)
    before = strip(client, school_url)
    expected = matrix.gap_count(world.principal, school=world.school.pk)
    assert before == {"gap-count": str(expected), "finding-count": "1"}
    assert expected == len(matrix.gaps(world.principal, school=world.school.pk).students) + 2  # and 2 classes
    client.force_login(world.bureau)
    assert strip(client, county_url)["finding-count"] == "1"
    assert int(strip(client, county_url)["gap-count"]) == matrix.gap_count(world.bureau) == expected + 1  # class C
    client.force_login(world.principal2)
    assert strip(client, school_url)["finding-count"] == "0"

    findings.answer_finding(user=world.principal, finding_id=finding.pk, answer="已整改")
    findings.accept_finding(user=world.bureau, finding_id=finding.pk)
    client.force_login(world.principal)
    assert strip(client, school_url)["finding-count"] == "0"
