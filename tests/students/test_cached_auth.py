"""The token and scope lookups are cached between requests, and never outlive a change.

Run on the real Redis with the production cache configuration (``redis_cache``): every API call
starts with these two lookups, so they are served from the cache, and deleting a token, deactivating
a user or ending a post takes effect on the very next request.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from students import scoping
from students.models import Post

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
STUDENTS = reverse("api-student-list")


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def student_ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def refused(response) -> bool:
    # 401 with the Token challenge: token authentication comes first.
    return (
        response.status_code == 401
        and response["WWW-Authenticate"] == "Token"
        and any(word in response.json()["detail"] for word in ("令牌", "停用"))
    )


def tables_read(queries) -> str:
    return " ".join(q["sql"] for q in queries.captured_queries)


def test_second_request_reads_neither_token_nor_posts(world, redis_cache):
    client = token_client(world.teacher)
    first = student_ids(client.get(STUDENTS))
    with CaptureQueriesContext(connection) as queries:
        again = student_ids(client.get(STUDENTS))
    assert again == first == {s.pk for s in world.students_a}
    assert "authtoken_token" not in tables_read(queries)
    assert "students_post" not in tables_read(queries)


def test_cache_keys_do_not_hold_the_token(world, redis_cache):
    client = token_client(world.teacher)
    client.get(STUDENTS)
    key = Token.objects.get(user=world.teacher).key
    stored = redis_cache.client.get_client().keys("*")
    assert stored, "nothing was cached"
    assert not [name for name in stored if key.encode() in name]


def test_deleted_token_is_refused_at_once(world, redis_cache):
    client = token_client(world.teacher)
    assert client.get(STUDENTS).status_code == 200
    Token.objects.filter(user=world.teacher).get().delete()
    assert refused(client.get(STUDENTS))


def test_deactivated_user_is_refused_at_once(world, redis_cache):
    client = token_client(world.teacher)
    assert client.get(STUDENTS).status_code == 200
    world.teacher.is_active = False
    world.teacher.save()
    assert refused(client.get(STUDENTS))


def test_ended_post_takes_the_scope_at_once(world, redis_cache):
    client = token_client(world.teacher)
    assert student_ids(client.get(STUDENTS)) == {s.pk for s in world.students_a}
    post = Post.objects.get(user=world.teacher)
    post.end_date = timezone.localdate() - dt.timedelta(days=1)
    post.save()
    assert student_ids(client.get(STUDENTS)) == set()


def test_new_post_gives_its_scope_at_once(world, redis_cache):
    client = token_client(world.teacher)
    assert student_ids(client.get(STUDENTS)) == {s.pk for s in world.students_a}
    Post.objects.create(
        user=world.teacher, role=Post.Role.SUBJECT_TEACHER, county=world.county, classroom=world.class_b
    )
    assert student_ids(client.get(STUDENTS)) == {s.pk for s in world.students_a + world.students_b}


def test_yesterdays_cached_scope_is_not_used(world, redis_cache):
    teacher = world.teacher
    stale = scoping.Scope(classroom_ids=frozenset({world.class_b.pk}))
    redis_cache.set(scoping._SCOPE_KEY.format(teacher.pk), (timezone.localdate() - dt.timedelta(days=1), stale))
    assert scoping.scope_for(teacher).teaches_classroom(world.class_a.pk)
    assert not scoping.scope_for(teacher).teaches_classroom(world.class_b.pk)


def test_cache_down_reads_the_database(world, settings):
    from config.settings.base import cache_settings

    settings.CACHES = cache_settings("redis://127.0.0.1:9/0")  # nothing listens on the discard port
    client = token_client(world.teacher)
    assert student_ids(client.get(STUDENTS)) == {s.pk for s in world.students_a}
    Token.objects.filter(user=world.teacher).delete()
    assert refused(client.get(STUDENTS))


def test_no_password_hash_is_cached(world, redis_cache):
    world.teacher.set_password("s3cret-密码")
    world.teacher.save()
    client = token_client(world.teacher)
    assert client.get(STUDENTS).status_code == 200
    raw = redis_cache.client.get_client()
    stored = b"".join(raw.get(name) or b"" for name in raw.keys("*token*"))
    assert stored, "the token was not cached"
    assert world.teacher.password.encode() not in stored
    assert student_ids(client.get(STUDENTS)) == {s.pk for s in world.students_a}  # served from the cache
    # The password is untouched by a save of the cached user object.
    from students.tokens import CachedTokenAuthentication

    cached_user, _token = CachedTokenAuthentication().authenticate_credentials(
        Token.objects.get(user=world.teacher).key
    )
    cached_user.first_name = "改"
    cached_user.save()
    world.teacher.refresh_from_db()
    assert world.teacher.check_password("s3cret-密码")
