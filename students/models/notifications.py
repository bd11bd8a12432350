"""In-app reminders ("my tasks")."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .people import User


class Notification(models.Model):
    """An in-app reminder for one user ("my tasks"). ``key`` makes raising it idempotent."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("用户"))
    key = models.CharField(_("去重键"), max_length=120)
    kind = models.CharField(_("类别"), max_length=30)
    text = models.CharField(_("内容"), max_length=300)
    link = models.CharField(_("链接"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("提醒")
        verbose_name_plural = _("提醒")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_unique_key")]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.text
