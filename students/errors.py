"""Domain errors, mapped once to HTTP answers (api_common) and to page messages (``page_message``)."""

import contextlib
import datetime as dt

from django.http import Http404


class DomainError(Exception):
    """A rule of the domain refused the request. ``message`` is shown to the user (Chinese)."""

    status_code = 400

    def __init__(self, message: str, *, details=None):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    status_code = 400


class ImportRejected(DomainError):
    """A roster file was refused as a whole; ``details`` lists every problem."""

    status_code = 400


class InvalidTransition(DomainError):
    status_code = 409


class Conflict(DomainError):
    status_code = 409


class OutOfScope(DomainError):
    """The object does not exist for this user."""

    status_code = 404


def as_id(value, what: str) -> int | None:
    """An object id given as text (a query parameter): None when empty, else a positive number;
    anything else is refused in Chinese (not passed to the database, which would fail with 500)."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"{what}编号无效:{text[:20]}")
    return int(text)


def form_date(value, label: str, *, required: bool = False) -> dt.date | None:
    """A YYYY-MM-DD form field: None when left empty (refused when ``required``); anything else is
    refused in Chinese, naming the field."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"请填写{label}")
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label}格式不正确,应为 年-月-日") from None


def int_or_none(value) -> int | None:
    """An optional id from a form or query string where a bad value simply means "not given"."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def page_message(exc: DomainError) -> str:
    """The message a page shows for a refused request. Out of scope is simply not found: raises Http404."""
    if exc.status_code == 404:
        raise Http404 from exc
    return exc.message


@contextlib.contextmanager
def not_found_as_404():
    """Inside a page: a domain error answering 404 (out of scope) becomes Http404; other errors pass through."""
    try:
        yield
    except DomainError as exc:
        page_message(exc)
        raise
