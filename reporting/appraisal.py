"""The appraisal (考核) of schools and class teachers for a term or a school year.

Each row holds the compliance metrics of the period (reporting/compliance.py), the findings issued
in it, 无辍班, and the 一票否决 (veto) when the county's rule is met — never silently: the veto
carries its reason, and so does every conclusion.

The veto rules (accountability's policy, each can be switched off by the county):
- a school whose dropout rate (辍学率, the reports' definition) is over its target, unless a finding
  about the dropout rate was issued to it in the period and accepted after rectification;
- a person for whom the bureau recorded, in the period, a case lost through their fault (责任流失).
"""

import dataclasses
import datetime as dt

from django.utils import timezone

from accountability.models import Finding, TeacherFault
from accountability.policy import policy_for
from students.models import School

from . import compliance, xlsx


@dataclasses.dataclass
class Appraisal:
    row: compliance.Row
    findings: int = 0
    findings_open: int = 0
    findings_accepted: int = 0
    veto: bool = False
    veto_reason: str = ""
    faults: list[str] = dataclasses.field(default_factory=list)

    @property
    def met(self) -> int:
        return sum(1 for value in self.row.values.values() if value.met is True)

    @property
    def measured(self) -> int:
        return sum(1 for value in self.row.values.values() if value.met is not None)

    @property
    def no_dropout(self) -> bool | None:
        value = self.row.values.get("no_dropout_classes")
        return None if value is None or value.value is None else value.value == 100

    @property
    def conclusion(self) -> str:
        if self.veto:
            return f"一票否决:{self.veto_reason}"
        missed = [compliance.BY_CODE[code].label for code in self.row.missed]
        if missed:
            return "未全部达标:" + "、".join(missed)
        return "全部达标" if self.measured else "无可考核数据"

    def to_dict(self) -> dict:
        return {
            **self.row.to_dict(),
            "findings": self.findings,
            "findings_open": self.findings_open,
            "findings_accepted": self.findings_accepted,
            "no_dropout": self.no_dropout,
            "metrics_met": self.met,
            "metrics_measured": self.measured,
            "veto": self.veto,
            "veto_reason": self.veto_reason,
            "conclusion": self.conclusion,
        }


@dataclasses.dataclass
class Appraisals:
    start: dt.date
    end: dt.date
    label: str
    as_of: dt.datetime
    schools: list[Appraisal]
    people: list[Appraisal]

    def to_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "period": self.label,
            "as_of": self.as_of.isoformat(),
            "schools": [a.to_dict() for a in self.schools],
            "people": [a.to_dict() for a in self.people],
            "formulas": {metric.code: metric.formula for metric in compliance.METRICS},
            "veto_rules": VETO_RULES,
        }


VETO_RULES = [
    "学校:本学年辍学率超过学校的辍学率控制目标,且期间内没有就辍学率下发并已验收的整改通报(本县可关闭此项)",
    "个人:教育局在期间内记录其负有责任的学生流失(责任流失认定)(本县可关闭此项)",
]


def appraise(result: compliance.Compliance, *, label: str = "") -> Appraisals:
    """The appraisal of the schools and people of ``result`` (the compliance metrics of the period)."""
    start, end = result.start, result.end
    school_ids = [row.key for row in result.schools]
    county_of = dict(School.objects.filter(pk__in=school_ids).values_list("pk", "county_id"))
    findings: dict[int, list[tuple[str, str]]] = {}
    for school_id, status, metric in Finding.objects.filter(
        school_id__in=school_ids, issued_on__range=(start, end)
    ).values_list("school_id", "status", "metric"):
        findings.setdefault(school_id, []).append((status, metric))
    policies = {county_id: policy_for(county_id) for county_id in set(county_of.values())}
    schools = []
    for row in result.schools:
        policy = policies[county_of[row.key]]
        mine = findings.get(row.key, [])
        appraisal = Appraisal(
            row,
            findings=len(mine),
            findings_open=sum(1 for status, _ in mine if status in Finding.OPEN_STATUSES),
            findings_accepted=sum(1 for status, _ in mine if status == Finding.Status.ACCEPTED),
        )
        rate = row.values.get("dropout_rate")
        if policy.veto_on_dropouts_over_target and rate is not None and rate.met is False:
            rectified = any(status == Finding.Status.ACCEPTED and metric == "dropout_rate" for status, metric in mine)
            if not rectified:
                appraisal.veto = True
                appraisal.veto_reason = (
                    f"辍学率 {rate.value:.2f}% 超过控制目标 {rate.target:.2f}%,期间内无已验收的辍学率整改通报"
                )
        schools.append(appraisal)
    person_ids = [row.key for row in result.people]
    faults: dict[int, list[str]] = {}
    for person_id, county_id, name, reason in TeacherFault.objects.filter(
        person_id__in=person_ids, recorded_on__range=(start, end)
    ).values_list("person_id", "county_id", "case__student__name", "reason"):
        if county_id not in policies:
            policies[county_id] = policy_for(county_id)
        if policies[county_id].veto_on_teacher_fault:
            faults.setdefault(person_id, []).append(f"{name}:{reason}")
    people = []
    for row in result.people:
        appraisal = Appraisal(row, faults=faults.get(row.key, []))
        if appraisal.faults:
            appraisal.veto = True
            appraisal.veto_reason = "教育局认定责任流失:" + ";".join(appraisal.faults)
        people.append(appraisal)
    return Appraisals(start, end, label, result.as_of, schools, people)


def for_user(user, start: dt.date, end: dt.date, *, label: str = "", school: int | None = None) -> Appraisals:
    return appraise(compliance.for_user(user, start, end, school=school), label=label)


# --- the .xlsx for the annual appraisal ---------------------------------------------------------------


def workbook(appraisals: Appraisals, *, scope_name: str, exported_by: str) -> bytes:
    """The appraisal as the ledgers are printed: one sheet of schools, one of class teachers."""
    wb = xlsx.new_workbook(title=f"控辍保学考核 {appraisals.label}", exported_by=exported_by)
    as_of = timezone.localtime(appraisals.as_of)
    subtitle = (
        f"范围:{scope_name}  期间:{appraisals.label}({appraisals.start:%Y-%m-%d}至{appraisals.end:%Y-%m-%d})  "
        f"数据截至:{as_of:%Y-%m-%d %H:%M}"
    )
    school_codes = [m.code for m in compliance.METRICS]
    columns = [("序号", xlsx.INT), ("学校", xlsx.TEXT)]
    for code in school_codes:
        metric = compliance.BY_CODE[code]
        kind = xlsx.PCT if metric.unit == "%" else xlsx.TEXT
        columns += [(metric.label, kind), (f"{metric.label}目标", kind), (f"{metric.label}达标", xlsx.TEXT)]
    columns += [
        ("通报数", xlsx.INT),
        ("未结通报", xlsx.INT),
        ("已验收整改", xlsx.INT),
        ("一票否决", xlsx.TEXT),
        ("考核结论", xlsx.TEXT),
    ]
    sheet = xlsx.Sheet(
        wb, "学校考核", heading="控辍保学工作考核(学校)", subtitle=subtitle, columns=columns, freeze_cols=2
    )
    for number, appraisal in enumerate(appraisals.schools, 1):
        sheet.append(
            [
                number,
                appraisal.row.name,
                *_metric_cells(appraisal, school_codes),
                appraisal.findings,
                appraisal.findings_open,
                appraisal.findings_accepted,
                "是" if appraisal.veto else "否",
                appraisal.conclusion,
            ]
        )
    notes = [f"{m.label}:{m.formula}" for m in compliance.METRICS] + [f"一票否决:{rule}" for rule in VETO_RULES]
    sheet.finish(notes=[*notes, "", "考核人(签字):            教育局(盖章)            日期:    年    月    日"])

    person_codes = compliance.PERSON_METRICS
    columns = [("序号", xlsx.INT), ("学校", xlsx.TEXT), ("班主任", xlsx.TEXT)]
    for code in person_codes:
        metric = compliance.BY_CODE[code]
        columns += [(metric.label, xlsx.PCT), (f"{metric.label}达标", xlsx.TEXT)]
    columns += [("一票否决", xlsx.TEXT), ("考核结论", xlsx.TEXT)]
    sheet = xlsx.Sheet(
        wb, "班主任考核", heading="控辍保学工作考核(班主任)", subtitle=subtitle, columns=columns, freeze_cols=3
    )
    for number, appraisal in enumerate(appraisals.people, 1):
        cells = []
        for code in person_codes:
            value = appraisal.row.values[code]
            cells += [value.value, _met(value.met)]
        sheet.append(
            [
                number,
                appraisal.row.school_name,
                appraisal.row.name,
                *cells,
                "是" if appraisal.veto else "否",
                appraisal.conclusion,
            ]
        )
    sheet.finish(notes=[*notes, "", "学校考核小组(签字):            学校(盖章)            日期:    年    月    日"])
    return xlsx.workbook_bytes(wb)


def _met(met: bool | None) -> str:
    return "—" if met is None else ("达标" if met else "未达标")


def _metric_cells(appraisal: Appraisal, codes) -> list:
    cells = []
    for code in codes:
        value = appraisal.row.values[code]
        if compliance.BY_CODE[code].unit == "%":
            cells += [value.value, value.target, _met(value.met)]
        else:
            cells += [
                None if value.value is None else f"{value.value:.2f}",
                None if value.target is None else f"{value.target:.2f}",
                _met(value.met),
            ]
    return cells
