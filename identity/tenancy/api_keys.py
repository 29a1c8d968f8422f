"""API keys of the server-to-server surfaces (Supplier, Payment): the key format,
provisioning (create, roll, revoke) and the cached resolution of a presented key.

**Format** ``ak_live_<lookup id>_<secret><checksum>``: a lookup id of 12 base62 characters
(public: it is the key's id, ``key_id`` in the commands and the admin), a secret of 32 base62
characters (190 random bits) and a checksum of 6: the CRC32 of everything before it, in base62,
as GitHub's token format has. A mistyped or made-up key fails the checksum and is refused
without a database or cache query; secret scanners recognise ours by the prefix and checksum.
The database keeps the lookup id and a SHA-256 of the whole key, compared in constant time.

**Resolution** costs no database query on the hot path: what a lookup id answers is cached in
the shared cache (every process sees the same one) and rewritten after every change commits
(create, roll, revoke, the tenant's or the supplier's settings), so a revocation reaches every
process at once. A cache miss reads the database once and ``add``s the answer (a change that
committed meanwhile has written the newer one). Expiry is decided at request time from the
cached moment. ``last_used_at`` is written at most once a minute per key.
"""

from __future__ import annotations

import logging
import secrets
import string
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import DomainError
from identity import errors
from identity.credentials.secrets import secret_hash, secret_matches
from identity.models import ApiKey, ApiSurface, Supplier, Tenant
from identity.scopes import API_KEY_SCOPES

logger = logging.getLogger("commerceapi.security")

KEY_PREFIX = "ak_live_"
LOOKUP_ID_LENGTH = 12
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(KEY_PREFIX) + LOOKUP_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_BASE62_SET = frozenset(BASE62)
DEFAULT_ROLL_OVERLAP_SECONDS = 24 * 3600
LAST_USED_INTERVAL_SECONDS = 60

_CACHE_PREFIX = "apikey:"
_USED_PREFIX = "apikey-used:"
_CACHE_SECONDS = 300


class RefusalReason:
    """Why a presented key was refused: written to the security log, never to the caller,
    who gets the one code ``api_key_invalid`` for all of them."""

    MISSING = "missing"
    MALFORMED = "malformed"
    CHECKSUM = "bad checksum"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INACTIVE = "tenant or supplier inactive"
    TENANT_MISMATCH = "not of the tenant named in X-Tenant"
    OTHER_CREDENTIAL = "another credential sent (Authorization or X-Auth-Key)"
    QUERY_KEY = "a key in the query string"


@dataclass
class ApiKeyRefused(Exception):
    """A presented key that is not a live key of the tenant the request names."""

    reason: str
    key_id: str = ""


@dataclass(frozen=True)
class ApiKeyInfo:
    """What a live key tells us, cached by its lookup id (never the key itself)."""

    key_id: str
    secret_hash: str
    tenant_id: int
    tenant_slug: str
    surface: str
    # The supplier's id (supplier keys) or the payment provider's name (payment keys).
    party_id: str
    scopes: tuple[str, ...]
    # POSIX seconds, or None for a key without an expiry.
    expires_at: float | None
    surface_enabled: bool


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    value: str


# --- The key format ---------------------------------------------------------------------


def _base62(number: int, *, width: int) -> str:
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), width=CHECKSUM_LENGTH)


def api_key_value_new() -> tuple[str, str]:
    """A new key and its lookup id."""
    lookup_id = _random_base62(LOOKUP_ID_LENGTH)
    body = f"{KEY_PREFIX}{lookup_id}_{_random_base62(SECRET_LENGTH)}"
    return body + _checksum(body), lookup_id


def api_key_lookup_id(value: str) -> str:
    """The lookup id of a well-formed key whose checksum holds; ``ApiKeyRefused`` otherwise.
    Pure computation: no database, no cache."""
    if len(value) != KEY_LENGTH or not value.startswith(KEY_PREFIX):
        raise ApiKeyRefused(RefusalReason.MALFORMED)
    rest = value[len(KEY_PREFIX) :]
    lookup_id, separator, secret_and_checksum = (
        rest[:LOOKUP_ID_LENGTH],
        rest[LOOKUP_ID_LENGTH],
        rest[LOOKUP_ID_LENGTH + 1 :],
    )
    if separator != "_" or not _BASE62_SET.issuperset(lookup_id + secret_and_checksum):
        raise ApiKeyRefused(RefusalReason.MALFORMED)
    body, checksum = value[:-CHECKSUM_LENGTH], value[-CHECKSUM_LENGTH:]
    if not secrets.compare_digest(_checksum(body), checksum):
        raise ApiKeyRefused(RefusalReason.CHECKSUM)
    return lookup_id


# --- Provisioning -----------------------------------------------------------------------


def _scopes_for(surface: str, scopes: Iterable[str] | None) -> list[str]:
    allowed = API_KEY_SCOPES[surface]
    chosen = list(dict.fromkeys(scopes or ()))
    unknown = [scope for scope in chosen if scope not in allowed]
    if unknown:
        raise DomainError.for_field(
            errors.API_KEY_SCOPE_UNKNOWN,
            "scopes",
            f"Not a scope of {surface} keys: {', '.join(unknown)} (choose from "
            f"{', '.join(allowed)}).",
        )
    return chosen or list(allowed)


def api_key_create(
    *,
    tenant: Tenant,
    surface: str,
    supplier: Supplier | None = None,
    provider: str = "",
    scopes: Iterable[str] | None = None,
    name: str = "",
    expires_in_seconds: int | None = None,
) -> CreatedApiKey:
    """A new key of ``surface`` acting for ``supplier`` (supplier keys) or ``provider`` (payment
    keys), holding ``scopes`` (default: every scope of the surface). The returned value is the
    only time the key is ever seen."""
    if surface not in ApiSurface.values:
        raise DomainError.for_field(
            errors.API_KEY_PARTY_INVALID, "surface", "Either supplier or payment."
        )
    provider = provider.strip()
    if surface == ApiSurface.SUPPLIER:
        if supplier is None or provider or supplier.tenant_id != tenant.pk:
            raise DomainError.for_field(
                errors.API_KEY_PARTY_INVALID,
                "supplier",
                "A supplier key names a supplier of its tenant, and no provider.",
            )
    elif supplier is not None or not provider or len(provider) > 100:
        raise DomainError.for_field(
            errors.API_KEY_PARTY_INVALID,
            "provider",
            "A payment key names its provider (1-100 characters), and no supplier.",
        )
    if expires_in_seconds is not None and expires_in_seconds <= 0:
        raise DomainError.for_field(
            errors.API_KEY_PARTY_INVALID, "expires_in", "A whole number of seconds above 0."
        )
    chosen_scopes = _scopes_for(surface, scopes)
    value, lookup_id = api_key_value_new()
    now = timezone.now()
    api_key = ApiKey.objects.create(
        lookup_id=lookup_id,
        secret_hash=secret_hash(value),
        tenant=tenant,
        surface=surface,
        supplier=supplier,
        provider=provider,
        name=name,
        scopes=chosen_scopes,
        expires_at=now + timedelta(seconds=expires_in_seconds) if expires_in_seconds else None,
    )
    api_key_cache_refresh_on_commit([lookup_id])
    return CreatedApiKey(api_key=api_key, value=value)


def api_key_roll(
    *, api_key: ApiKey, old_key_expires_in_seconds: int = DEFAULT_ROLL_OVERLAP_SECONDS
) -> CreatedApiKey:
    """A new key for the same tenant, party, name and scopes. The old one keeps working for
    ``old_key_expires_in_seconds`` more (0: it stops now; an earlier expiry of its own stays),
    then gets 401. A revoked or expired key cannot be rolled (409, 2105)."""
    if old_key_expires_in_seconds < 0:
        raise DomainError.for_field(
            errors.API_KEY_PARTY_INVALID,
            "old_key_expires_in",
            "A whole number of seconds, 0 or more.",
        )
    with transaction.atomic():
        old = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        now = timezone.now()
        if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
            raise DomainError(errors.API_KEY_NOT_LIVE)
        value, lookup_id = api_key_value_new()
        new = ApiKey.objects.create(
            lookup_id=lookup_id,
            secret_hash=secret_hash(value),
            tenant_id=old.tenant_id,
            surface=old.surface,
            supplier_id=old.supplier_id,
            provider=old.provider,
            name=old.name,
            scopes=list(old.scopes),
            rolled_from=old,
        )
        overlap_end = now + timedelta(seconds=old_key_expires_in_seconds)
        if old.expires_at is None or overlap_end < old.expires_at:
            ApiKey.objects.filter(pk=old.pk).update(expires_at=overlap_end)
        api_key_cache_refresh_on_commit([old.lookup_id, lookup_id])
    api_key.refresh_from_db()
    return CreatedApiKey(api_key=new, value=value)


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revoked at once, on every process; False when it was revoked already."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        api_key_cache_refresh_on_commit([api_key.lookup_id])
    api_key.refresh_from_db()
    return bool(revoked)


def api_key_get(*, key_id: str) -> ApiKey:
    api_key = ApiKey.objects.filter(lookup_id=key_id).select_related("tenant", "supplier").first()
    if api_key is None:
        raise DomainError(errors.API_KEY_NOT_FOUND, f"No API key has the id {key_id!r}.")
    return api_key


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant).select_related("supplier").order_by("created_at")


def api_keys_of_tenant_refresh_on_commit(tenant: Tenant) -> None:
    """After a tenant's settings change (active, surfaces switched), its keys' cached answers
    are rewritten."""
    api_key_cache_refresh_on_commit(
        ApiKey.objects.filter(tenant=tenant).values_list("lookup_id", flat=True)
    )


# --- Resolution -------------------------------------------------------------------------


def _cache_entry(lookup_id: str) -> dict[str, object]:
    info, reason = _from_database(lookup_id)
    if info is None:
        return {"dead": reason}
    entry = asdict(info)
    entry["scopes"] = list(info.scopes)
    return entry


def api_key_cache_refresh_on_commit(lookup_ids: Iterable[str]) -> None:
    """After a change commits, write the keys' new answers into the shared cache (overwrite,
    not delete, so that a request that read the database just before cannot put the old answer
    back: readers only ``add``)."""
    ids = list(lookup_ids)

    def refresh() -> None:
        cache.set_many(
            {_CACHE_PREFIX + lookup_id: _cache_entry(lookup_id) for lookup_id in ids},
            _CACHE_SECONDS,
        )

    transaction.on_commit(refresh)


def api_key_resolve(raw_key: str | None, *, tenant_slug: str | None = None) -> ApiKeyInfo:
    """The live key behind a presented ``ApiKey`` header, of the tenant ``tenant_slug`` names
    (X-Tenant) if it names one; ``ApiKeyRefused`` with the reason otherwise.

    A missing, malformed or mis-checksummed key is refused before any query; a valid one is
    answered from the cache, one cache read, with no database query unless the cache lost it.
    """
    if not raw_key:
        raise ApiKeyRefused(RefusalReason.MISSING)
    lookup_id = api_key_lookup_id(raw_key)
    cache_key = _CACHE_PREFIX + lookup_id
    entry = cache.get(cache_key)
    if entry is None:
        entry = _cache_entry(lookup_id)
        cache.add(cache_key, entry, _CACHE_SECONDS)
    if "dead" in entry:
        # Compare anyway, so that an unknown key costs what a known one does.
        secret_matches(raw_key, "0" * 64)
        raise ApiKeyRefused(str(entry["dead"]), key_id=lookup_id)
    info = ApiKeyInfo(**{**entry, "scopes": tuple(entry["scopes"])})
    if not secret_matches(raw_key, info.secret_hash):
        raise ApiKeyRefused(RefusalReason.UNKNOWN, key_id=lookup_id)
    if info.expires_at is not None and info.expires_at <= timezone.now().timestamp():
        raise ApiKeyRefused(RefusalReason.EXPIRED, key_id=lookup_id)
    if tenant_slug is not None and tenant_slug != info.tenant_slug:
        raise ApiKeyRefused(RefusalReason.TENANT_MISMATCH, key_id=lookup_id)
    return info


def api_key_used(key_id: str) -> None:
    """Record that the key was used: one write per key per minute at most, whatever the load
    (the first request of each minute, on whichever process, makes it)."""
    if cache.add(_USED_PREFIX + key_id, 1, LAST_USED_INTERVAL_SECONDS):
        ApiKey.objects.filter(lookup_id=key_id).update(last_used_at=timezone.now())


def _from_database(lookup_id: str) -> tuple[ApiKeyInfo | None, str]:
    row = (
        ApiKey.objects.filter(lookup_id=lookup_id)
        .values(
            "secret_hash",
            "tenant_id",
            "tenant__slug",
            "tenant__is_active",
            "tenant__supplier_api_enabled",
            "tenant__payment_api_enabled",
            "surface",
            "supplier_id",
            "supplier__is_active",
            "provider",
            "scopes",
            "expires_at",
            "revoked_at",
        )
        .first()
    )
    if row is None:
        return None, RefusalReason.UNKNOWN
    if row["revoked_at"] is not None:
        return None, RefusalReason.REVOKED
    is_supplier = row["surface"] == ApiSurface.SUPPLIER
    if not row["tenant__is_active"] or (is_supplier and not row["supplier__is_active"]):
        return None, RefusalReason.INACTIVE
    expires_at: datetime | None = row["expires_at"]
    enabled = row["tenant__supplier_api_enabled" if is_supplier else "tenant__payment_api_enabled"]
    return (
        ApiKeyInfo(
            key_id=lookup_id,
            secret_hash=row["secret_hash"],
            tenant_id=row["tenant_id"],
            tenant_slug=row["tenant__slug"],
            surface=row["surface"],
            party_id=str(row["supplier_id"]) if is_supplier else row["provider"],
            scopes=tuple(row["scopes"]),
            expires_at=expires_at.timestamp() if expires_at is not None else None,
            surface_enabled=bool(enabled),
        ),
        "",
    )
