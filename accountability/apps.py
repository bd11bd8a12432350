from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountabilityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accountability"
    verbose_name = _("责任与督导")

    def ready(self) -> None:
        from .findings import hooks as finding_hooks

        finding_hooks.ready()  # reminders' reason checks, the Celery task

        from students import notifications

        from .signoffs.selectors import signoff_reminders_done

        for kind in ("signoff_signed", "signoff_returned"):
            notifications.reason_check(kind)(signoff_reminders_done)

        from students.demo import hooks as demo_hooks

        from .demo import DemoAccountability

        demo_hooks.register(DemoAccountability)  # after casework's (INSTALLED_APPS order): it covers the cases
