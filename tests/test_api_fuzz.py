"""A bounded schemathesis run over the whole API (issue 12): generated requests for every operation
of ``/api/schema/``, as the bureau with a token, in-process through the WSGI application. Whatever
the input, no answer is a 5xx.

Bounded: MAX_EXAMPLES generated cases per operation (API_FUZZ_EXAMPLES=200 for a longer run), no
shrinking (a failure is reported as found).
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token

from tests.helpers import build_case

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))  # more on a dedicated run

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture
def bureau_api(world, term, today):
    """The WSGI application and the bureau's token header, on the world with a case to act on.

    The handler's close_old_connections would close the test's connection (inside its transaction)
    at each request: it is disconnected meanwhile, as Django's test client does."""
    build_case(world, world.students_a[0], "returning")
    token = Token.objects.create(user=world.bureau)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application(), {"Authorization": f"Token {token.key}"}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_makes_the_api_fail(case, bureau_api):
    app, headers = bureau_api
    response = case.call(app=app, headers=headers)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )
