"""API token authentication with the token's user kept in the shared cache.

DRF's ``TokenAuthentication`` reads the token and its user from the database on every request; for
the attendance submit under load that was a tenth of its time. Here a token that was found is kept
in the cache for ``TOKEN_CACHE_SECONDS`` (the key is a hash of the token, never the token itself).
Deleting a token, or saving its user (deactivated, made staff, …), drops the entry at once and again
at commit. Changes that bypass model signals (``QuerySet.update``) take effect within the timeout.
When the cache is down every request simply reads the database, as DRF does.

The cached user is loaded without its password hash (a deferred field): a hash never sits in Redis,
and a ``save()`` of that user object writes only the fields it loaded.
"""

import hashlib

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

TOKEN_CACHE_SECONDS = 60


def _cache_key(key: str) -> str:
    return "kc:token:" + hashlib.sha256(key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's (same checks and messages), with the lookup cached."""

    def authenticate_credentials(self, key):
        cache_key = _cache_key(key)
        token = cache.get(cache_key)
        if isinstance(token, Token) and token.key == key and token.user.is_active:
            return token.user, token
        try:
            token = Token.objects.select_related("user").defer("user__password").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        cache.set(cache_key, token, TOKEN_CACHE_SECONDS)
        return token.user, token


def forget_token(key: str) -> None:
    cache.delete(_cache_key(key))


def _forget_later(keys: list[str]) -> None:
    for key in keys:
        forget_token(key)
    # Again once committed: a lookup by another request before the commit is not kept.
    transaction.on_commit(lambda: [forget_token(key) for key in keys])


def _token_deleted(sender, instance: Token, **kwargs) -> None:
    _forget_later([instance.key])


def _user_saved(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        _forget_later(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))


post_delete.connect(_token_deleted, sender=Token, dispatch_uid="forget_token_deleted")
post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="forget_token_user_saved")
