"""Route × role security matrix (issue 12): every page and API operation, every role.

The routes come from the URL conf (every named pattern outside the admin, whose own permission
checks are Django's) and the API operations from the OpenAPI schema. Each route has a line in
:data:`READ` (what a GET answers, per role) and each API write in :data:`WRITE`; a route or
operation added without one fails :func:`test_every_route_and_operation_has_an_expectation`.

The objects in the URLs belong to the world's school 1 and class A (a student of class A who lives
in the cadre's township, their case, a flag, a report run of the school): principal2 (school 2),
teacher2 (class B of school 1) and outsider (no post) are out of scope for most of them.

Answers, per role: an HTTP status, ``login`` (a redirect to the login page) or, for writes,
``deny`` (403 / 404: refused before anything is written) and ``ok`` (anything but 5xx and
deny: the action ran, or the empty body was refused as bad input — the request got through).
A case action checks the case's scope before its input, so an empty body from someone who may not
see the case is a 404 like any other (casework.api.DropoutCaseViewSet.initial).
"""

import re
import shlex

import pytest
from django.db import transaction
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from casework.models import CaseEvent, DropoutCase
from reporting.models import ReportRun
from students.models import DailyReport, RiskFlag, Student
from tests import factories as f
from tests.helpers import build_case, report

pytestmark = pytest.mark.django_db

ROLES = ("anon", "bureau", "principal", "teacher", "teacher2", "principal2", "cadre", "outsider")

# Route name → arguments (keys of the objects made by the ``objects`` fixture).
ARGS = {
    "case-detail": ["case"],
    "case-report": ["case"],
    "case-action": ["case", "verify"],
    "case-follow-up-done": ["case", "follow_up"],
    "case-print-report": ["case"],
    "case-print-notice": ["case"],
    "case-open": ["student"],
    "report-detail": ["run"],
    "report-file": ["run"],
    "report-regenerate": ["run"],
    "report-sign": ["run"],
    "school-detail": ["school"],
    "classroom-detail": ["classroom"],
    "student-detail": ["student"],
    "risk-flag-create": ["student"],
    "attendance-take": ["classroom"],
    "risk-flag-detail": ["flag"],
    "risk-flag-action": ["flag", "acknowledge"],
    "api-ledger-download": ["dropouts"],
    "api-finding-attachment": ["finding", "attachment"],
    "api-pledge-template-detail": ["principal_teacher"],
    "accountability:finding": ["finding"],
    "accountability:finding-action": ["finding", "answer"],
    "accountability:finding-attachment": ["finding", "attachment"],
    "accountability:signoff-receive": ["signoff"],
    "accountability:signoff-return": ["signoff"],
    "accountability:pledge": ["pledge"],
    "accountability:pledge-scan": ["pledge"],
    "accountability:pledge-print": ["pledge"],
    "screening:run": ["screening_run"],
    "screening:compare": ["screening_run"],
    "screening:file": ["screening_run"],
    "screening:child": ["screening_child"],
    "screening:child-action": ["screening_child", "resolve"],
    "screening:evidence": ["screening_evidence"],
    "api-screening-child-evidence": ["screening_evidence"],
    "api-screening-child-resolve": ["screening_evidence"],
    "api-screening-child-confirm": ["screening_evidence"],
    "api-screening-child-reject": ["screening_evidence"],
}
NOT_ROUTES = {"healthz", "favicon", "set_language", "login", "logout", "api-root", "load-bare-attendance"}


def _line(spec: str) -> dict[str, str]:
    """'all=404 bureau=200 …' → {role: answer}; ``all`` sets every role not named."""
    pairs = dict(item.split("=") for item in shlex.split(spec))
    default = pairs.pop("all", None)
    return {role: pairs.get(role, default) for role in ROLES}


# What a GET answers. Pages answer anonymous users with the login page; the API with 401.
READ = {
    # The installable attendance app (issue 15): the same for everyone, signed in or not (no user's data).
    "pwa-manifest": "all=200",
    "pwa-service-worker": "all=200",
    "pwa-offline": "all=200",
    # Accountability (issue 13): a 包保 row (teacher for student a0), school 1's leading group, a finding
    # of school 1 answered with evidence, school 1's signed week, a signed principal → teacher pledge.
    "accountability:matrix": "anon=login all=200",
    "accountability:findings": "anon=login all=200",
    "accountability:finding-new": "anon=login all=404 bureau=200",
    "accountability:finding": "anon=login all=404 bureau=200 principal=200",
    "accountability:finding-action": "anon=login all=405",
    "accountability:finding-attachment": "anon=login all=404 bureau=200 principal=200",
    "accountability:signoffs": "anon=login all=404 bureau=200 principal=200 principal2=200",
    "accountability:signoff-sign": "anon=login all=405",
    "accountability:signoff-receive": "anon=login all=405",
    "accountability:signoff-return": "anon=login all=405",
    "accountability:pledges": "anon=login all=200",
    "accountability:pledge-templates": "anon=login all=404 bureau=200",
    "accountability:pledge": "anon=login all=404 bureau=200 principal=200 teacher=200",
    "accountability:pledge-scan": "anon=login all=404 bureau=200 principal=200 teacher=200",
    "accountability:pledge-print": "anon=login all=404 bureau=200 principal=200 teacher=200",
    "compliance": "anon=login all=200",
    "appraisal": "anon=login all=200",
    # Screening pages (issue 14): a run of the county; the child of student a0 (school 1, class A, the
    # cadre's township); the evidence of an unmatched child of the cadre's township (bureau and cadre only).
    "screening:runs": "anon=login all=200",
    "screening:template": "anon=login all=404 bureau=200 cadre=200",
    "screening:run": "anon=login all=200 outsider=404",
    "screening:compare": "anon=login all=200 outsider=404",
    "screening:file": "anon=login all=404 bureau=200",
    "screening:child": "anon=login all=404 bureau=200 principal=200 teacher=200 cadre=200",
    "screening:child-action": "anon=login all=405",
    "screening:evidence": "anon=login all=404 bureau=200 cadre=200",
    "api-responsibility-list": "anon=401 all=200",
    # Screening API (issue 14): the same run, child of a0 and resolved unmatched child as the pages.
    "api-screening-run-list": "anon=401 all=200",
    "api-screening-run-detail": "anon=401 all=200 outsider=404",
    "api-screening-run-children": "anon=401 all=200 outsider=404",
    "api-screening-run-compare": "anon=401 all=400 outsider=404",
    "api-screening-run-progress": "anon=401 all=200 outsider=404",
    "api-screening-run-file": "anon=401 all=404 bureau=200",
    "api-screening-child-detail": "anon=401 all=200 teacher2=404 principal2=404 outsider=404",
    "api-screening-child-resolve": "anon=401 all=405",
    "api-screening-child-confirm": "anon=401 all=405",
    "api-screening-child-reject": "anon=401 all=405",
    "api-screening-child-report-absent": "anon=401 all=405",
    "api-screening-child-evidence": "anon=401 all=404 bureau=200 cadre=200",
    "api-screening-template": "anon=401 all=404 bureau=200 cadre=200",
    "api-responsibility-detail": "anon=401 all=404 bureau=200 principal=200 teacher=200 cadre=200",
    "api-responsibility-gaps": "anon=401 all=200",
    "api-leading-group-list": "anon=401 all=200",
    "api-leading-group-detail": "anon=401 all=200 principal2=404 outsider=404",
    "api-finding-list": "anon=401 all=200",
    "api-finding-detail": "anon=401 all=404 bureau=200 principal=200",
    "api-finding-answer": "anon=401 all=405",
    "api-finding-accept": "anon=401 all=405",
    "api-finding-return": "anon=401 all=405",
    "api-finding-attachment": "anon=401 all=404 bureau=200 principal=200",
    "api-teacher-fault-list": "anon=401 all=200",
    "api-signoff-list": "anon=401 all=200",
    "api-signoff-detail": "anon=401 all=404 bureau=200 principal=200",
    "api-signoff-sign": "anon=401 all=405",
    "api-signoff-receive": "anon=401 all=405",
    "api-signoff-return": "anon=401 all=405",
    "api-signoff-board": "anon=401 all=200",
    "api-pledge-list": "anon=401 all=200",
    "api-pledge-detail": "anon=401 all=404 bureau=200 principal=200 teacher=200",
    "api-pledge-scan": "anon=401 all=404 bureau=200 principal=200 teacher=200",
    "api-pledge-unsigned": "anon=401 all=404 bureau=200 principal=200 principal2=200",
    "api-pledge-template-list": "anon=401 all=404 bureau=200",
    "api-pledge-template-detail": "anon=401 all=404 bureau=200",
    "api-compliance": "anon=401 all=200",
    "api-appraisals": "anon=401 all=200",
    "api-appraisals-xlsx": "anon=401 all=200 cadre=404 outsider=404",
    "api-attendance-detail": "anon=401 all=404 bureau=200 principal=200 teacher=200",
    "api-attendance-list": "anon=401 all=200",
    "api-attendance-missing": "anon=401 all=200",
    "api-case-activities": "anon=401 all=200 teacher2=404 principal2=404 outsider=404",
    "api-case-close": "anon=401 all=405",
    "api-case-detail": "anon=401 all=200 teacher2=404 principal2=404 outsider=404",
    "api-case-dismiss": "anon=401 all=405",
    "api-case-escalate": "anon=401 all=405",
    "api-case-handover": "anon=401 all=405",
    "api-case-list": "anon=401 all=200",
    "api-case-notice": "anon=401 all=405",
    "api-case-plan": "anon=401 all=405",
    "api-case-report": "anon=401 all=405",
    "api-case-return-": "anon=401 all=405",
    "api-case-submit-report": "anon=401 all=405",
    "api-case-verify": "anon=401 all=405",
    "api-classroom-detail": "anon=401 all=200 teacher2=404 principal2=404 outsider=404",
    "api-classroom-list": "anon=401 all=200",
    "api-docs": "anon=401 all=200",
    "api-download-log": "anon=401 all=200",
    "api-ledger-download": "anon=401 all=200 outsider=404",
    "api-logout": "anon=401 all=405",
    "api-me": "anon=401 all=200",
    "api-report-detail": "anon=401 all=404 bureau=200 principal=200",
    "api-report-file": "anon=401 all=404 bureau=409 principal=409",
    "api-report-generate": "anon=401 all=405",
    "api-report-list": "anon=401 all=200",
    "api-report-sign": "anon=401 all=405",
    "api-riskflag-acknowledge": "anon=401 all=405",
    "api-riskflag-detail": "anon=401 all=200 teacher2=404 principal2=404 outsider=404",
    "api-riskflag-dismiss": "anon=401 all=405",
    "api-riskflag-list": "anon=401 all=200",
    "api-riskflag-resolve": "anon=401 all=405",
    "api-schema": "anon=401 all=200",
    "api-school-detail": "anon=401 all=200 principal2=404 outsider=404",
    "api-school-list": "anon=401 all=200",
    "api-student-detail": "anon=401 all=200 teacher2=404 principal2=404 outsider=404",
    "api-student-import-roster": "anon=401 all=405",
    "api-student-list": "anon=401 all=200",
    "api-token": "anon=405 all=405",
    "attendance-duty": "anon=login all=200 cadre=404 outsider=404",
    # A teacher of one class gets the class's page at once (the home-screen icon's start page).
    "attendance-home": "anon=login all=302 cadre=200 outsider=200 teacher=200 teacher2=200",
    "attendance-take": "anon=login all=404 bureau=200 principal=200 teacher=200",
    "case-action": "anon=login all=405",
    "case-detail": "anon=login all=200 teacher2=404 principal2=404 outsider=404",
    "case-follow-up-done": "anon=login all=405",
    "case-list": "anon=login all=200",
    "case-open": "anon=login all=405",
    "case-print-notice": "anon=login all=302 teacher2=404 principal2=404 outsider=404",
    "case-print-report": "anon=login all=200 teacher2=404 principal2=404 outsider=404",
    "case-report": "anon=login all=200 teacher2=404 principal2=404 outsider=404",
    "classroom-detail": "anon=login all=200 teacher2=404 principal2=404 outsider=404",
    "dashboard-county": "anon=login all=404 bureau=200",
    "dashboard-school": "anon=login all=404 bureau=200 principal=200 principal2=200",
    "download-log": "anon=login all=200 outsider=404",
    "home": "anon=login all=200",
    "official-calendar": "anon=login all=200",
    "ledgers": "anon=login all=200 outsider=404",
    "ledgers-generate": "anon=login all=405",
    "notifications-read": "anon=login all=405",
    "report-detail": "anon=login all=404 bureau=200 principal=200",
    "report-file": "anon=login all=404",
    "report-generate": "anon=login all=405",
    "report-list": "anon=login all=200",
    "report-regenerate": "anon=login all=405",
    "report-sign": "anon=login all=405",
    "risk-flag-action": "anon=login all=405",
    "risk-flag-create": "anon=login all=405",
    "risk-flag-detail": "anon=login all=200 teacher2=404 principal2=404 outsider=404",
    "risk-flags": "anon=login all=200",
    "risk-rules": "anon=login all=404 bureau=200 principal=200 principal2=200",
    "roster-import": "anon=login all=200 cadre=404 outsider=404",
    "roster-template": "anon=login all=200 cadre=404 outsider=404",
    "school-detail": "anon=login all=200 principal2=404 outsider=404",
    "school-list": "anon=login all=200",
    "student-detail": "anon=login all=200 teacher2=404 principal2=404 outsider=404",
    "student-list": "anon=login all=200",
}
# What a POST with an empty body answers (deny: 403/404; ok: it got through to the action's checks).
WRITE = {
    "accountability:matrix": "anon=login all=deny bureau=ok principal=ok principal2=ok",
    "accountability:finding-new": "anon=login all=deny bureau=ok",
    "accountability:finding-action": "anon=login all=deny bureau=ok principal=ok",
    "accountability:signoff-sign": "anon=login all=deny principal=ok principal2=ok",
    "accountability:signoff-receive": "anon=login all=deny bureau=ok principal=ok",
    "accountability:signoff-return": "anon=login all=deny bureau=ok principal=ok",
    "accountability:pledges": "anon=login all=ok cadre=deny outsider=deny",
    "accountability:pledge-templates": "anon=login all=deny bureau=ok",
    "accountability:pledge": "anon=login all=deny bureau=ok principal=ok teacher=ok",
    "screening:runs": "anon=login all=deny bureau=ok",
    "screening:child-action": "anon=login all=deny bureau=ok principal=ok teacher=ok cadre=ok",
    "api-responsibility-list": "anon=401 all=ok",
    "api-screening-run-list": "anon=401 all=deny bureau=ok",
    "api-screening-child-resolve": "anon=401 all=deny bureau=ok cadre=ok",
    "api-screening-child-confirm": "anon=401 all=deny bureau=ok cadre=ok",
    "api-screening-child-reject": "anon=401 all=deny bureau=ok cadre=ok",
    "api-screening-child-report-absent": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-responsibility-detail": "anon=401 all=deny bureau=405 principal=405 teacher=405 cadre=405",
    "api-leading-group-list": "anon=401 all=ok",
    "api-finding-list": "anon=401 all=deny bureau=ok",
    "api-finding-answer": "anon=401 all=deny bureau=ok principal=ok",
    "api-finding-accept": "anon=401 all=deny bureau=ok principal=ok",
    "api-finding-return": "anon=401 all=deny bureau=ok principal=ok",
    "api-teacher-fault-list": "anon=401 all=deny bureau=ok",
    "api-signoff-sign": "anon=401 all=ok",
    "api-signoff-receive": "anon=401 all=deny bureau=ok principal=ok",
    "api-signoff-return": "anon=401 all=deny bureau=ok principal=ok",
    "api-pledge-list": "anon=401 all=ok cadre=deny outsider=deny",
    "api-pledge-scan": "anon=401 all=deny bureau=ok principal=ok teacher=ok",
    "api-pledge-template-detail": "anon=401 all=deny bureau=405",
    "api-attendance-list": "anon=401 all=ok",
    "api-case-activities": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-close": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-dismiss": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-escalate": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-handover": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-list": "anon=401 all=ok",
    "api-case-notice": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-plan": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-report": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-return-": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-submit-report": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-case-verify": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-logout": "anon=401 all=ok",
    "api-report-generate": "anon=401 all=ok",
    "api-report-sign": "anon=401 all=deny bureau=ok principal=ok",
    "api-riskflag-acknowledge": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-riskflag-dismiss": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-riskflag-list": "anon=401 all=ok",
    "api-riskflag-resolve": "anon=401 all=ok teacher2=deny principal2=deny outsider=deny",
    "api-student-import-roster": "anon=401 all=ok",
    "api-token": "anon=ok all=ok",
    "attendance-duty": "anon=login all=ok cadre=deny outsider=deny",
    "attendance-home": "anon=login all=ok",
    "attendance-take": "anon=login all=deny bureau=ok principal=ok teacher=ok",
    "case-action": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "case-detail": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "case-follow-up-done": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "case-list": "anon=login all=ok",
    "case-open": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "case-print-notice": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "case-print-report": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "case-report": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "classroom-detail": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "dashboard-county": "anon=login all=deny bureau=ok",
    "dashboard-school": "anon=login all=deny bureau=ok principal=ok principal2=ok",
    "download-log": "anon=login all=ok outsider=deny",
    "home": "anon=login all=ok",
    "official-calendar": "anon=login all=deny bureau=ok",
    "ledgers": "anon=login all=ok outsider=deny",
    "ledgers-generate": "anon=login all=deny",
    "notifications-read": "anon=login all=ok",
    "report-detail": "anon=login all=deny bureau=ok principal=ok",
    "report-file": "anon=login all=deny",
    "report-generate": "anon=login all=ok",
    "report-list": "anon=login all=ok",
    "report-regenerate": "anon=login all=deny bureau=ok principal=ok",
    "report-sign": "anon=login all=deny bureau=ok principal=ok",
    "risk-flag-action": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "risk-flag-create": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "risk-flag-detail": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "risk-flags": "anon=login all=ok",
    "risk-rules": "anon=login all=deny bureau=ok",
    "roster-import": "anon=login all=ok cadre=deny outsider=deny",
    "school-detail": "anon=login all=ok principal2=deny outsider=deny",
    "school-list": "anon=login all=ok",
    "student-detail": "anon=login all=ok teacher2=deny principal2=deny outsider=deny",
    "student-list": "anon=login all=ok",
}


@pytest.fixture
def objects(world, term, today, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    student = world.students_a[0]
    case = build_case(world, student, "returned", day=today)
    report(world.class_a, today, [], by=world.teacher)
    run = f.ReportRunFactory(
        kind=ReportRun.Kind.SCHOOL_WEEKLY,
        scope_type=ReportRun.ScopeType.SCHOOL,
        scope_id=world.school.pk,
        scope_name=world.school.name,
        requested_by=world.principal,
    )
    return {
        "world": world,
        "daily_report": DailyReport.objects.get(classroom=world.class_a, date=today).pk,
        "case": case.pk,
        "follow_up": case.follow_ups.order_by("pk").first().pk,
        "student": student.pk,
        "school": world.school.pk,
        "classroom": world.class_a.pk,
        "flag": f.RiskFlagFactory(student=student).pk,
        "run": run.pk,
        **accountability_objects(world, term, student),
        **screening_objects(world, student),
    }


def accountability_objects(world, term, student) -> dict:
    """Issue 13's objects, each of school 1, made through their services."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accountability.findings import services as findings
    from accountability.matrix import services as matrix
    from accountability.pledges import services as pledges
    from accountability.signoffs import services as signoffs

    def pdf():
        return SimpleUploadedFile("证明.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", content_type="application/pdf")

    row = matrix.add_responsibility(
        user=world.principal, person_id=world.teacher.pk, line="education", target_kind="student", target_id=student.pk
    )
    group = matrix.save_leading_group(
        user=world.principal, school_id=world.school.pk, leader_id=world.principal.pk, members=[]
    )
    finding = findings.issue_finding(user=world.bureau, school_id=world.school.pk, facts="日报不按时")
    findings.answer_finding(user=world.principal, finding_id=finding.pk, answer="已整改", files=[pdf()])
    week = signoffs.sign_week(user=world.principal, school_id=world.school.pk, week="2026-W47")
    pledge = pledges.create_pledge(
        user=world.principal,
        kind="principal_teacher",
        school_id=world.school.pk,
        term_id=term.pk,
        party_a_id=world.principal.pk,
        party_b_id=world.teacher.pk,
    )
    pledges.record_signature(user=world.principal, pledge_id=pledge.pk, signed_on=term.start_date, scan=pdf())
    return {
        "responsibility": row.pk,
        "leading_group": group.pk,
        "finding": finding.pk,
        "attachment": finding.attachments.get().pk,
        "signoff": week.pk,
        "pledge": pledge.pk,
    }


def screening_objects(world, student) -> dict:
    """Issue 14's objects: a finished run of the county, the child of ``student`` in it, and an unmatched
    child of the cadre's township resolved with evidence (made through the services)."""
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile

    from casework.models import ScreenedChild
    from casework.screening import services as screening
    from tests import screening_files

    register = screening_files.xlsx(
        [screening_files.of_student(student), screening_files.person("王小花", dt.date(2014, 3, 2), sequence=11)]
    )
    run = screening.start_import(user=world.bureau, upload=register)  # its job runs on commit: run it here
    screening.execute_import(run.pk)
    unmatched = ScreenedChild.objects.get(run=run, name="王小花")
    scan = SimpleUploadedFile("在读证明.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", content_type="application/pdf")
    screening.resolve(
        user=world.cadre,
        child_id=unmatched.pk,
        data=screening.ResolutionInput(resolution="elsewhere", school="外地小学", place="广州", evidence=scan),
    )
    return {
        "screening_run": run.pk,
        "screening_child": ScreenedChild.objects.get(run=run, student=student).pk,
        "screening_evidence": unmatched.pk,
    }


def page_routes() -> dict[str, str]:
    """Named routes outside the admin: name → pattern."""
    found: dict[str, str] = {}

    def walk(patterns, prefix="", namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if str(entry.pattern).startswith("admin/"):
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern) and entry.name and entry.name not in NOT_ROUTES:
                found[namespace + entry.name] = prefix + str(entry.pattern)

    walk(get_resolver().url_patterns)
    return found


def api_operations() -> set[tuple[str, str]]:
    """(path, method) of every operation in the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(path, method.upper()) for path, item in schema["paths"].items() for method in item}


# API routes with an id: the object of their resource.
API_OBJECTS = {
    "api-case-": "case",
    "api-riskflag-": "flag",
    "api-report-": "run",
    "api-school-": "school",
    "api-classroom-": "classroom",
    "api-student-": "student",
    "api-attendance-": "daily_report",
    "api-responsibility-": "responsibility",
    "api-leading-group-": "leading_group",
    "api-finding-": "finding",
    "api-signoff-": "signoff",
    "api-pledge-": "pledge",
    "api-screening-run-": "screening_run",
    "api-screening-child-": "screening_child",
}


def _url(name: str, objects: dict, pattern: str = "") -> str:
    args = ARGS.get(name)
    if args is None:
        args = []
        if "<pk>" in pattern:
            args = [next(key for prefix, key in API_OBJECTS.items() if name.startswith(prefix))]
    return reverse(name, args=[objects.get(arg, arg) for arg in args])


def _client(role: str, objects: dict, client):
    if role != "anon":
        client.force_login(getattr(objects["world"], role))
    return client


def _answer(response) -> str:
    if response.status_code in (301, 302) and "/accounts/login/" in response.get("Location", ""):
        return "login"
    return str(response.status_code)


def record(name: str, pattern: str, objects: dict, client_factory) -> dict[str, str]:
    url = _url(name, objects, pattern)
    return {role: _answer(_client(role, objects, client_factory()).get(url)) for role in ROLES}


def _write_answer(response) -> str:
    answer = _answer(response)
    if answer in ("login", "401", "403", "404", "405"):
        return {"403": "deny", "404": "deny"}.get(answer, answer)
    assert response.status_code < 500, response.content[:300]
    return "ok"


def record_write(name: str, pattern: str, objects: dict, client_factory) -> dict[str, str]:
    """POST an empty form to the route as each role, each inside a transaction rolled back after it."""
    url = _url(name, objects, pattern)
    answers = {}
    for role in ROLES:
        with transaction.atomic():
            answers[role] = _write_answer(_client(role, objects, client_factory()).post(url, {}))
            transaction.set_rollback(True)
    return answers


PATH_SAMPLES = {"name": "dropouts", "kind": "principal_teacher"}  # path parameters that are not ids


def missing_expectations(routes: dict[str, str], operations: set[tuple[str, str]]) -> list[str]:
    """Routes without a READ line, and API writes whose route has no WRITE line."""
    missing = [f"GET {name}" for name in sorted(routes) if name not in READ]
    for path, method in sorted(operations):
        if method == "GET":
            continue
        match = resolve(re.sub(r"\{(\w+)\}", lambda found: PATH_SAMPLES.get(found[1], "1"), path))
        if match.url_name not in WRITE:
            missing.append(f"{method} {path} ({match.url_name})")
    return missing


def test_every_route_and_operation_has_an_expectation():
    assert missing_expectations(page_routes(), api_operations()) == []
    assert not set(READ) - set(page_routes()), "expectations for routes that no longer exist"


def test_a_route_added_without_an_expectation_is_caught():
    routes = {**page_routes(), "students-export": "students/export/"}
    operations = {*api_operations(), ("/api/v1/dropout-cases/{id}/reopen/", "POST")}
    with pytest.raises(Resolver404):  # an operation whose path does not even resolve fails loudly too
        missing_expectations(routes, operations)
    assert missing_expectations(routes, api_operations()) == ["GET students-export"]


@pytest.mark.parametrize("name", sorted(READ))
def test_read(name, objects, client_factory):
    expected = _line(READ[name])
    assert record(name, page_routes()[name], objects, client_factory) == expected


def _row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (CaseEvent, DropoutCase, DailyReport, RiskFlag, Student, ReportRun)
    }


@pytest.mark.parametrize("name", sorted(WRITE))
def test_write(name, objects, client_factory):
    """A POST as each role: the expected answer, and nothing written when refused."""
    expected = _line(WRITE[name])
    url = _url(name, objects, page_routes()[name])
    for role in ROLES:
        with transaction.atomic():
            before = _row_counts()
            answer = _write_answer(_client(role, objects, client_factory()).post(url, {}))
            if answer != "ok":
                assert _row_counts() == before, (name, role)
            transaction.set_rollback(True)
        assert answer == expected[role], (name, role, answer)


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client
