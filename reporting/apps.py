from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"
    verbose_name = _("报表与台账")

    def ready(self) -> None:
        # services queue the report task by name: register the tasks in every process, not only in workers.
        # The dashboards' short cache listens for saves of daily reports, cases, students and schools.
        from . import tasks  # noqa: F401
        from .selectors import dashboards  # noqa: F401
