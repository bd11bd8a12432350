"""Demo cases in every state for seed_demo (registered as a students.demo.hooks hook).

Cases are written as rows with back-dated events, the way fixtures are: the demo county needs a
history that started weeks before today. Deadlines are then computed by the real service.
"""

import datetime as dt
import random
import zoneinfo

from django.db.models import Q

from students.calendar import add_working_days, is_working_day
from students.models import Post, RiskFlag, Student

from .models import CaseActivity, CaseEvent, DropoutCase, FollowUp, ReturnPlan
from .services import refresh_due

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
S = DropoutCase.Status

# The first school's cases show one of each state; other schools get a sample.
FIRST_SCHOOL_STATES = [
    "suspected",
    "reported",
    "confirmed",
    "returning_overdue",
    "returning",
    "escalated",
    "returned",
    "returned_ready",
    "closed",
    "dismissed",
]
OTHER_STATES = [
    "suspected",
    "reported",
    "confirmed",
    "returning",
    "returning_overdue",
    "escalated",
    "returned",
    "closed",
]
REASONS = ["learning", "learning", "poverty", "work", "distance", "health", "other"]
WHEREABOUTS = {"learning": "home", "poverty": "home", "work": "working", "distance": "home", "health": "home"}


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI)


class _People:
    def __init__(self, county):
        posts = Post.objects.filter(county=county).values_list(
            "role", "user_id", "school_id", "classroom_id", "township_id"
        )
        self.principal, self.teacher, self.cadre, self.bureau = {}, {}, {}, None
        for role, user_id, school_id, classroom_id, township_id in posts:
            if role == Post.Role.PRINCIPAL:
                self.principal.setdefault(school_id, user_id)
            elif role == Post.Role.CLASS_TEACHER:
                self.teacher.setdefault(classroom_id, user_id)
            elif role == Post.Role.CADRE and township_id:
                self.cadre.setdefault(township_id, user_id)
            elif role == Post.Role.BUREAU and self.bureau is None:
                self.bureau = user_id


def seed_cases(*, county, as_of: dt.date, rng: random.Random, write) -> dict[str, int]:
    people = _People(county)
    if people.bureau is None:
        return {}
    first_school = county.schools.order_by("code").first()
    # The demo `teacher` keeps their red flag open, to turn it into a case themselves.
    demo_teacher_class = Post.objects.filter(user__username="teacher", role=Post.Role.CLASS_TEACHER).values(
        "classroom_id"
    )
    red = list(
        RiskFlag.objects.filter(
            level="red", status="open", student__school__county=county, student__status=Student.Status.ENROLLED
        )
        .exclude(student__classroom_id__in=demo_teacher_class)
        .select_related("student", "student__village")
        .order_by("student__school__code", "id")
    )
    used: set[int] = set()
    plan: list[tuple[str, Student, RiskFlag | None]] = []

    def pick_student(school_id, prefer_flag: bool):
        """A red-flagged student of the school for the states before return, else a random one."""
        if prefer_flag:
            for flag in red:
                if flag.student_id not in used and flag.student.school_id == school_id:
                    used.add(flag.student_id)
                    return flag.student, flag
        candidates = (
            Student.objects.filter(school_id=school_id, status=Student.Status.ENROLLED)
            .exclude(Q(pk__in=used) | Q(risk_flags__level="red") | Q(classroom_id__in=demo_teacher_class))
            .select_related("school", "village")
            .order_by("pk")
        )
        student = candidates[rng.randrange(50)] if candidates[:50].count() == 50 else candidates.first()
        if student is not None:
            used.add(student.pk)
        return student, None

    before_return = {"suspected", "reported", "confirmed", "returning", "returning_overdue", "escalated"}
    for state in FIRST_SCHOOL_STATES:
        student, flag = pick_student(first_school.pk, prefer_flag=state in before_return)
        if student:
            plan.append((state, student, flag))
    others = list(county.schools.exclude(pk=first_school.pk).order_by("code").values_list("pk", flat=True))
    wanted = min(max(0, len(red) // 2), len(others) * 2)
    for i in range(wanted):
        state = OTHER_STATES[i % len(OTHER_STATES)]
        student, flag = pick_student(others[i % len(others)], prefer_flag=state in before_return)
        if student:
            plan.append((state, student, flag))

    counts: dict[str, int] = {}
    for state, student, flag in plan:
        case = _build(state, student, flag, people, as_of, rng)
        counts[f"cases_{case.status}"] = counts.get(f"cases_{case.status}", 0) + 1
    write("  个案 cases: " + ", ".join(f"{DropoutCase.Status(k[6:]).label} {v}" for k, v in sorted(counts.items())))
    return counts


def _build(state: str, student: Student, flag, people: _People, as_of: dt.date, rng: random.Random) -> DropoutCase:
    school = student.school
    principal = people.principal.get(school.pk) or people.bureau
    teacher = people.teacher.get(student.classroom_id) or principal
    township_id = student.village.township_id if student.village_id else school.township_id
    cadre = people.cadre.get(township_id) or people.bureau
    reason = rng.choice(REASONS)
    weeks_ago = {"suspected": 0, "reported": 1, "confirmed": 2, "dismissed": 2}.get(
        state, 6 if "returned" in state or state == "closed" else 4
    )
    if state == "returning_overdue":
        weeks_ago = 5
    detected = _working_day_on_or_before(as_of - dt.timedelta(days=7 * weeks_ago + 3))
    if flag is not None and (flag.evidence or {}).get("dates"):
        first_absent = dt.date.fromisoformat(flag.evidence["dates"][0])
        detected = _working_day_on_or_before(min(as_of, first_absent + dt.timedelta(days=4)))
    # Every step must have happened by today: a state whose steps do not fit starts earlier (and
    # then no longer from the flag, whose absences are recent).
    timeline = _timeline(state, detected)
    while timeline["end"] > as_of:
        flag = None
        detected = _working_day_on_or_before(detected - dt.timedelta(days=7))
        timeline = _timeline(state, detected)
    last_attended = detected - dt.timedelta(days=4)
    if flag is not None:
        last_attended = dt.date.fromisoformat(flag.evidence["dates"][0]) - dt.timedelta(days=1)
    case = DropoutCase.objects.create(
        student=student,
        school=school,
        classroom_id=student.classroom_id,
        source=DropoutCase.Source.ATTENDANCE if flag else DropoutCase.Source.MANUAL,
        source_flag=flag,
        detected_on=detected,
        last_attended_on=last_attended,
        dropped_out_on=last_attended + dt.timedelta(days=1),
        reason=reason,
        reason_detail={"learning": "成绩跟不上,说不想读书", "poverty": "家里困难,想外出挣钱"}.get(reason, ""),
        whereabouts=WHEREABOUTS.get(reason, "unknown"),
        family_situation="父母外出务工,与祖父母生活" if student.left_behind else "与父母同住",
        measures_taken="班主任电话联系家长,家访一次",
        teacher_opinion="建议上报,尽快劝返",
        created_by_id=teacher,
        created_at=_at(detected),
    )
    events = [
        CaseEvent(
            case=case, at=_at(detected), by_id=teacher, action="报告疑似辍学", to_status=S.SUSPECTED, school=school
        )
    ]
    if flag is not None:
        RiskFlag.objects.filter(pk=flag.pk).update(
            status="acknowledged", handled_by_id=teacher, handling_note="已转为疑似辍学个案"
        )
    if state == "suspected":
        return _finish(case, events, student_status=None)

    reported = timeline["reported"]
    case.reported_on, case.signed_by_id, case.principal_opinion = reported, principal, "同意上报"
    events.append(
        CaseEvent(
            case=case,
            at=_at(reported, 15),
            by_id=principal,
            action="校长签发并上报教育局",
            from_status=S.SUSPECTED,
            to_status=S.SUSPECTED,
            school=school,
        )
    )
    if state == "reported":
        return _finish(case, events, student_status=None)
    verified = timeline["verified"]
    case.verified_on = verified
    if state == "dismissed":
        case.status, case.dismiss_reason = S.DISMISSED, "sick_leave"
        events.append(
            CaseEvent(
                case=case,
                at=_at(verified, 10),
                by_id=people.bureau,
                action="教育局排除:病假",
                from_status=S.SUSPECTED,
                to_status=S.DISMISSED,
                note="住院治疗,有医院证明",
                school=school,
            )
        )
        return _finish(case, events, student_status=None)
    case.status = S.CONFIRMED
    events.append(
        CaseEvent(
            case=case,
            at=_at(verified, 10),
            by_id=people.bureau,
            action="教育局认定辍学",
            from_status=S.SUSPECTED,
            to_status=S.CONFIRMED,
            school=school,
        )
    )
    if state == "confirmed":
        return _finish(case, events, student_status=Student.Status.DROPPED_OUT)

    planned = timeline["planned"]
    ReturnPlan.objects.create(
        case=case,
        version=1,
        reason_analysis={"learning": "学习困难导致厌学", "poverty": "家庭经济困难"}.get(reason, "多种原因"),
        measures={"poverty": ["aid", "home_visit"], "learning": ["tutoring", "counselling", "home_visit"]}.get(
            reason, ["home_visit", "law"]
        ),
        method="班主任与村干部联合家访,讲解义务教育法,落实帮扶",
        target_return_on=planned + dt.timedelta(days=21),
        school_leader_id=principal,
        class_teacher_id=teacher,
        township_cadre_id=cadre,
        lead_is_township=state == "escalated",
        created_by_id=principal,
        created_at=_at(planned, 16),
    )
    case.status = S.RETURNING
    events.append(
        CaseEvent(
            case=case,
            at=_at(planned, 16),
            by_id=principal,
            action="制定一人一案(第1版)",
            from_status=S.CONFIRMED,
            to_status=S.RETURNING,
            school=school,
        )
    )
    contacts = [
        ("phone", "unreachable"),
        ("home_visit", "refused"),
        ("interview", "not_returned"),
        ("home_visit", "promised"),
    ]
    for (kind, outcome), day in zip(contacts, timeline["contacts"], strict=False):
        CaseActivity.objects.create(
            case=case,
            occurred_on=day,
            kind=kind,
            outcome=outcome,
            participants="班主任、村干部",
            content="与家长沟通返校事宜",
            created_by_id=teacher,
            created_at=_at(day, 17),
            school=school,
        )
    if state in ("returning", "returning_overdue"):
        return _finish(case, events, student_status=Student.Status.DROPPED_OUT)
    if state == "escalated":
        case.status = S.ESCALATED
        events.append(
            CaseEvent(
                case=case,
                at=_at(day, 18),
                by_id=principal,
                action="升级为联合劝返(乡镇牵头)",
                from_status=S.RETURNING,
                to_status=S.ESCALATED,
                note="已3次劝返未果",
                school=school,
            )
        )
        return _finish(case, events, student_status=Student.Status.DROPPED_OUT)

    returned = timeline["returned"]  # after the last persuasion contact, never before it
    CaseActivity.objects.create(
        case=case,
        occurred_on=returned,
        kind="joint",
        outcome="returned",
        participants="校长、乡镇干部、村干部",
        content="学生已返校",
        created_by_id=teacher,
        created_at=_at(returned, 8),
        school=school,
    )
    case.status, case.returned_on, case.placement = S.RETURNED, returned, "original"
    events.append(
        CaseEvent(
            case=case,
            at=_at(returned, 9),
            by_id=principal,
            action="登记复学(原班就读)",
            from_status=S.RETURNING,
            to_status=S.RETURNED,
            school=school,
        )
    )
    FollowUp.objects.bulk_create(
        FollowUp(case=case, kind=kind, due_on=due, assignee_id=teacher, done_on=due if due < as_of else None, note=text)
        for kind, due, text in [
            ("buddy", add_working_days(returned, 1), "安排互助对子"),
            ("tutoring", add_working_days(returned, 5), "补习辅导"),
            *[("check_in", returned + dt.timedelta(days=7 * w), f"第{w}周回访") for w in (1, 2, 3, 4)],
        ]
    )
    if state == "closed":
        closed = timeline["closed"]
        case.status, case.closed_on, case.close_basis = S.CLOSED, closed, "复学后实际到校满20个上学日(考勤日报)"
        events.append(
            CaseEvent(
                case=case,
                at=_at(closed, 10),
                by_id=people.bureau,
                action="教育局销号",
                from_status=S.RETURNED,
                to_status=S.CLOSED,
                school=school,
            )
        )
    return _finish(case, events, student_status=Student.Status.ENROLLED)


def _working_day_on_or_before(day: dt.date) -> dt.date:
    """Cases are found on working days (a teacher notices on a day at school)."""
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def _timeline(state: str, detected: dt.date) -> dict:
    """The dates of a case's steps from its detection, as the services' deadlines space them, and
    ``end``: the last step the state needs (a case ready to close has had 28 working days back)."""
    t: dict = {"detected": detected}
    t["reported"] = add_working_days(detected, 1)
    t["verified"] = add_working_days(t["reported"], 2)
    t["planned"] = add_working_days(t["verified"], 2)
    day, contacts = t["planned"], []
    for _ in range({"returning_overdue": 1, "escalated": 3}.get(state, 2)):
        day = add_working_days(day, 1 if state == "returning_overdue" else 2)
        contacts.append(day)
    t["contacts"] = contacts
    t["returned"] = add_working_days(day, 2)
    t["closed"] = add_working_days(t["returned"], 28)
    t["end"] = {
        "suspected": detected,
        "reported": t["reported"],
        "confirmed": t["verified"],
        "dismissed": t["verified"],
        "returning": contacts[-1],
        "returning_overdue": contacts[-1],
        "escalated": contacts[-1],
        "returned": t["returned"],
        "returned_ready": t["closed"],
        "closed": t["closed"],
    }[state]
    return t


def _finish(case: DropoutCase, events: list[CaseEvent], *, student_status) -> DropoutCase:
    case.save()
    CaseEvent.objects.bulk_create(events)
    if student_status:
        Student.objects.filter(pk=case.student_id).update(status=student_status)
    refresh_due(case)
    return case
