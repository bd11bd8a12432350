from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"
    verbose_name = _("报表与台账")

    def ready(self) -> None:
        from students import bench_sections

        # Builders register themselves on import; a Celery worker imports nothing else of ours.
        from . import bench, dashboards, ledgers, reports  # noqa: F401

        bench_sections.register("reports", bench.bench_reports)
        bench_sections.register("ledger", bench.bench_ledger)
        bench_sections.register("dashboards", bench.bench_dashboards)
