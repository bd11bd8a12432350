"""API v1 of screening (/api/v1/screening/…): import, scoped children, resolutions, comparison, files."""

import datetime as dt
import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from casework.models import DropoutCase, Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun
from casework.screening import register as register_file
from students import idnumber
from tests import screening_files as files
from tests.helpers import report

Outcome = ScreeningOutcome
RUNS = "/api/v1/screening/runs/"
CHILDREN = "/api/v1/screening/children/"
LAST_FIVE = [dt.date(2026, 11, d) for d in (18, 19, 20, 23, 24)]  # before Wednesday 25 November
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


@pytest.fixture
def rows(world, term, today, media):
    """A register of 石门村 (清溪镇, the cadre's) and 柳树村 (白沙乡, cadre2's) with every outcome."""
    a0, a1, _a2 = world.students_a  # a2 is not listed: 在籍不在册
    b0, c2 = world.students_b[0], world.students_c[2]  # c2 (school 2) lives in 石门村
    for day in LAST_FIVE:
        report(world.class_a, day, [a1], by=world.teacher)
    return [
        files.of_student(a0),  # 在读且在校
        files.of_student(a1),  # 名在人不在
        stranger("王小花", dt.date(2014, 3, 2), female=True, sequence=11),  # 未在本县学籍, 石门村
        stranger("李小云", dt.date(2013, 5, 6), village="柳树村", sequence=12),  # 未在本县学籍, 柳树村
        stranger(b0.name, b0.birth_date, village="柳树村", sequence=13),  # only a suggestion of b0
        stranger(c2.name, c2.birth_date, village="石门村", sequence=14),  # only a suggestion of c2
    ]


def stranger(name: str, born: dt.date, *, sequence: int, female: bool = False, **kwargs) -> dict:
    """A register row whose 身份证号 no factory student can have (another region code than the factory's)."""
    number = idnumber.make_id_number("431202", born, sequence, female)
    return files.person(name, born, female=female, id_number=number, **kwargs)


@pytest.fixture
def post_register(api, django_capture_on_commit_callbacks):
    """POST a register as ``user``; the comparison job (Celery eager) runs when the request's transaction commits."""

    def post(user, upload, **data):
        with django_capture_on_commit_callbacks(execute=True):
            return api.as_user(user).post(RUNS, {"file": upload, **data}, format="multipart")

    return post


@pytest.fixture
def run(world, rows, post_register) -> ScreeningRun:
    response = post_register(world.bureau, files.xlsx(rows))
    assert response.status_code == 202, response.content
    run = ScreeningRun.objects.get(pk=response.json()["id"])
    assert run.status == ScreeningRun.Status.DONE, run.errors
    return run


def child(run, name: str) -> ScreenedChild:
    return ScreenedChild.objects.get(run=run, name=name)


def suggestion_of(run, student) -> ScreenedChild:
    return ScreenedChild.objects.get(run=run, suggested_student=student)


def names(api, user, run, **params) -> list[str]:
    response = api.as_user(user).get(f"{RUNS}{run.pk}/children/", params)
    assert response.status_code == 200, response.content
    return sorted(row["name"] for row in response.json()["results"])


# --- import -------------------------------------------------------------------------------------


def test_bureau_imports_an_xlsx_register_and_the_job_compares_it(world, rows, post_register, api):
    upload = files.xlsx(rows)
    content = upload.read()
    upload.seek(0)
    response = post_register(world.bureau, upload, title="2026年秋季户籍比对", absent_days="5")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["title"] == "2026年秋季户籍比对"
    assert body["file_sha256"] == hashlib.sha256(content).hexdigest()
    assert body["file_size"] == len(content)
    assert body["imported_by_name"] == str(world.bureau)

    done = api.as_user(world.bureau).get(f"{RUNS}{body['id']}/").json()
    assert done["status"] == "done"
    assert done["progress"] == 100
    assert done["errors"] == []
    assert done["cutoff_on"] == "2026-08-31"
    assert done["data_as_of"] == "2026-11-25"
    counts = done["counts"]
    assert counts["register_rows"] == 6
    assert counts["not_of_age"] == 0
    assert counts["total"] == 11  # six listed + a2, b1, b2, c0, c1 (enrolled in the villages, not listed)
    by_outcome = [counts[o] for o in (Outcome.ATTENDING, Outcome.ENROLLED_ABSENT, Outcome.NOT_ENROLLED)]
    assert by_outcome == [1, 1, 4]
    assert counts[Outcome.NOT_REGISTERED] == 5
    assert counts["suggested"] == 2
    assert counts["unresolved"] == 4


def test_a_gbk_csv_register_is_read(world, rows, post_register, api):
    response = post_register(world.bureau, files.csv_file(rows, encoding="gbk"))
    assert response.status_code == 202, response.content
    run = api.as_user(world.bureau).get(f"{RUNS}{response.json()['id']}/").json()
    assert run["status"] == "done", run["errors"]
    assert run["file_format"] == "CSV GBK"
    assert "王小花" in names(api, world.bureau, ScreeningRun.objects.get(pk=run["id"]))


def test_a_bad_id_number_rejects_the_run_with_row_errors_and_writes_no_child(world, rows, post_register, api):
    number = idnumber.make_id_number("431202", dt.date(2014, 3, 2), 11, True)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")  # the check digit of another number
    rows[2] = files.person("王小花", dt.date(2014, 3, 2), female=True, id_number=wrong)
    response = post_register(world.bureau, files.xlsx(rows))
    assert response.status_code == 202
    run = api.as_user(world.bureau).get(f"{RUNS}{response.json()['id']}/").json()
    assert run["status"] == "rejected"
    assert run["error_count"] == 1
    assert [(e["row"], e["field"]) for e in run["errors"]] == [(4, register_file.ID_NUMBER)]
    assert run["counts"]["total"] == 0
    assert not ScreenedChild.objects.exists()
    # The errors quote the register's rows: the bureau's alone.
    seen = api.as_user(world.principal).get(f"{RUNS}{run['id']}/").json()
    assert seen["status"] == "rejected"
    assert seen["errors"] == []
    assert seen["error"] == ""


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("户籍名单.txt", b"a,b\n"),  # wrong extension
        ("户籍名单.xlsx", b"not a zip at all"),  # an .xlsx that is no workbook
        ("户籍名单.csv", b""),  # empty
    ],
)
def test_a_file_refused_before_the_job_is_a_400_and_nothing_is_kept(world, media, post_register, name, content):
    response = post_register(world.bureau, SimpleUploadedFile(name, content))
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert body["errors"][0]["row"] == 0
    assert body["errors"][0]["field"] == "文件"
    assert not ScreeningRun.objects.exists()
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_a_missing_file_is_a_400(world, media, api):
    response = api.as_user(world.bureau).post(RUNS, {"title": "无文件"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert not ScreeningRun.objects.exists()


@pytest.mark.parametrize("role", ["principal", "teacher", "cadre", "outsider"])
def test_only_the_bureau_imports(world, rows, post_register, role):
    response = post_register(getattr(world, role), files.xlsx(rows))
    assert response.status_code == 404
    assert not ScreeningRun.objects.exists()


# --- reading ------------------------------------------------------------------------------------


def test_each_role_sees_only_its_children(world, run, api):
    a0, a1, a2 = (s.name for s in world.students_a)
    b0, b1, b2 = (s.name for s in world.students_b)
    c0, c1, c2 = (s.name for s in world.students_c)
    expected = {
        "bureau": sorted([a0, a1, a2, "王小花", "李小云", b0, c2, b1, b2, c0, c1]),
        "cadre": sorted([a0, a1, a2, "王小花", c2]),  # 石门村 (c2: the register's row suggesting them)
        "cadre2": sorted(["李小云", b0, b1, b2, c0, c1]),  # 柳树村
        "principal": sorted([a0, a1, a2, b1, b2]),  # matched to school 1: never an unmatched child
        "principal2": sorted([c0, c1]),
        "teacher": sorted([a0, a1, a2]),
        "teacher2": sorted([b1, b2]),  # class B: nothing of class A
    }
    for role, wanted in expected.items():
        user = getattr(world, role)
        assert names(api, user, run) == wanted, role
        # Every count is over the same children: never more than the caller sees.
        assert api.as_user(user).get(f"{RUNS}{run.pk}/").json()["counts"]["total"] == len(wanted), role
    principal_counts = api.as_user(world.principal).get(f"{RUNS}{run.pk}/").json()["counts"]
    assert principal_counts[Outcome.NOT_ENROLLED] == 0
    assert "register_rows" not in principal_counts


def test_the_outsider_finds_nothing(world, run, api):
    client = api.as_user(world.outsider)
    assert client.get(RUNS).json()["results"] == []
    for path in ("", "children/", "progress/", f"compare/?with={run.pk}", "file/"):
        assert client.get(f"{RUNS}{run.pk}/{path}").status_code == 404, path
    some_child = ScreenedChild.objects.filter(run=run).first()
    assert client.get(f"{CHILDREN}{some_child.pk}/").status_code == 404


def test_a_child_out_of_scope_is_not_found(world, run, api):
    unmatched = child(run, "王小花")
    assert api.as_user(world.cadre).get(f"{CHILDREN}{unmatched.pk}/").status_code == 200
    for role in ("cadre2", "principal", "teacher", "principal2", "outsider"):
        assert api.as_user(getattr(world, role)).get(f"{CHILDREN}{unmatched.pk}/").status_code == 404, role
    matched = child(run, world.students_a[0].name)
    assert api.as_user(world.teacher).get(f"{CHILDREN}{matched.pk}/").status_code == 200
    assert api.as_user(world.teacher2).get(f"{CHILDREN}{matched.pk}/").status_code == 404


def test_the_cadre_sees_masked_ids_and_finds_a_child_by_the_whole_number_only(world, run, api):
    number = child(run, "王小花").id_number
    row = next(
        r for r in api.as_user(world.cadre).get(f"{RUNS}{run.pk}/children/").json()["results"] if r["name"] == "王小花"
    )
    assert row["id_number"] == "*" * 14 + number[-4:]
    assert names(api, world.cadre, run, q=number[:10]) == []  # a prefix finds nothing for a masked role
    assert names(api, world.cadre, run, q=number) == ["王小花"]
    assert names(api, world.bureau, run, q=number[:10]) == ["王小花"]
    full = api.as_user(world.bureau).get(f"{CHILDREN}{row['id']}/").json()
    assert full["id_number"] == number


def test_filters_and_bad_filters(world, run, api):
    assert names(api, world.bureau, run, outcome="not_enrolled", township=world.township.pk) == sorted(
        ["王小花", world.students_c[2].name]
    )
    assert names(api, world.bureau, run, suggestion="pending", village=world.other_village.pk) == [
        world.students_b[0].name
    ]
    assert names(api, world.bureau, run, unresolved="true", school=world.school2.pk) == []
    client = api.as_user(world.bureau)
    assert client.get(f"{RUNS}{run.pk}/children/", {"outcome": "lost"}).status_code == 400
    assert client.get(f"{RUNS}{run.pk}/children/", {"township": "abc"}).status_code == 400


def test_the_children_list_costs_the_same_whatever_its_length(world, run, api):
    client = api.as_user(world.bureau)
    client.get(f"{RUNS}{run.pk}/children/")  # the scope is cached after the first request

    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"{RUNS}{run.pk}/children/", {"page_size": size})
        assert len(response.json()["results"]) == size
        return len(captured)

    assert queries(11) == queries(1) <= 6


def test_runs_are_listed_newest_first(world, rows, run, post_register, api):
    newer = post_register(world.bureau, files.xlsx(rows), title="复查").json()["id"]
    body = api.as_user(world.cadre).get(RUNS).json()
    assert [r["id"] for r in body["results"]] == [newer, run.pk]
    assert body["count"] == 2
    assert body["results"][0]["counts"]["total"] == 5  # the cadre's children of that run


# --- suggestions --------------------------------------------------------------------------------


def test_the_cadre_confirms_a_suggestion_and_cadre2_rejects_one(world, run, api):
    c2, b0 = world.students_c[2], world.students_b[0]
    mine, theirs = suggestion_of(run, c2), suggestion_of(run, b0)
    before = api.as_user(world.cadre).get(f"{CHILDREN}{mine.pk}/").json()
    assert before["actions"] == {"resolve": False, "confirm": True, "reject": True, "report_absent": False}
    assert before["suggested_student"] == {"id": c2.pk, "name": c2.name, "school_name": world.school2.name}

    assert api.as_user(world.cadre).post(f"{CHILDREN}{theirs.pk}/confirm/").status_code == 404  # not their village
    confirmed = api.as_user(world.cadre).post(f"{CHILDREN}{mine.pk}/confirm/")
    assert confirmed.status_code == 200, confirmed.content
    body = confirmed.json()
    assert body["student"] == c2.pk
    assert body["suggestion"] == "confirmed"
    assert body["match_method"] == "suggestion"
    assert body["outcome"] != Outcome.NOT_ENROLLED
    assert body["school"] == world.school2.pk
    assert api.as_user(world.cadre).post(f"{CHILDREN}{mine.pk}/confirm/").status_code == 409  # twice

    # Now matched to school 2: its principal sees the child, not the comparison's suggestion nor its actions.
    seen = api.as_user(world.principal2).get(f"{CHILDREN}{mine.pk}/").json()
    assert seen["suggested_student"] is None
    assert not seen["actions"]["confirm"]

    rejected = api.as_user(world.cadre2).post(f"{CHILDREN}{theirs.pk}/reject/")
    assert rejected.status_code == 200
    assert rejected.json()["suggestion"] == "rejected"
    assert rejected.json()["outcome"] == Outcome.NOT_ENROLLED
    assert rejected.json()["actions"]["resolve"] is True
    assert api.as_user(world.cadre2).post(f"{CHILDREN}{theirs.pk}/reject/").status_code == 409


# --- resolutions --------------------------------------------------------------------------------


def evidence_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file() and "evidence" in path.parts]


def test_resolved_elsewhere_with_a_scan_that_only_those_who_see_the_child_download(world, run, api, media):
    target = child(run, "王小花")
    response = api.as_user(world.cadre).post(
        f"{CHILDREN}{target.pk}/resolve/",
        {
            "resolution": "elsewhere",
            "school": "广州市白云区第一小学",
            "place": "广东省广州市",
            "evidence": SimpleUploadedFile("在读证明.pdf", PDF, content_type="application/pdf"),
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resolution"] == "elsewhere"
    assert body["resolution_display"] == "在外地就读"
    assert body["has_evidence"]
    assert body["resolved_by_name"] == str(world.cadre)
    assert body["resolved_on"] == "2026-11-25"
    assert body["resolved_school"] == "广州市白云区第一小学"

    for role in ("cadre", "bureau"):
        download = api.as_user(getattr(world, role)).get(f"{CHILDREN}{target.pk}/evidence/")
        assert download.status_code == 200, role
        assert b"".join(download.streaming_content) == PDF
        assert "attachment" in download["Content-Disposition"]
    for role in ("principal2", "principal", "cadre2", "outsider"):
        assert api.as_user(getattr(world, role)).get(f"{CHILDREN}{target.pk}/evidence/").status_code == 404, role
    # A child without evidence has none to download.
    other = child(run, "李小云")
    assert api.as_user(world.bureau).get(f"{CHILDREN}{other.pk}/evidence/").status_code == 404


@pytest.mark.parametrize(("name", "content"), [("扫描.png", PNG), ("在读证明.pdf", EXE)])
def test_a_refused_evidence_file_stores_nothing_and_changes_nothing(world, run, api, media, name, content):
    target = child(run, "王小花")
    response = api.as_user(world.cadre).post(
        f"{CHILDREN}{target.pk}/resolve/",
        {"resolution": "elsewhere", "school": "某校", "place": "某地", "evidence": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    target.refresh_from_db()
    assert target.resolution == ""
    assert not target.evidence
    assert evidence_files(media) == []


def test_resolved_out_of_school_becomes_a_suspected_case_of_source_screening(world, run, api):
    target = child(run, "王小花")
    response = api.as_user(world.cadre).post(
        f"{CHILDREN}{target.pk}/resolve/",
        {"resolution": "out_of_school", "responsible_school": world.school.pk, "note": "在家务农"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resolution"] == Resolution.OUT_OF_SCHOOL
    assert body["case"] is not None
    assert body["actions"]["resolve"] is False  # the case follows the child now
    case = DropoutCase.objects.get(pk=body["case"])
    assert case.source == DropoutCase.Source.SCREENING
    assert case.school == world.school

    cases = api.as_user(world.bureau).get("/api/v1/dropout-cases/").json()["results"]
    listed = [c for c in cases if c["id"] == case.pk]
    assert listed
    assert listed[0]["source"] == "screening"
    assert listed[0]["status"] == "suspected"
    again = api.as_user(world.cadre).post(
        f"{CHILDREN}{target.pk}/resolve/", {"resolution": "migrant", "place": "广东"}, format="json"
    )
    assert again.status_code == 409


def test_illegal_moves_are_conflicts(world, run, api):
    attending = child(run, world.students_a[0].name)
    response = api.as_user(world.bureau).post(
        f"{CHILDREN}{attending.pk}/resolve/", {"resolution": "migrant", "place": "广东"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"]
    pending = suggestion_of(run, world.students_c[2])
    response = api.as_user(world.cadre).post(
        f"{CHILDREN}{pending.pk}/resolve/", {"resolution": "migrant", "place": "广东"}, format="json"
    )
    assert response.status_code == 409  # decide the suggestion first
    assert api.as_user(world.bureau).post(f"{CHILDREN}{attending.pk}/confirm/").status_code == 409
    attending.refresh_from_db()
    assert attending.resolution == ""
    assert attending.outcome == Outcome.ATTENDING


def test_only_the_bureau_and_the_childs_cadres_resolve(world, run, api):
    target = child(run, "王小花")
    body = {"resolution": "migrant", "place": "广东省东莞市"}
    for role in ("cadre2", "principal", "teacher", "outsider"):  # none of them sees the child
        response = api.as_user(getattr(world, role)).post(f"{CHILDREN}{target.pk}/resolve/", body, format="json")
        assert response.status_code == 404, role
        # Scope before input: an empty body is not found either (not a 400 telling the child exists).
        response = api.as_user(getattr(world, role)).post(f"{CHILDREN}{target.pk}/resolve/", {}, format="json")
        assert response.status_code == 404, role
    matched = child(run, world.students_a[0].name)
    response = api.as_user(world.principal).post(f"{CHILDREN}{matched.pk}/confirm/")
    assert response.status_code == 409  # sees it, does not decide it
    target.refresh_from_db()
    assert target.resolution == ""
    assert api.as_user(world.bureau).post(f"{CHILDREN}{target.pk}/resolve/", body, format="json").status_code == 200


def test_an_enrolled_absent_child_is_reported_by_the_school(world, run, api):
    absent = child(run, world.students_a[1].name)
    assert api.as_user(world.cadre).get(f"{CHILDREN}{absent.pk}/").json()["actions"]["report_absent"] is False
    assert api.as_user(world.teacher).get(f"{CHILDREN}{absent.pk}/").json()["actions"]["report_absent"] is True
    response = api.as_user(world.teacher).post(f"{CHILDREN}{absent.pk}/report-absent/", {"note": "连续缺课"})
    assert response.status_code == 200, response.content
    case = DropoutCase.objects.get(pk=response.json()["case"])
    assert case.student == world.students_a[1]
    assert case.source == DropoutCase.Source.SCREENING
    assert response.json()["actions"]["report_absent"] is False
    assert api.as_user(world.teacher).post(f"{CHILDREN}{absent.pk}/report-absent/").status_code == 409
    assert api.as_user(world.teacher2).post(f"{CHILDREN}{absent.pk}/report-absent/").status_code == 404


# --- comparison, progress, files ---------------------------------------------------------------


def test_comparing_two_runs_lists_a_newly_out_of_school_child_and_a_resolved_one(world, rows, run, post_register, api):
    later = ScreeningRun.objects.get(pk=post_register(world.bureau, files.xlsx(rows)).json()["id"])
    client = api.as_user(world.bureau)
    out = client.post(
        f"{CHILDREN}{child(later, '李小云').pk}/resolve/",
        {"resolution": "out_of_school", "responsible_school": world.school2.pk},
        format="json",
    )
    assert out.status_code == 200, out.content
    moved = client.post(
        f"{CHILDREN}{child(later, '王小花').pk}/resolve/", {"resolution": "migrant", "place": "广东"}, format="json"
    )
    assert moved.status_code == 200, moved.content

    body = client.get(f"{RUNS}{later.pk}/compare/", {"with": run.pk}).json()
    assert body["compared_with"] == run.pk
    assert {(c["name"], c["kind"]) for c in body["changes"]} == {
        ("李小云", "newly_out_of_school"),
        ("王小花", "resolved"),
    }
    # Scoped like the children: the cadre of 清溪镇 sees only 王小花's change, with a masked number.
    cadre = api.as_user(world.cadre).get(f"{RUNS}{later.pk}/compare/", {"with": run.pk}).json()
    assert [c["name"] for c in cadre["changes"]] == ["王小花"]
    assert cadre["changes"][0]["id_number"].startswith("*")

    assert client.get(f"{RUNS}{later.pk}/compare/").status_code == 400
    assert client.get(f"{RUNS}{later.pk}/compare/", {"with": "abc"}).status_code == 400
    assert client.get(f"{RUNS}{later.pk}/compare/", {"with": later.pk}).status_code == 400
    assert client.get(f"{RUNS}{later.pk}/compare/", {"with": 10**9}).status_code == 404


def test_progress_per_township_and_village(world, run, api):
    body = api.as_user(world.bureau).get(f"{RUNS}{run.pk}/progress/").json()
    towns = {t["name"]: t for t in body["townships"]}
    assert set(towns) == {"清溪镇", "白沙乡"}
    qingxi = towns["清溪镇"]
    assert (qingxi["total"], qingxi["resolved"], qingxi["left"], qingxi["suggested"]) == (2, 0, 2, 1)
    assert [v["name"] for v in qingxi["villages"]] == ["石门村"]
    assert any(str(world.cadre) in label for label in qingxi["responsible"])

    api.as_user(world.cadre).post(
        f"{CHILDREN}{child(run, '王小花').pk}/resolve/", {"resolution": "migrant", "place": "广东"}, format="json"
    )
    mine = api.as_user(world.cadre).get(f"{RUNS}{run.pk}/progress/").json()["townships"]
    assert [(t["name"], t["resolved"], t["left"]) for t in mine] == [("清溪镇", 1, 1)]
    assert api.as_user(world.principal).get(f"{RUNS}{run.pk}/progress/").json()["townships"] == []


def test_the_register_file_is_the_bureaus(world, rows, post_register, api):
    upload = files.xlsx(rows)
    content = upload.read()
    upload.seek(0)
    run_id = post_register(world.bureau, upload).json()["id"]
    response = api.as_user(world.bureau).get(f"{RUNS}{run_id}/file/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Cache-Control"] == "no-store"
    for role in ("principal", "cadre", "teacher", "outsider"):
        assert api.as_user(getattr(world, role)).get(f"{RUNS}{run_id}/file/").status_code == 404, role


def test_the_template_is_for_the_bureau_and_the_cadres(world, api):
    response = api.as_user(world.cadre).get("/api/v1/screening/template.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [cell.value for cell in sheet[1]] == register_file.COLUMNS
    for user in (world.principal, world.teacher, world.outsider):
        assert api.as_user(user).get("/api/v1/screening/template.xlsx").status_code == 404


def test_the_run_list_counts_each_run_as_its_own_page_does_in_queries_that_do_not_grow(
    world, rows, run, post_register, api, client
):
    """The list (API and page) counts every run of its page in one query, by the run's own definition."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(url: str) -> tuple[object, int]:
        client.get(url)  # warm: the first request of a session reads what later ones find cached
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return response, len(captured)

    client.force_login(world.cadre)
    _, api_one = queries(RUNS)
    _, page_one = queries("/screening/")
    post_register(world.bureau, files.xlsx(rows), title="复查")
    post_register(world.bureau, files.xlsx(rows[:2]), title="再查")
    client.force_login(world.cadre)
    listed, api_three = queries(RUNS)
    _, page_three = queries("/screening/")
    assert (api_three, page_three) == (api_one, page_one)
    counts = {r["id"]: r["counts"] for r in listed.json()["results"]}
    assert len(counts) == 3
    for run_id, listed_counts in counts.items():
        assert listed_counts == api.as_user(world.cadre).get(f"{RUNS}{run_id}/").json()["counts"]
    assert counts[run.pk]["total"] == 5
