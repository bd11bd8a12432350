"""Accountability (DESIGN.md §1.5): who answers for what, what they signed, and how the bureau holds them to it.

- policy: the county's deadlines and thresholds for the rest;
- matrix: the 控辍保学领导小组 and the 包保 matrix (two lines: education, administrative);
- pledges: 目标责任书 and the templates they are printed from;
- signoffs: the weekly school report's sign-off chain (duty leader → principal → bureau);
- findings: 通报 and 限期整改, with the school's answer and its evidence.
"""

from .findings import Finding, FindingAttachment, TeacherFault
from .matrix import LeadingGroup, LeadingGroupMember, Responsibility
from .pledges import Pledge, PledgeTemplate
from .policy import AccountabilityPolicy
from .signoffs import WeeklySignoff

__all__ = [
    "AccountabilityPolicy",
    "Finding",
    "FindingAttachment",
    "LeadingGroup",
    "LeadingGroupMember",
    "Pledge",
    "PledgeTemplate",
    "Responsibility",
    "TeacherFault",
    "WeeklySignoff",
]
