"""The students app's models, one module per concern.

Two lines meet at the student: enrolment (school → classroom) and residence (township →
village). Scoping (``students/scoping.py``) decides who sees which students from these.
Everything is re-exported here, so ``from students.models import Student`` keeps working and the
app label and table names are unchanged (no migration).
"""

from .attendance import Absence, AbsenceKind, DailyReport, DailyReportRevision
from .calendar import Closure, OfficialDay, OfficialYear, SchoolYear, Term
from .notifications import Notification
from .org import GRADE_NAMES, Classroom, County, Grade, School, Township, Village, normalize_classroom_name
from .people import SPECIAL_GROUPS, SURNAME_READINGS, Guardian, Student, User, name_pinyin
from .posts import Post, PostQuerySet
from .risk import RiskFlag, RiskLevel, RiskRule

__all__ = [
    "GRADE_NAMES",
    "SPECIAL_GROUPS",
    "SURNAME_READINGS",
    "Absence",
    "AbsenceKind",
    "Classroom",
    "Closure",
    "County",
    "DailyReport",
    "DailyReportRevision",
    "Grade",
    "Guardian",
    "Notification",
    "OfficialDay",
    "OfficialYear",
    "Post",
    "PostQuerySet",
    "RiskFlag",
    "RiskLevel",
    "RiskRule",
    "School",
    "SchoolYear",
    "Student",
    "Term",
    "Township",
    "User",
    "Village",
    "name_pinyin",
    "normalize_classroom_name",
]
