from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "casework"
    verbose_name = _("个案管理")

    def ready(self) -> None:
        from students import home_sections, notifications
        from students.demo import hooks as demo_hooks

        from .demo import DemoCases

        # services queue the register import by name: register the task in every process, not only in workers.
        from .screening import tasks  # noqa: F401
        from .screening.demo import DemoScreening
        from .screening.views import home_section as screening_home_section
        from .selectors import home_section, overdue_reminders_done

        demo_hooks.register(DemoCases)
        demo_hooks.register(DemoScreening)  # after the cases (hooks act in the order registered): it screens them
        home_sections.register(home_section)
        home_sections.register(screening_home_section)
        notifications.reason_check("case_overdue")(overdue_reminders_done)
