"""Celery tasks of accountability/findings: thin wrappers over services.

Registered when the app is ready (accountability/apps.py imports this module), so the worker
knows them although Celery's autodiscovery looks at ``accountability.tasks`` only.
"""

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def remind_overdue_findings(day: str | None = None) -> int:
    """Daily: remind principals and issuers of findings past their rectification deadline. Idempotent."""
    return services.remind_overdue_findings(today=dt.date.fromisoformat(day) if day else None)
