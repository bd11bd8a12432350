"""The last check before the database: text it cannot store is refused with a Chinese message.

Every model of the project's apps passes :func:`check_text` before it is saved (a ``pre_save``
receiver, connected when ``StudentsConfig.ready`` imports this module): a value longer than its
column, or holding a NUL character (which PostgreSQL refuses in text and in JSON), raises
``InvalidInput``. The API answers
it with 400 and pages show it like any refused action; the transaction of the service around the
save is rolled back, so nothing of the request is written. Text is never cut to fit.

Bulk writes (``bulk_create``, ``update``) send no signal: their callers check their own input
(roster import, attendance absences).
"""

from django.db.models import CharField, Field, JSONField, Model, TextField
from django.db.models.signals import pre_save

from .errors import InvalidInput

PROJECT_APPS = ("students", "casework", "reporting", "accountability")
NUL = "\x00"


def too_long(label: str, limit: int, length: int) -> InvalidInput:
    return InvalidInput(f"「{label}」最多 {limit} 个字,现为 {length} 个字,请删减后再提交")


def has_nul(value) -> bool:
    """A NUL character anywhere in a text or in the strings of a JSON value."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


def check_value(label: str, value, limit: int | None = None) -> None:
    """Refuse a value holding NUL, or (with ``limit``) a text longer than ``limit`` characters."""
    if has_nul(value):
        raise InvalidInput(f"「{label}」含有无效的控制字符(NUL),请删除后再提交")
    if limit and isinstance(value, str) and len(value) > limit:
        raise too_long(label, limit, len(value))


def check_field(model: type[Model], name: str, value, label: str | None = None) -> None:
    """Check a value against a model field's column before a bulk write (which sends no signal)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a column")
    check_value(label or str(field.verbose_name), value, getattr(field, "max_length", None))


def check_text(instance: Model) -> None:
    for field in instance._meta.concrete_fields:
        if isinstance(field, CharField | TextField | JSONField):
            value = getattr(instance, field.attname)
            if value is not None:
                check_value(str(field.verbose_name), value, getattr(field, "max_length", None))


def _before_save(sender, instance, raw=False, **kwargs) -> None:
    # Fixtures load as they are; history rows copy values that were checked when their object was saved.
    if not raw and sender._meta.app_label in PROJECT_APPS and not sender.__name__.startswith("Historical"):
        check_text(instance)


pre_save.connect(_before_save, dispatch_uid="students.guards.check_text")
