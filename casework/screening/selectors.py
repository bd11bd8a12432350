"""Screening reads, always from the user (students.scoping decides who sees what).

- the bureau sees every child of its county's runs;
- a township / village cadre sees the children whose register village lies in their township / village;
- a school leader (class teacher) sees only the children matched to their school (class);
- the register's unmatched children are the bureau's and the cadres' alone.

Every count of a page, the API and the dashboards comes from :func:`outcome_counts` over
:func:`children_visible_to`, so two places cannot disagree.
"""

import dataclasses
from collections import defaultdict

from django.db.models import Count, Q, QuerySet

from students import scoping
from students.models import Post, School, Township, Village

from ..models import Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun

Status = ScreeningRun.Status
NOT_ENROLLED = ScreeningOutcome.NOT_ENROLLED


def children_q(user) -> Q:
    scope = scoping.scope_for(user)
    if scope.superuser:
        return Q()
    return (
        scoping.county_q(scope, "run__county_id")
        | scoping.residence_q(scope, "township_id", "village_id")
        | (scoping.led_school_q(scope, "school_id") & Q(student__isnull=False))
        | (scoping.taught_classroom_q(scope, "classroom_id") & Q(student__isnull=False))
    )


def children_visible_to(user) -> QuerySet[ScreenedChild]:
    """Children of finished runs that ``user`` may see."""
    return ScreenedChild.objects.filter(children_q(user), run__status=Status.DONE)


def runs_visible_to(user) -> QuerySet[ScreeningRun]:
    """The runs of the counties the user works in (their counts are always taken from the visible children)."""
    scope = scoping.scope_for(user)
    if scope.superuser:
        return ScreeningRun.objects.all()
    return ScreeningRun.objects.filter(county_id__in=scoping.post_county_ids(user))


def may_import(user) -> bool:
    return scoping.scope_for(user).is_bureau


def is_resolver_of(user, child: ScreenedChild) -> bool:
    """The bureau of the run's county, or a cadre of the child's township / village."""
    scope = scoping.scope_for(user)
    if scope.manages_county(child.run.county_id):
        return True
    if not scope.residence_line:
        return False
    return ScreenedChild.objects.filter(scoping.residence_q(scope, "township_id", "village_id"), pk=child.pk).exists()


def may_resolve(user, child: ScreenedChild) -> bool:
    return child.outcome == NOT_ENROLLED and is_resolver_of(user, child)


def latest_run(user) -> ScreeningRun | None:
    return runs_visible_to(user).filter(status=Status.DONE).order_by("-created_at", "-pk").first()


def run_for(user, run_id) -> ScreeningRun:
    return scoping.get_visible_or_404(runs_visible_to(user).select_related("imported_by", "county"), pk=run_id)


def child_for(user, child_id) -> ScreenedChild:
    related = ("run", "student", "suggested_student", "school", "classroom", "village__township", "resolved_by", "case")
    return scoping.get_visible_or_404(children_visible_to(user).select_related(*related), pk=child_id)


def responsible_schools(user, child: ScreenedChild) -> QuerySet[School]:
    """Schools that may take a 失学 child's case: the schools of the child's township (any school of the
    county for the bureau, or when the township has none)."""
    county_schools = School.objects.filter(county_id=child.run.county_id).order_by("code")
    if child.township_id is None or scoping.scope_for(user).manages_county(child.run.county_id):
        return county_schools
    local = county_schools.filter(township_id=child.township_id)
    if not local.exists():
        return county_schools
    return local


# --- counts ------------------------------------------------------------------------------------


def _outcome_aggregates() -> dict[str, Count]:
    """The one definition of a run's counts: each outcome, unmatched resolved / left, suggestions pending."""
    return {
        "total": Count("pk"),
        **{outcome.value: Count("pk", filter=Q(outcome=outcome)) for outcome in ScreeningOutcome},
        "resolved": Count("pk", filter=Q(outcome=NOT_ENROLLED) & ~Q(resolution="")),
        "unresolved": Count("pk", filter=Q(outcome=NOT_ENROLLED, resolution="")),
        "suggested": Count("pk", filter=Q(suggestion=ScreenedChild.Suggestion.PENDING)),
        "out_of_school": Count("pk", filter=Q(resolution=Resolution.OUT_OF_SCHOOL)),
        "absent_reported": Count("pk", filter=Q(outcome=ScreeningOutcome.ENROLLED_ABSENT, case__isnull=False)),
    }


def outcome_counts(children: QuerySet[ScreenedChild]) -> dict[str, int]:
    """How many children of each outcome, how many unmatched are resolved / left, suggestions pending."""
    counts = children.aggregate(**_outcome_aggregates())
    return {key: value or 0 for key, value in counts.items()}


def outcome_counts_by_run(children: QuerySet[ScreenedChild], run_ids: list[int]) -> dict[int, dict[str, int]]:
    """:func:`outcome_counts` of each of these runs' children, in one query (a run without any: zeros)."""
    aggregates = _outcome_aggregates()
    rows = children.filter(run_id__in=run_ids).order_by().values("run_id").annotate(**aggregates)
    found = {row.pop("run_id"): {key: value or 0 for key, value in row.items()} for row in rows}
    return {run_id: found.get(run_id, dict.fromkeys(aggregates, 0)) for run_id in run_ids}


@dataclasses.dataclass
class PlaceProgress:
    """One township (with its villages) or village: the unmatched children and who answers for them."""

    pk: int | None
    name: str
    total: int = 0  # children to resolve (未在本县学籍)
    resolved: int = 0
    suggested: int = 0
    out_of_school: int = 0
    responsible: list[str] = dataclasses.field(default_factory=list)
    villages: list["PlaceProgress"] = dataclasses.field(default_factory=list)

    @property
    def left(self) -> int:
        return self.total - self.resolved

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.resolved * 100 // self.total


def progress(user, run: ScreeningRun) -> list[PlaceProgress]:
    """Per township, then per village: how many unmatched children are resolved and left, and the cadres."""
    grouped = (
        children_visible_to(user)
        .filter(run=run, outcome=NOT_ENROLLED)
        .order_by()
        .values("township_id", "village_id")
        .annotate(
            total=Count("pk"),
            resolved=Count("pk", filter=~Q(resolution="")),
            suggested=Count("pk", filter=Q(suggestion=ScreenedChild.Suggestion.PENDING)),
            out_of_school=Count("pk", filter=Q(resolution=Resolution.OUT_OF_SCHOOL)),
        )
    )
    rows = list(grouped)
    town_names = dict(Township.objects.filter(pk__in={r["township_id"] for r in rows}).values_list("pk", "name"))
    village_names = dict(Village.objects.filter(pk__in={r["village_id"] for r in rows}).values_list("pk", "name"))
    cadres: defaultdict[tuple[str, int], list[str]] = defaultdict(list)
    posts = (
        Post.objects.active()
        .filter(role=Post.Role.CADRE)
        .filter(Q(township_id__in=town_names, village__isnull=True) | Q(village_id__in=village_names))
        .order_by("start_date", "pk")
        .values_list("township_id", "village_id", "user__display_name", "user__username", "user__phone")
    )
    for township_id, village_id, display_name, username, phone in posts:
        label = f"{display_name or username}" + (f"({phone})" if phone else "")
        cadres[("village", village_id) if village_id else ("township", township_id)].append(label)
    towns: dict[int | None, PlaceProgress] = {}
    for r in sorted(rows, key=lambda r: (town_names.get(r["township_id"], ""), village_names.get(r["village_id"], ""))):
        town = towns.get(r["township_id"])
        if town is None:
            town = towns[r["township_id"]] = PlaceProgress(
                pk=r["township_id"],
                name=town_names.get(r["township_id"], "(未知乡镇)"),
                responsible=cadres.get(("township", r["township_id"]), []),
            )
        village = PlaceProgress(
            pk=r["village_id"],
            name=village_names.get(r["village_id"], "(未知村)"),
            total=r["total"],
            resolved=r["resolved"],
            suggested=r["suggested"],
            out_of_school=r["out_of_school"],
            responsible=cadres.get(("village", r["village_id"]), []) or town.responsible,
        )
        town.villages.append(village)
        for field in ("total", "resolved", "suggested", "out_of_school"):
            setattr(town, field, getattr(town, field) + getattr(village, field))
    return list(towns.values())


# --- lists and comparison ----------------------------------------------------------------------


def filter_children(
    children: QuerySet[ScreenedChild],
    *,
    outcome: str = "",
    resolution: str = "",
    township=None,
    village=None,
    school=None,
    suggestion: str = "",
    unresolved: bool = False,
    q: str = "",
    user=None,
) -> QuerySet[ScreenedChild]:
    if outcome:
        children = children.filter(outcome=outcome)
    if resolution:
        children = children.filter(resolution=resolution)
    if township:
        children = children.filter(township_id=township)
    if village:
        children = children.filter(village_id=village)
    if school:
        children = children.filter(school_id=school)
    if suggestion:
        children = children.filter(suggestion=suggestion)
    if unresolved:
        children = children.filter(outcome=NOT_ENROLLED, resolution="")
    q = (q or "").strip()
    if q:
        condition = Q(name__contains=q) | Q(household_head__contains=q)
        if q.isascii() and any(ch.isdigit() for ch in q):
            if user is not None and scoping.scope_for(user).sees_full_id_numbers:
                condition |= Q(id_number__startswith=q.upper())
            else:  # masked roles find by the whole number only (never a prefix)
                condition |= Q(id_number=q.upper())
        children = children.filter(condition)
    return children


def shown_id(user, value: str) -> str:
    return scoping.display_id_number(user, value)


CHANGE_KINDS = {
    "newly_out_of_school": "新发现失学",
    "resolved": "已核实/已入学",
    "moved_in": "新出现(迁入)",
    "moved_out": "不再出现(迁出)",
    "changed": "结果变化",
}


def _state(row: dict) -> tuple[str, str]:
    return row["outcome"], row["resolution"]


def compare_runs(user, run: ScreeningRun, other: ScreeningRun) -> list[dict]:
    """The children whose outcome changed from ``other`` (the earlier run) to ``run``: newly 失学,
    resolved, moved in or out, or another change. Keyed by 身份证号 (or the student when blank)."""
    fields = ("pk", "name", "id_number", "student_id", "outcome", "resolution", "township__name", "village__name")

    def keyed(target: ScreeningRun) -> dict[str, dict]:
        rows = children_visible_to(user).filter(run=target).order_by().values(*fields)
        return {row["id_number"] or f"student:{row['student_id']}": row for row in rows}

    before, after = keyed(other), keyed(run)
    labels = {code: str(label) for code, label in ScreeningOutcome.choices}
    resolutions = {code: str(label) for code, label in Resolution.choices}

    def describe(row: dict | None) -> str:
        if row is None:
            return "—"
        text = labels[row["outcome"]]
        return f"{text}({resolutions[row['resolution']]})" if row["resolution"] else text

    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and _state(old) == _state(new):
            continue
        if new is None:
            kind = "moved_out"
        elif old is None:
            kind = "newly_out_of_school" if new["resolution"] == Resolution.OUT_OF_SCHOOL else "moved_in"
        elif new["resolution"] == Resolution.OUT_OF_SCHOOL:
            kind = "newly_out_of_school"
        elif (
            old["outcome"] == NOT_ENROLLED
            and not old["resolution"]
            and (new["resolution"] or new["outcome"] == ScreeningOutcome.ATTENDING)
        ):
            kind = "resolved"
        else:
            kind = "changed"
        row = new or old
        assert row is not None
        changes.append(
            {
                "kind": kind,
                "kind_display": CHANGE_KINDS[kind],
                "child": new["pk"] if new else None,
                "name": row["name"],
                "id_number": shown_id(user, row["id_number"]),
                "township": row["township__name"] or "",
                "village": row["village__name"] or "",
                "before": describe(old),
                "after": describe(new),
            }
        )
    order = list(CHANGE_KINDS)
    changes.sort(key=lambda c: (order.index(c["kind"]), c["township"], c["village"], c["name"]))
    return changes
