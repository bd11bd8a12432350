"""What a report builder is: ``build(run, progress) -> BuildResult``.

The builders are in :mod:`reporting.reports` (weekly and monthly reports) and
:mod:`reporting.ledgers` (the Excel ledgers); ``services.BUILDERS`` says which one makes which
kind of run. A builder reports its progress as a percentage (0..99; the run sets 100 when done).
"""

import dataclasses
from collections.abc import Callable

from .models import ReportRun

Progress = Callable[[int], None]


@dataclasses.dataclass
class BuildResult:
    content: bytes  # the file
    filename: str
    data: dict  # the numbers, for the report page and the API
    row_count: int


Builder = Callable[[ReportRun, Progress], BuildResult]
