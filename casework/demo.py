"""Demo cases in every state for seed_demo, acted out through the real services under a moving clock.

Registered as a students.demo.hooks hook. Before the term's attendance is written, ``stories``
picks the students and the dates of each case's steps (spaced as the county policy's deadlines
space them) and tells the attendance builder what the daily reports must show: away from a day
(reason unknown at first, then truancy), off the class roll from the day after the bureau
confirms the dropout until the morning the student is back. ``act`` then travels to each step's
moment in turn (time-machine) and calls the service a user would have called then: the rules
raise a red flag on the third day away and the class teacher turns it into a case, the principal
signs the report, the bureau confirms or dismisses it, the principal writes the plan, contacts
are logged, the case is escalated and a notice issued, the student returns, follow-ups are done
and the bureau strikes the case off after 20 school days at school. Every row the demo shows is
one the system itself wrote, under the checks it makes for a user.
"""

import dataclasses
import datetime as dt
import heapq
import itertools
import random
import zoneinfo
from collections.abc import Callable

import time_machine
from django.utils import timezone

from students.attendance import risk
from students.calendar import add_working_days, is_working_day
from students.demo.hooks import Story
from students.models import County, Post, RiskFlag, Student, User

from . import selectors, services
from .models import CaseActivity, DropoutCase

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")

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
# How long ago (weeks before as_of) each state's case was found, before fitting it to the term.
WEEKS_AGO = {
    "suspected": 0,
    "reported": 1,
    "confirmed": 2,
    "dismissed": 2,
    "returning": 4,
    "escalated": 4,
    "returning_overdue": 5,
}
UNCONFIRMED = {"suspected", "reported", "dismissed"}
REASONS = ["learning", "learning", "poverty", "work", "distance", "health", "other"]
WHEREABOUTS = {"learning": "home", "poverty": "home", "work": "working", "distance": "home", "health": "home"}
REASON_DETAIL = {"learning": "成绩跟不上,说不想读书", "poverty": "家里困难,想外出挣钱"}
UNKNOWN_NOTES = ["未到校,电话无人接听", "未到校,原因不明"]
UNEXCUSED_NOTES = ["家长称孩子不愿上学", "在家不肯来校", "听说跟亲戚外出"]
# (kind, outcome) of the persuasion contacts, in order; all of them failed ones.
CONTACTS = [("phone", "unreachable"), ("home_visit", "refused"), ("interview", "not_returned")]


@dataclasses.dataclass
class Planned:
    """One demo case: its student and the days of its steps (``_timeline``)."""

    state: str
    student_id: int
    classroom_id: int
    school_id: int
    reason: str
    days: dict


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def _timeline(state: str, school_days: list[dt.date], i: int, consolidate: int) -> dict | None:
    """The days of a case found on ``school_days[i]`` (its third school day away), each step as
    soon as the services' deadlines would have it; ``end``: the last day the state needs
    (``None`` when it needs more school days than the term has so far)."""
    if i < 2:
        return None
    t: dict = {"away": school_days[i - 2], "detected": school_days[i]}
    t["last_attended"] = school_days[i - 3] if i >= 3 else None
    t["reported"] = add_working_days(t["detected"], 1)
    t["verified"] = add_working_days(t["reported"], 2)
    t["planned"] = add_working_days(t["verified"], 2)
    day, contacts = t["planned"], []
    for _ in range({"returning_overdue": 1, "escalated": 3}.get(state, 2)):
        day = add_working_days(day, 1 if state == "returning_overdue" else 2)
        contacts.append(day)
    t["contacts"] = contacts
    t["notice"] = add_working_days(day, 1)
    # Back at school on a school day; ready to close after `consolidate` more school days.
    back = add_working_days(day, 2)
    later = [d for d in school_days if d >= back]
    t["returned"] = later[0] if later else None
    t["ready"] = later[consolidate] if len(later) > consolidate else None
    t["end"] = {
        "suspected": t["detected"],
        "reported": t["reported"],
        "confirmed": t["verified"],
        "dismissed": t["verified"],
        "returning": contacts[-1],
        "returning_overdue": contacts[-1],
        "escalated": t["notice"],
        "returned": t["returned"],
        "returned_ready": t["ready"],
        "closed": t["ready"],
    }[state]
    return t


def _fit(state: str, school_days: list[dt.date], as_of: dt.date, consolidate: int, rng: random.Random) -> dict | None:
    """A timeline for ``state`` that has happened by as_of, found about as many weeks ago as the state
    needs, on a school day before as_of; ``None`` when the term so far is too short for it. Built on
    as_of itself (early in the day), every step is on an earlier day: none is later than now."""
    last = min(as_of, timezone.localdate() - dt.timedelta(days=1))
    past = [d for d in school_days if d < as_of]
    target = as_of - dt.timedelta(days=7 * WEEKS_AGO.get(state, 6) + 3 + rng.randrange(3))
    i = max((k for k, d in enumerate(past) if d <= target), default=len(past) - 1)
    while i >= 2:
        t = _timeline(state, school_days, i, consolidate)
        if t is not None and t["end"] is not None and t["end"] <= last:
            return t
        i -= 5
    return None


def _story(planned: Planned, school_days: list[dt.date], as_of: dt.date, rng: random.Random) -> Story:
    """What the class's daily reports show of this student (see the module docstring)."""
    t, state = planned.days, planned.state
    confirmed = state not in UNCONFIRMED
    absences = {}
    unknown_days = rng.randint(1, 2)  # the reason is unknown at first, then the family says
    for n, day in enumerate(d for d in school_days if t["away"] <= d <= as_of):
        if day > t["verified"] and confirmed:
            break  # off the roll from the day after the confirmation
        if day > t["verified"] and state == "dismissed":
            absences[day] = ("sick", "住院治疗(有医院证明)", True)
        elif n < unknown_days:
            absences[day] = ("unknown", rng.choice(UNKNOWN_NOTES), False)
        else:
            absences[day] = ("unexcused", rng.choice(UNEXCUSED_NOTES), True)
    off_roll = None
    if confirmed:
        after = [d for d in school_days if d > t["verified"]]
        if after:
            back = t["returned"] if state in ("returned", "returned_ready", "closed") else None
            last = max((d for d in school_days if d < back), default=None) if back else None
            off_roll = (after[0], last)
    return Story(student_id=planned.student_id, absences=absences, off_roll=off_roll)


class _People:
    """The demo's bureau user, and each school's principal and each class's teacher."""

    def __init__(self, county: County):
        self.principal: dict[int, User] = {}
        self.teacher: dict[int, User] = {}
        self.bureau: User | None = None
        for post in Post.objects.filter(county=county).select_related("user").order_by("pk"):
            if post.role == Post.Role.PRINCIPAL:
                self.principal.setdefault(post.school_id, post.user)
            elif post.role == Post.Role.CLASS_TEACHER:
                self.teacher.setdefault(post.classroom_id, post.user)
            elif post.role == Post.Role.BUREAU and self.bureau is None:
                self.bureau = post.user


class DemoCases:
    """The casework demo hook (students.demo.hooks): plan cases, then act them out."""

    def __init__(self) -> None:
        self.planned: list[Planned] = []
        self.skipped: list[str] = []

    def stories(
        self, *, county, as_of: dt.date, school_days: list[dt.date], keep_rooms: set[int], rng: random.Random
    ) -> list[Story]:
        if not Post.objects.filter(county=county, role=Post.Role.BUREAU).exists():
            return []
        consolidate = services.policy_for(county.pk).consolidate_school_days
        schools = list(county.schools.order_by("code").values_list("pk", flat=True))
        wanted = [(schools[0], state) for state in FIRST_SCHOOL_STATES]
        others = schools[1:]
        if others:
            students = Student.objects.filter(school__county=county).count()
            extra = min(2 * len(others), students // 100)
            wanted += [(others[k % len(others)], OTHER_STATES[k % len(OTHER_STATES)]) for k in range(extra)]
        # Students of the classes whose flags the demo teachers keep for themselves are left alone.
        pool: dict[int, list[tuple[int, int]]] = {}
        for pk, classroom_id, school_id in (
            Student.objects.filter(
                school_id__in={school for school, _ in wanted},
                status=Student.Status.ENROLLED,
                classroom__isnull=False,
            )
            .exclude(classroom_id__in=keep_rooms)
            .order_by("pk")
            .values_list("pk", "classroom_id", "school_id")
        ):
            pool.setdefault(school_id, []).append((pk, classroom_id))
        stories = []
        for school_id, state in wanted:
            days = _fit(state, school_days, as_of, consolidate, rng)
            candidates = pool.get(school_id, [])
            if days is None or not candidates:
                self.skipped.append(state)
                continue
            student_id, classroom_id = candidates.pop(rng.randrange(len(candidates)))
            planned = Planned(state, student_id, classroom_id, school_id, rng.choice(REASONS), days)
            self.planned.append(planned)
            stories.append(_story(planned, school_days, as_of, rng))
        return stories

    def act(self, *, county, as_of: dt.date, write) -> dict[str, int]:
        if not self.planned:
            return {}
        people = _People(county)
        steps: list[tuple[dt.datetime, int, Callable[[], None]]] = []
        order = itertools.count()

        def at(moment: dt.datetime, step: Callable[[], None]) -> None:
            heapq.heappush(steps, (moment, next(order), step))

        for planned in self.planned:
            _Case(planned, people, county, as_of, at).schedule()
        while steps:
            moment, _, step = heapq.heappop(steps)
            with time_machine.travel(moment, tick=False):
                step()

        counts: dict[str, int] = {}
        for status in DropoutCase.objects.filter(school__county=county).values_list("status", flat=True):
            counts[f"cases_{status}"] = counts.get(f"cases_{status}", 0) + 1
        summary = ", ".join(f"{DropoutCase.Status(k[6:]).label} {v}" for k, v in sorted(counts.items()))
        note = f"(学期尚短,未生成 too early in the term for: {'、'.join(self.skipped)})" if self.skipped else ""
        write(f"  个案 cases: {summary}{note}")
        return counts


class _Case:
    """One demo case's steps, each scheduled at its moment and done by the service a user would call."""

    def __init__(self, planned: Planned, people: _People, county: County, as_of: dt.date, at):
        self.p, self.t, self.county, self.as_of, self.at = planned, planned.days, county, as_of, at
        self.teacher = people.teacher[planned.classroom_id]
        self.principal = people.principal[planned.school_id]
        self.bureau = people.bureau
        self.case: DropoutCase | None = None

    def schedule(self) -> None:
        t, state = self.t, self.p.state
        self.at(_at(t["detected"], 16), self.open)
        if state == "suspected":
            return
        self.at(_at(t["reported"], 15), self.sign)
        if state == "reported":
            return
        self.at(_at(t["verified"], 10), self.dismiss if state == "dismissed" else self.verify)
        if state in ("dismissed", "confirmed"):
            return
        self.at(_at(t["planned"], 16), self.plan)
        for n, day in enumerate(t["contacts"]):
            self.at(_at(day, 17), lambda n=n, day=day: self.contact(day, *CONTACTS[n % len(CONTACTS)]))
        if state == "escalated":
            self.at(_at(t["contacts"][-1], 18), self.escalate)
            self.at(_at(t["notice"], 10), self.notice)
        if state in ("returned", "returned_ready", "closed"):
            # Brought back by the joint visit that morning, re-enrolled before the class reports.
            self.at(_at(t["returned"], 7, 20), lambda: self.contact(t["returned"], "joint", "returned"))
            self.at(_at(t["returned"], 7, 30), self.back)
        if state == "closed":
            self.at(_at(t["ready"], 10), self.close)

    # --- the steps ----------------------------------------------------------------------------

    def open(self) -> None:
        p, t = self.p, self.t
        risk.evaluate(county_id=self.county.pk, as_of=t["detected"], classroom_ids=[p.classroom_id])
        flag = RiskFlag.objects.filter(student_id=p.student_id, level="red", status="open").first()
        form = services.ReportForm(
            last_attended_on=t["last_attended"],
            dropped_out_on=t["away"],
            reason=p.reason,
            reason_detail=REASON_DETAIL.get(p.reason, ""),
            whereabouts=WHEREABOUTS.get(p.reason, "unknown"),
            family_situation="与父母同住",
            measures_taken="班主任电话联系家长,家访一次",
            teacher_opinion="建议上报,尽快劝返",
        )
        self.case = services.open_case(
            user=self.teacher,
            student_id=p.student_id,
            source=DropoutCase.Source.ATTENDANCE if flag else DropoutCase.Source.MANUAL,
            flag_id=flag.pk if flag else None,
            form=form,
        )

    def sign(self) -> None:
        case_id = self._id()
        services.update_report(user=self.principal, case_id=case_id, changes={"principal_opinion": "同意上报"})
        services.submit_report(user=self.principal, case_id=case_id)

    def verify(self) -> None:
        services.verify_case(user=self.bureau, case_id=self._id(), note="经核实,该生已连续多日未到校")

    def dismiss(self) -> None:
        services.dismiss_case(user=self.bureau, case_id=self._id(), reason="sick_leave", note="住院治疗,有医院证明")

    def plan(self) -> None:
        case = DropoutCase.objects.select_related("student__village", "school").get(pk=self._id())
        candidates = selectors.plan_candidates(case, None)
        pools = {pool: [pk for pk, _ in candidates[pool]] for pool in ("leaders", "teachers", "township", "village")}
        teacher = candidates["teacher_of_class"] or pools["teachers"][0]
        leader = self.principal.pk if self.principal.pk in pools["leaders"] else pools["leaders"][0]
        reason = self.p.reason
        services.make_plan(
            user=self.principal,
            case_id=case.pk,
            plan=services.PlanInput(
                reason_analysis={"learning": "学习困难导致厌学", "poverty": "家庭经济困难"}.get(reason, "多种原因"),
                measures={"poverty": ["aid", "home_visit"], "learning": ["tutoring", "counselling", "home_visit"]}.get(
                    reason, ["home_visit", "law"]
                ),
                method="班主任与村干部联合家访,讲解义务教育法,落实帮扶",
                target_return_on=self.t["planned"] + dt.timedelta(days=21),
                school_leader_id=leader,
                class_teacher_id=teacher,
                township_cadre_id=pools["township"][0],
                village_cadre_id=pools["village"][0] if pools["village"] else None,
            ),
        )

    def contact(self, day: dt.date, kind: str, outcome: str) -> None:
        returned = outcome == CaseActivity.Outcome.RETURNED
        services.add_activity(
            user=self.teacher,
            case_id=self._id(),
            activity=services.ActivityInput(
                occurred_on=day,
                kind=kind,
                outcome=outcome,
                participants="校长、乡镇干部、村干部" if returned else "班主任、村干部",
                content="学生随劝返人员返校" if returned else "与家长沟通返校事宜",
            ),
        )

    def escalate(self) -> None:
        services.escalate_case(user=self.principal, case_id=self._id())

    def notice(self) -> None:
        services.issue_notice(user=self.principal, case_id=self._id())

    def back(self) -> None:
        case = services.record_return(
            user=self.principal, case_id=self._id(), returned_on=self.t["returned"], placement="original"
        )
        closed = self.t["ready"] if self.p.state == "closed" else None
        for follow_up in case.follow_ups.order_by("due_on", "pk"):
            day = follow_up.due_on
            while not is_working_day(day):  # a check-in due on a day off is made the next working day
                day += dt.timedelta(days=1)
            if day < self.as_of and (closed is None or day <= closed):
                self.at(_at(day, 9), lambda pk=follow_up.pk: self.follow_up(pk))

    def follow_up(self, follow_up_id: int) -> None:
        services.complete_follow_up(user=self.teacher, follow_up_id=follow_up_id)

    def close(self) -> None:
        services.close_case(user=self.bureau, case_id=self._id())

    def _id(self) -> int:
        assert self.case is not None, "a case step before the case was opened"
        return self.case.pk
