from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"
    verbose_name = _("报表与台账")

    def ready(self) -> None:
        # Builders register themselves on import; a Celery worker imports nothing else of ours.
        from . import dashboards, ledgers, reports  # noqa: F401
