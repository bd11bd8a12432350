"""Daily attendance and early warning: reports, risk rules and flags (services, selectors, API, pages, tasks)."""
