"""What accountability/findings connects when the app is ready (called from AccountabilityConfig.ready)."""

REMINDER_KINDS = ("finding_issued", "finding_answered", "finding_returned", "finding_overdue")


def ready() -> None:
    from students import notifications

    from . import tasks  # noqa: F401  (registers the Celery task with the worker)
    from .selectors import reminders_done

    for kind in REMINDER_KINDS:
        notifications.reason_check(kind)(reminders_done)
