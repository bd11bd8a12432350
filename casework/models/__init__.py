"""casework's models, one module per concern: cases and their plans (:mod:`.cases`), screening (:mod:`.screening`)."""

from .cases import (
    CaseActivity,
    CaseEvent,
    CaseHandover,
    CountyPolicy,
    DropoutCase,
    FollowUp,
    Measure,
    ReturnPlan,
)
from .screening import Resolution, ScreenedChild, ScreeningOutcome, ScreeningRun

__all__ = [
    "CaseActivity",
    "CaseEvent",
    "CaseHandover",
    "CountyPolicy",
    "DropoutCase",
    "FollowUp",
    "Measure",
    "Resolution",
    "ReturnPlan",
    "ScreenedChild",
    "ScreeningOutcome",
    "ScreeningRun",
]
