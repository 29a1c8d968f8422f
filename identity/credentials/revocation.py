"""Revoked subjects: the database is the source of truth, the shared cache answers requests.

A request asks ``revoked_keys(keys, issued_at=...)``: one ``get_many`` on the cache. A key the
cache does not hold is looked up in the database once and its answer cached, so that a flushed
or evicted cache costs a query, never a forgotten revocation. Writes go to the database and,
after commit, to the cache, which every API process shares when ``REDIS_URL`` is set: there a
revocation reaches every process as soon as its transaction commits.

A revocation either ends everything under its key, or, with ``not_before``, only what was issued
at or before that moment ("sign out everywhere": later sign-ins work).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from identity.models import Revocation

_CACHE_PREFIX = "revoked:"
_CACHE_SECONDS = 300
_REVOKED = "1"
_NOT_REVOKED = "0"


def app_revocation_key(app_id: str) -> str:
    return f"app:{app_id}"


def tenant_revocation_key(tenant_id: int) -> str:
    return f"tenant:{tenant_id}"


def anonymous_revocation_key(tenant_id: int, anonymous_id: str) -> str:
    return f"anonymous:{tenant_id}:{anonymous_id}"


def client_revocation_key(client_id: str) -> str:
    return f"client:{client_id}"


def token_revocation_key(token_id: str) -> str:
    return f"token:{token_id}"


def grant_revocation_key(grant_id: str) -> str:
    return f"grant:{grant_id}"


def signout_revocation_key(customer_id: str) -> str:
    return f"signout:{customer_id}"


def customer_revocation_key(customer_id: str) -> str:
    return f"customer:{customer_id}"


def provider_revocation_key(provider_id: str) -> str:
    return f"provider:{provider_id}"


def _cached_value(not_before: datetime | None) -> str:
    """ "1" (revoked), or the moment before which tokens are, in epoch milliseconds."""
    return _REVOKED if not_before is None else str(int(not_before.timestamp() * 1000))


def revocation_add(
    *,
    key: str,
    reason: str = "",
    expires_at: datetime | None = None,
    not_before: datetime | None = None,
) -> None:
    """Revoke ``key`` (only what was issued at or before ``not_before``, when given)."""
    Revocation.objects.update_or_create(
        key=key, defaults={"reason": reason, "expires_at": expires_at, "not_before": not_before}
    )
    value = _cached_value(not_before)
    transaction.on_commit(lambda: cache.set(_CACHE_PREFIX + key, value, _CACHE_SECONDS))


def revocation_remove(*, key: str) -> None:
    Revocation.objects.filter(key=key).delete()
    transaction.on_commit(lambda: cache.set(_CACHE_PREFIX + key, _NOT_REVOKED, _CACHE_SECONDS))


def _ends(value: str, issued_at: float | None) -> bool:
    """Whether a cached answer revokes a token issued at ``issued_at`` (None: unknown)."""
    if value == _REVOKED:
        return True
    if value == _NOT_REVOKED or not value.isdigit():
        return False
    # round: a moment given to the millisecond as a float (12.345) is that millisecond exactly.
    return issued_at is None or round(issued_at * 1000) <= int(value)


def revoked_keys(keys: Iterable[str], *, issued_at: float | None = None) -> set[str]:
    """Which of ``keys`` revoke a token issued at ``issued_at`` (epoch seconds; our customer
    tokens say it to the millisecond): one cache read, a query only for keys not cached."""
    cache_keys = [_CACHE_PREFIX + key for key in keys]
    cached = cache.get_many(cache_keys)
    revoked = {
        key[len(_CACHE_PREFIX) :]
        for key, value in cached.items()
        if isinstance(value, str) and _ends(value, issued_at)
    }
    missing = [key[len(_CACHE_PREFIX) :] for key in cache_keys if key not in cached]
    if not missing:
        return revoked
    now = timezone.now()
    found = dict(
        Revocation.objects.filter(key__in=missing)
        .exclude(expires_at__lte=now)
        .values_list("key", "not_before")
    )
    for key in missing:
        value = _cached_value(found[key]) if key in found else _NOT_REVOKED
        # ``add``, not ``set``: a revocation committed meanwhile has written its answer already.
        cache.add(_CACHE_PREFIX + key, value, _CACHE_SECONDS)
        if key in found and _ends(value, issued_at):
            revoked.add(key)
    return revoked
