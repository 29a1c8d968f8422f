"""OAuth clients: creation, secrets with rotation, and authentication at the OAuth endpoints.

A confidential client (integration, webapp, third-party app) authenticates with HTTP Basic
(``client_secret_basic``) or ``client_id`` and ``client_secret`` in the form
(``client_secret_post``), never both; a sales channel is public and sends only ``client_id``.
A secret is shown once and stored as a lookup prefix plus SHA-256 (it holds 256 random bits).
Rotation issues a new secret and lets the old ones live until the end of an overlap window.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote_plus

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from identity.credentials.encryption import secret_encrypt
from identity.credentials.revocation import client_revocation_key, revocation_add, revocation_remove
from identity.credentials.secrets import secret_hash, secret_issue, secret_matches, secret_prefix
from identity.credentials.tokens import CLIENT_ID_FORMAT
from identity.models import (
    GrantType,
    OAuthClient,
    OAuthClientKind,
    OAuthClientSecret,
    StorefrontApp,
    Tenant,
)
from identity.oauth.errors import invalid_client, invalid_request
from identity.scopes import (
    ALL_SCOPES,
    CATALOG_READ,
    CUSTOMER_SCOPES,
    GUEST_SCOPES,
    RESELLER_SCOPES,
)
from identity.tenancy.client_records import (
    ClientRecord,
    client_cache_refresh_on_commit,
    client_record,
)

CLIENT_SECRET_KIND = "cs"
DEFAULT_SECRET_OVERLAP = timedelta(days=1)

ALLOWED_GRANTS: dict[str, frozenset[str]] = {
    OAuthClientKind.SALES_CHANNEL: frozenset(
        {GrantType.CLIENT_CREDENTIALS, GrantType.PASSWORD, GrantType.REFRESH_TOKEN}
    ),
    OAuthClientKind.INTEGRATION: frozenset(GrantType.values),
    OAuthClientKind.WEBAPP: frozenset(GrantType.values),
    OAuthClientKind.THIRD_PARTY_APP: frozenset({GrantType.CLIENT_CREDENTIALS}),
    OAuthClientKind.RESELLER: frozenset({GrantType.CLIENT_CREDENTIALS}),
}
DEFAULT_GRANTS: dict[str, list[str]] = {
    OAuthClientKind.SALES_CHANNEL: [
        GrantType.CLIENT_CREDENTIALS,
        GrantType.PASSWORD,
        GrantType.REFRESH_TOKEN,
    ],
    OAuthClientKind.INTEGRATION: [GrantType.CLIENT_CREDENTIALS],
    OAuthClientKind.WEBAPP: [GrantType.PASSWORD, GrantType.REFRESH_TOKEN],
    OAuthClientKind.THIRD_PARTY_APP: [],
    OAuthClientKind.RESELLER: [GrantType.CLIENT_CREDENTIALS],
}
DEFAULT_SCOPES: dict[str, list[str]] = {
    OAuthClientKind.SALES_CHANNEL: sorted(GUEST_SCOPES | CUSTOMER_SCOPES),
    OAuthClientKind.INTEGRATION: [CATALOG_READ],
    OAuthClientKind.WEBAPP: sorted(CUSTOMER_SCOPES),
    OAuthClientKind.THIRD_PARTY_APP: [],
    OAuthClientKind.RESELLER: sorted(RESELLER_SCOPES),
}


@dataclass(frozen=True)
class CreatedClient:
    client: OAuthClient
    # Shown once; empty for a public client.
    client_secret: str


def client_save(*, client: OAuthClient) -> OAuthClient:
    """Validate and save a client's settings; deactivating it ends its tokens at once."""
    client.full_clean()
    _client_settings_check(client)
    with transaction.atomic():
        client.save()
        key = client_revocation_key(client.client_id)
        if client.is_active:
            revocation_remove(key=key)
        else:
            revocation_add(key=key, reason="OAuth client deactivated")
        client_cache_refresh_on_commit([client.client_id])
    return client


def _client_settings_check(client: OAuthClient) -> None:
    problems: dict[str, str] = {}
    if not isinstance(client.grant_types, list) or not all(
        isinstance(grant, str) for grant in client.grant_types
    ):
        problems["grant_types"] = "A list of grant types."
    else:
        refused = sorted(set(client.grant_types) - ALLOWED_GRANTS[client.kind])
        if refused:
            problems["grant_types"] = f"Not for a {client.kind} client: {', '.join(refused)}."
        elif client.kind == OAuthClientKind.RESELLER and not client.grant_types:
            # Generate Token is the client_credentials grant: a partner without it is no partner.
            problems["grant_types"] = "A reseller partner uses the client_credentials grant."
    if not isinstance(client.scopes, list) or not all(
        isinstance(scope, str) for scope in client.scopes
    ):
        problems["scopes"] = "A list of scopes."
    else:
        unknown = sorted(set(client.scopes) - set(ALL_SCOPES))
        if unknown:
            problems["scopes"] = f"Unknown scopes: {', '.join(unknown)}; known: {ALL_SCOPES}."
        elif client.kind == OAuthClientKind.RESELLER and not set(client.scopes) <= RESELLER_SCOPES:
            problems["scopes"] = f"A reseller holds only {', '.join(sorted(RESELLER_SCOPES))}."
        elif client.kind != OAuthClientKind.RESELLER and set(client.scopes) & RESELLER_SCOPES:
            problems["scopes"] = "Only a reseller holds the reseller:… scopes."
    is_sales_channel = client.kind == OAuthClientKind.SALES_CHANNEL
    if is_sales_channel and client.storefront_app_id is None:
        problems["storefront_app"] = "A sales channel needs its storefront app."
    if not is_sales_channel and client.storefront_app_id is not None:
        problems["storefront_app"] = "Only a sales channel has a storefront app."
    if client.storefront_app is not None and client.storefront_app.tenant_id != client.tenant_id:
        problems["storefront_app"] = "The storefront app belongs to another tenant."
    if client.may_act_for_any_customer and client.kind not in (
        OAuthClientKind.INTEGRATION,
        OAuthClientKind.WEBAPP,
    ):
        problems["may_act_for_any_customer"] = "Only integrations and web apps may."
    if client.refresh_token_idle_seconds > client.refresh_token_absolute_seconds:
        problems["refresh_token_idle_seconds"] = "Longer than the absolute lifetime."
    if problems:
        raise ValidationError(problems)


def client_create(
    *,
    tenant: Tenant,
    kind: str,
    name: str = "",
    grant_types: list[str] | None = None,
    scopes: list[str] | None = None,
    storefront_app: StorefrontApp | None = None,
    may_act_for_any_customer: bool = False,
) -> CreatedClient:
    """A new client; a confidential one gets its first secret, returned once."""
    if kind not in OAuthClientKind.values:
        raise ValidationError({"kind": f"One of {', '.join(OAuthClientKind.values)}."})
    client = OAuthClient(
        tenant=tenant,
        client_id="ci_" + secrets.token_hex(10),
        name=name or f"{kind} {secrets.token_hex(3)}",
        kind=kind,
        storefront_app=storefront_app,
        grant_types=list(grant_types) if grant_types is not None else DEFAULT_GRANTS[kind],
        scopes=list(scopes) if scopes is not None else DEFAULT_SCOPES[kind],
        may_act_for_any_customer=may_act_for_any_customer,
    )
    with transaction.atomic():
        client_save(client=client)
        secret = _secret_create(client) if client.is_confidential else ""
    return CreatedClient(client=client, client_secret=secret)


def _secret_create(client: OAuthClient) -> str:
    issued = secret_issue(CLIENT_SECRET_KIND)
    OAuthClientSecret.objects.create(
        client=client,
        prefix=issued.prefix,
        secret_hash=issued.secret_hash,
        encrypted_signing_secret=(
            secret_encrypt(issued.value) if client.kind == OAuthClientKind.THIRD_PARTY_APP else ""
        ),
    )
    return issued.value


def client_secret_rotate(
    *, client: OAuthClient, overlap: timedelta = DEFAULT_SECRET_OVERLAP
) -> str:
    """A new secret, returned once; the live ones stay valid for ``overlap`` more (0: none)."""
    if not client.is_confidential:
        raise ValidationError({"kind": "A sales channel is public: it has no secret."})
    if overlap < timedelta(0):
        raise ValidationError({"overlap": "Must not be negative."})
    ends = timezone.now() + overlap
    with transaction.atomic():
        OAuthClient.objects.select_for_update().filter(pk=client.pk).first()
        OAuthClientSecret.objects.filter(client=client).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=ends)
        ).update(expires_at=ends)
        secret = _secret_create(client)
        client_cache_refresh_on_commit([client.client_id])
    return secret


# A secret that matches nothing, compared when the client is unknown so that an unknown client
# and a wrong secret take the same time.
_NO_SECRET_HASH = secret_hash(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str | None


def client_credentials_read(
    *, authorization: str | None, form_client_id: str | None, form_client_secret: str | None
) -> ClientCredentials:
    """The client's credentials from the ``Authorization: Basic`` header or the form
    (RFC 6749 section 2.3.1); using both, or neither, is an error."""
    if authorization:
        if form_client_secret is not None:
            raise invalid_request("Send the client's credentials one way: header or form.")
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise invalid_client()
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise invalid_client() from None
        raw_id, separator, raw_secret = decoded.partition(":")
        if not separator:
            raise invalid_client()
        client_id, client_secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if form_client_id is not None and form_client_id != client_id:
            raise invalid_request("client_id differs from the authenticated client.")
        return ClientCredentials(client_id=client_id, client_secret=client_secret)
    if not form_client_id:
        raise invalid_client()
    return ClientCredentials(client_id=form_client_id, client_secret=form_client_secret)


def client_authenticate(
    credentials: ClientCredentials, *, require_confidential: bool = False
) -> OAuthClient:
    """The authenticated client, or ``invalid_client``: an unknown or inactive client, a wrong
    or expired secret, a secret sent by a public client or missing from a confidential one."""
    record = (
        client_record(credentials.client_id)
        if CLIENT_ID_FORMAT.fullmatch(credentials.client_id)
        else None
    )
    secret = credentials.client_secret
    if record is None:
        if secret:
            secret_matches(secret, _NO_SECRET_HASH)
        raise invalid_client()
    client = record.client
    if not client.is_confidential:
        app = client.storefront_app
        if secret or require_confidential or app is None or not app.is_active:
            raise invalid_client()
        return client
    if not secret or not _secret_valid(record, secret):
        raise invalid_client()
    return client


def _secret_valid(record: ClientRecord, secret: str) -> bool:
    prefix = secret_prefix(secret, kind=CLIENT_SECRET_KIND)
    now = timezone.now()
    expected = next(
        (
            secret_hash
            for secret_prefix_, secret_hash, expires_at in record.secret_hashes
            if secret_prefix_ == prefix and (expires_at is None or expires_at > now)
        ),
        None,
    )
    return secret_matches(secret, expected or _NO_SECRET_HASH) and expected is not None


def client_set_active(*, client: OAuthClient, is_active: bool) -> OAuthClient:
    client.is_active = is_active
    return client_save(client=client)
