"""The records that authenticate OAuth clients: the client with its tenant and storefront app,
and its live secrets' prefixes, hashes and ends, cached by client id.

They live with the tenancy because a tenant's or a storefront app's change reaches them: every
change to a client, its secrets, its app or its tenant ends with ``client_cache_refresh_on_commit``
(by ``identity.oauth.clients`` for clients and secrets, by ``identity.tenancy.storefront`` for
apps and tenants), so that the cache never outlives a deactivation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from identity.models import OAuthClient, OAuthClientSecret


def _live_secrets(client: OAuthClient) -> QuerySet[OAuthClientSecret]:
    return OAuthClientSecret.objects.filter(client=client).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


def client_live_secrets(client: OAuthClient) -> list[OAuthClientSecret]:
    """The secrets that authenticate the client now, newest first."""
    return list(_live_secrets(client).order_by("-created_at", "-pk"))


@dataclass(frozen=True)
class ClientRecord:
    """What authenticating a client needs, cached by client id: the client (with its tenant and
    storefront app) and its secrets' prefixes, hashes and ends."""

    client: OAuthClient
    secret_hashes: tuple[tuple[str, str, datetime | None], ...]


# Versioned: the cached record is a pickle of these classes, their module included; a change of
# their shape or home changes the key.
_CLIENT_CACHE_PREFIX = "oauth-client:v2:"
_CLIENT_CACHE_SECONDS = 300
_NO_CLIENT = "none"


def client_record_from_database(client_id: str) -> ClientRecord | None:
    client = (
        OAuthClient.objects.select_related("tenant", "storefront_app")
        .filter(client_id=client_id, is_active=True, tenant__is_active=True)
        .first()
    )
    if client is None:
        return None
    return ClientRecord(
        client=client,
        secret_hashes=tuple(
            _live_secrets(client).values_list("prefix", "secret_hash", "expires_at")
        ),
    )


def client_record(client_id: str) -> ClientRecord | None:
    """The client's record: from the cache, else the database (then cached). Every change goes
    through ``client_cache_refresh_on_commit``, so the cache never outlives a deactivation."""
    cache_key = _CLIENT_CACHE_PREFIX + client_id
    cached = cache.get(cache_key)
    if isinstance(cached, ClientRecord):
        return cached
    if cached == _NO_CLIENT:
        return None
    record = client_record_from_database(client_id)
    if record is not None:
        # ``add``, not ``set``: a change committed meanwhile has written the newer answer.
        # Unknown ids are not cached: anyone can send any number of them.
        cache.add(cache_key, record, _CLIENT_CACHE_SECONDS)
    return record


def client_cache_refresh_on_commit(client_ids: list[str]) -> None:
    """After a change to clients, their secrets, storefront app or tenant commits, write their
    new records into the cache (readers only ``add``, so a stale read cannot come back)."""

    def refresh() -> None:
        for client_id in client_ids:
            # A client that no longer authenticates gets a tombstone, so that a request which
            # read it just before the commit cannot put it back.
            record = client_record_from_database(client_id)
            cache.set(_CLIENT_CACHE_PREFIX + client_id, record or _NO_CLIENT, _CLIENT_CACHE_SECONDS)

    transaction.on_commit(refresh)
