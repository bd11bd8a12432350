from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "students"
    verbose_name = _("学生与组织")

    def ready(self) -> None:
        # Connect the cache-invalidating signals in every process (web, worker, shell), not only in
        # those that happened to import the modules: entries are shared through the cache.
        from . import guards, scoping, tokens  # noqa: F401
