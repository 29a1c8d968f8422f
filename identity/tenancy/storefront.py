"""Tenants, storefront apps and their X-Auth-Keys: provisioning and the cached key lookup."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from identity.credentials.revocation import (
    app_revocation_key,
    revocation_add,
    revocation_remove,
    tenant_revocation_key,
)
from identity.credentials.secrets import secret_issue, secret_matches, secret_prefix
from identity.models import AnonymousIdPolicy, OAuthClient, StorefrontApp, StorefrontKey, Tenant
from identity.tenancy.api_keys import api_keys_of_tenant_refresh_on_commit
from identity.tenancy.client_records import client_cache_refresh_on_commit
from identity.tenancy.cors import storefront_origins_refresh_on_commit

STOREFRONT_KEY_KIND = "sfk"
_KEY_CACHE_PREFIX = "sfkey:"
_KEY_CACHE_SECONDS = 300
DEFAULT_APP_NAME = "Storefront"


@dataclass(frozen=True)
class StorefrontKeyInfo:
    """What a valid X-Auth-Key tells us, cached by its prefix (never the key itself)."""

    secret_hash: str
    tenant_id: int
    app_id: str
    anonymous_token_lifetime_seconds: int
    anonymous_id_policy: str

    @property
    def is_compat(self) -> bool:
        return self.anonymous_id_policy == AnonymousIdPolicy.COMPAT


def tenant_create(*, slug: str, name: str = "", currency: str = "EUR") -> Tenant:
    tenant = Tenant(slug=slug, name=name or slug, currency=currency)
    tenant.full_clean()
    tenant.save()
    return tenant


def tenant_save(*, tenant: Tenant) -> Tenant:
    """Save a tenant's settings; takes effect at once.

    Deactivating a tenant stops its keys from minting and ends every session in it, anonymous
    and customer; reactivating lifts that (an app or provider disabled on its own stays so).
    """
    tenant.full_clean()
    with transaction.atomic():
        tenant.save()
        if tenant.is_active:
            revocation_remove(key=tenant_revocation_key(tenant.pk))
        else:
            revocation_add(key=tenant_revocation_key(tenant.pk), reason="tenant inactive")
        apps = StorefrontApp.objects.filter(tenant=tenant).values_list("public_id", "is_active")
        for public_id, app_is_active in apps:
            _app_tokens_set_live(str(public_id), is_live=tenant.is_active and app_is_active)
        prefixes = list(
            StorefrontKey.objects.filter(app__tenant=tenant).values_list("prefix", flat=True)
        )
        client_cache_refresh_on_commit(
            list(OAuthClient.objects.filter(tenant=tenant).values_list("client_id", flat=True))
        )
        storefront_origins_refresh_on_commit()
        api_keys_of_tenant_refresh_on_commit(tenant)
    _key_cache_refresh_on_commit(prefixes)
    return tenant


def _app_tokens_set_live(app_id: str, *, is_live: bool) -> None:
    """Revoke the tokens an app has issued, or for a live app of a live tenant lift that."""
    if is_live:
        revocation_remove(key=app_revocation_key(app_id))
    else:
        revocation_add(key=app_revocation_key(app_id), reason="storefront app or tenant inactive")


def storefront_app_get_or_create(*, tenant: Tenant, name: str = DEFAULT_APP_NAME) -> StorefrontApp:
    app, _ = StorefrontApp.objects.get_or_create(tenant=tenant, name=name)
    return app


@dataclass(frozen=True)
class CreatedKey:
    key: StorefrontKey
    value: str


def storefront_key_create(*, app: StorefrontApp) -> CreatedKey:
    """A new X-Auth-Key for ``app``. The returned value is the only time it is ever seen."""
    issued = secret_issue(STOREFRONT_KEY_KIND)
    key = StorefrontKey.objects.create(
        app=app, prefix=issued.prefix, secret_hash=issued.secret_hash
    )
    _key_cache_refresh_on_commit([issued.prefix])
    return CreatedKey(key=key, value=issued.value)


def storefront_key_revoke(*, key: StorefrontKey) -> None:
    """Revoked at once: the key can no longer mint tokens on any process."""
    StorefrontKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _key_cache_refresh_on_commit([key.prefix])


def storefront_app_save(*, app: StorefrontApp) -> StorefrontApp:
    """Save an app's settings; takes effect at once.

    Deactivating an app also revokes the tokens it has issued (they fail on their next use);
    reactivating lifts that, unless its tenant is inactive.
    """
    app.full_clean()
    with transaction.atomic():
        app.save()
        tenant_is_active = Tenant.objects.filter(pk=app.tenant_id, is_active=True).exists()
        _app_tokens_set_live(str(app.public_id), is_live=app.is_active and tenant_is_active)
        prefixes = list(app.keys.values_list("prefix", flat=True))
        # Its sales channels authenticate only while it is active.
        client_cache_refresh_on_commit(
            list(OAuthClient.objects.filter(storefront_app=app).values_list("client_id", flat=True))
        )
        storefront_origins_refresh_on_commit()
    _key_cache_refresh_on_commit(prefixes)
    return app


def _key_cache_refresh_on_commit(prefixes: list[str]) -> None:
    """After a change commits, write the keys' new answers into the cache.

    Overwriting (rather than deleting) means that a request which read the database just before
    the commit cannot put the old answer back: readers only ``add``.
    """

    def refresh() -> None:
        for prefix in prefixes:
            info = _key_info_from_database(prefix)
            cache.set(_KEY_CACHE_PREFIX + prefix, asdict(info) if info else {}, _KEY_CACHE_SECONDS)

    transaction.on_commit(refresh)


def storefront_key_resolve(raw_key: str) -> StorefrontKeyInfo | None:
    """The storefront behind a presented X-Auth-Key, or None for anything not a live key."""
    prefix = secret_prefix(raw_key, kind=STOREFRONT_KEY_KIND)
    if prefix is None:
        return None
    cache_key = _KEY_CACHE_PREFIX + prefix
    cached = cache.get(cache_key)
    if cached is None:
        info = _key_info_from_database(prefix)
        # ``add``, not ``set``: a change committed meanwhile has written the newer answer.
        cache.add(cache_key, asdict(info) if info else {}, _KEY_CACHE_SECONDS)
    else:
        info = StorefrontKeyInfo(**cached) if cached else None
    if info is None or not secret_matches(raw_key, info.secret_hash):
        return None
    return info


def _key_info_from_database(prefix: str) -> StorefrontKeyInfo | None:
    row = (
        StorefrontKey.objects.filter(
            prefix=prefix,
            revoked_at__isnull=True,
            app__is_active=True,
            app__tenant__is_active=True,
        )
        .values(
            "secret_hash",
            "app__tenant_id",
            "app__public_id",
            "app__anonymous_token_lifetime_seconds",
            "app__anonymous_id_policy",
        )
        .first()
    )
    if row is None:
        return None
    return StorefrontKeyInfo(
        secret_hash=row["secret_hash"],
        tenant_id=row["app__tenant_id"],
        app_id=str(row["app__public_id"]),
        anonymous_token_lifetime_seconds=row["app__anonymous_token_lifetime_seconds"],
        anonymous_id_policy=row["app__anonymous_id_policy"],
    )
