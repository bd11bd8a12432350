"""Celery application.

Without ``REDIS_URL`` the settings make every task run inline (``task_always_eager``),
so ``make run`` needs no broker. With it, tasks go to Redis and a worker runs them.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("kongchuo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Concerns inside an app keep their tasks beside them (students/attendance/tasks.py).
app.autodiscover_tasks(["students.attendance", "casework.screening"])
