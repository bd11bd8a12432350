"""API tokens have a lifetime and can be revoked (issue 12 item 9)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _token(world, username="teacher") -> dict:
    world_user = getattr(world, username)
    world_user.set_password("pw-123456")
    world_user.save()
    response = APIClient().post(reverse("api-token"), {"username": username, "password": "pw-123456"}, format="json")
    assert response.status_code == 200
    return response.json()


def _me(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(reverse("api-me"))


def test_a_token_expires_after_its_lifetime_and_a_new_one_is_issued(world, settings, redis_cache):
    settings.API_TOKEN_LIFETIME = dt.timedelta(days=30)
    issued = _token(world)
    expires = dt.datetime.fromisoformat(issued["expires_at"])
    assert abs(expires - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)
    assert _me(issued["token"]).status_code == 200  # now also in the cache
    with time_machine.travel(expires + dt.timedelta(seconds=1)):
        refused = _me(issued["token"])
        assert refused.status_code == 401
        assert "过期" in refused.json()["detail"]
        assert not Token.objects.filter(key=issued["token"]).exists()
        renewed = _token(world)
        assert renewed["token"] != issued["token"]
        assert _me(renewed["token"]).status_code == 200
    with time_machine.travel(expires - dt.timedelta(days=1)):
        assert _me(renewed["token"]).status_code == 200


def test_the_app_revokes_its_token(world, redis_cache):
    key = _token(world)["token"]
    assert _me(key).status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.post(reverse("api-logout")).json() == {"revoked": 1}
    refused = _me(key)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Token"


def test_signing_out_of_the_pages_revokes_the_token(world, client, redis_cache):
    key = _token(world)["token"]
    assert _me(key).status_code == 200
    client.force_login(world.teacher)
    client.post(reverse("logout"))
    assert _me(key).status_code == 401


def test_a_token_deleted_in_the_admin_is_refused(world, client, redis_cache):
    key = _token(world)["token"]
    assert _me(key).status_code == 200
    admin = world.bureau
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    response = client.post(reverse("admin:authtoken_tokenproxy_delete", args=[world.teacher.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert _me(key).status_code == 401


def test_no_credentials_is_401_with_the_token_challenge(world):
    response = APIClient().get(reverse("api-me"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
