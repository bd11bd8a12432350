"""Reads of reporting. Every one that depends on who asks takes the user and goes through
:mod:`students.scoping`.

- :mod:`.runs`: the report runs and downloads a user may see, the scopes they may report on,
  who may sign a report;
- :mod:`.dashboards`: the principal's school dashboard and the bureau's county dashboard (with
  their short cache).

The numbers themselves are defined once in :mod:`reporting.metrics`; the ledgers' rows in
:mod:`reporting.ledgers.shared`.
"""

from .dashboards import (
    CountyDashboard,
    SchoolDashboard,
    county_dashboard,
    dashboard_counties,
    dashboard_schools,
    forget_school,
    school_dashboard,
)
from .runs import (
    can_sign,
    default_scope,
    downloads_visible_to,
    is_principal_of,
    report_scopes,
    resolve_scope,
    runs_visible_to,
)

__all__ = [
    "CountyDashboard",
    "SchoolDashboard",
    "can_sign",
    "county_dashboard",
    "dashboard_counties",
    "dashboard_schools",
    "default_scope",
    "downloads_visible_to",
    "forget_school",
    "is_principal_of",
    "report_scopes",
    "resolve_scope",
    "runs_visible_to",
    "school_dashboard",
]
