"""What the reporting pages share."""

import contextlib

from django.http import Http404

from students.errors import DomainError


@contextlib.contextmanager
def not_found_as_404():
    """A domain error that answers 404 (``OutOfScope``: not in the user's scope) becomes the page's Http404.

    Other domain errors pass through for the page to show as a message.
    """
    try:
        yield
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404 from exc
        raise
