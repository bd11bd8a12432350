from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "casework"
    verbose_name = _("个案管理")

    def ready(self) -> None:
        from students import demo_hooks

        from .demo import seed_cases

        demo_hooks.register(seed_cases)
