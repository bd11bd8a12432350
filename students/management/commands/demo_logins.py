"""Print the demo accounts of DESIGN.md §8: ``python manage.py demo_logins``."""

from django.core.management.base import BaseCommand

from students.demo.logins import render_logins


class Command(BaseCommand):
    help = "列出演示账号 / Print the demo accounts, their roles and scopes, and where to log in."

    def handle(self, *args, **options):
        self.stdout.write(render_logins())
