"""API token authentication with the token's user kept in the shared cache.

DRF's ``TokenAuthentication`` reads the token and its user from the database on every request; for
the attendance submit under load that was a tenth of its time. Here a token that was found is kept
in the cache for ``TOKEN_CACHE_SECONDS`` (the key is a hash of the token, never the token itself).
Deleting a token, or saving its user (deactivated, made staff, …), drops the entry at once and again
at commit. Changes that bypass model signals (``QuerySet.update``) take effect within the timeout.
When the cache is down every request simply reads the database, as DRF does.

Lifetime and revocation: a token is valid for ``settings.API_TOKEN_LIFETIME`` from when it was
issued (30 days unless ``API_TOKEN_LIFETIME_DAYS`` says otherwise); an expired token is refused
(401) and deleted, and ``POST /api/v1/auth/token/`` then issues a new one. A token is revoked by
``POST /api/v1/auth/logout/`` with it, by signing out of the web pages (the user's token goes with the
session), by deleting it in the admin (认证令牌), or by deactivating its user.

The cached user is loaded without its password hash (a deferred field): a hash never sits in Redis,
and a ``save()`` of that user object writes only the fields it loaded.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

TOKEN_CACHE_SECONDS = 60


def _cache_key(key: str) -> str:
    return "kc:token:" + hashlib.sha256(key.encode()).hexdigest()


def expired(token: Token, now=None) -> bool:
    return token.created <= (now or timezone.now()) - settings.API_TOKEN_LIFETIME


def expires_at(token: Token):
    return token.created + settings.API_TOKEN_LIFETIME


def issue(user) -> Token:
    """The user's token, a new one if there is none or it has expired."""
    token = Token.objects.filter(user=user).first()
    if token is not None and expired(token):
        token.delete()
        token = None
    return token or Token.objects.create(user=user)


def revoke(user) -> int:
    """Delete the user's API token(s); returns how many there were."""
    count = 0
    for token in Token.objects.filter(user_id=user.pk):
        token.delete()  # one by one: the cache entry of each is dropped (post_delete)
        count += 1
    return count


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's (same checks), with the lookup cached and a lifetime."""

    def authenticate_credentials(self, key):
        cache_key = _cache_key(key)
        token = cache.get(cache_key)
        if not (isinstance(token, Token) and token.key == key):
            try:
                token = Token.objects.select_related("user").defer("user__password").get(key=key)
            except Token.DoesNotExist:
                raise exceptions.AuthenticationFailed(_("令牌无效或已被撤销,请重新获取")) from None
            cache.set(cache_key, token, TOKEN_CACHE_SECONDS)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("账号已停用"))
        if expired(token):
            Token.objects.filter(key=key).delete()
            forget_token(key)
            raise exceptions.AuthenticationFailed(_("令牌已过期,请重新获取"))
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


def _signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        revoke(user)


post_delete.connect(_token_deleted, sender=Token, dispatch_uid="forget_token_deleted")
user_logged_out.connect(_signed_out, dispatch_uid="revoke_token_on_logout")
post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="forget_token_user_saved")
