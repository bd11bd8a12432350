"""In-app reminders ("my tasks"). Raising one twice is harmless: ``(user, key)`` is unique."""

from django.db.models import Q
from django.utils import timezone

from .models import Notification


def notify(notes: list[Notification]) -> int:
    """Store the reminders that do not exist yet; returns how many were new."""
    if not notes:
        return 0
    wanted = {(n.user_id, n.key) for n in notes}
    existing = set(
        Notification.objects.filter(
            key__in={key for _, key in wanted}, user_id__in={user for user, _ in wanted}
        ).values_list("user_id", "key")
    )
    fresh = [n for n in notes if (n.user_id, n.key) not in existing]
    Notification.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def unread_for(user, limit: int = 20):
    return Notification.objects.filter(user=user, read_at__isnull=True).order_by("-created_at")[:limit]


def mark_read(user, ids) -> int:
    return Notification.objects.filter(Q(user=user), Q(pk__in=ids), Q(read_at__isnull=True)).update(
        read_at=timezone.now()
    )
