"""Celery tasks of casework: thin wrappers over services."""

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def daily_case_deadlines(day: str | None = None) -> dict:
    """Daily: recompute deadlines, remind owners and school leaders of overdue items. Idempotent."""
    return services.daily_deadlines(today=dt.date.fromisoformat(day) if day else None)
