"""Reseller partners: an OAuth client of the kind ``reseller``, and Generate Token.

A partner belongs to a tenant and holds a name, a client id, secrets (shown once, stored hashed,
rotated with overlap: ``identity.oauth.clients``), the scopes ``reseller:orders:read`` and
``reseller:orders:write``, and an active flag. Generate Token (``POST /reseller/token``) is
the client_credentials grant of the token service for that client: ``POST /oauth/token`` with
``grant_type=client_credentials`` gives the same token. Deactivating a partner ends its tokens
at once (its client's revocation key).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.errors import DomainError
from identity import errors
from identity.models import OAuthClientKind, Tenant
from identity.oauth.clients import (
    CreatedClient,
    client_authenticate,
    client_create,
    client_credentials_read,
)
from identity.oauth.grants import IssuedTokens, client_credentials_grant


def reseller_create(*, tenant: Tenant, name: str, scopes: list[str] | None = None) -> CreatedClient:
    """A new partner of ``tenant`` with its first secret (returned once); both reseller scopes
    unless ``scopes`` names fewer. ``ValidationError`` for a taken name or another scope."""
    if not name.strip():
        raise ValidationError({"name": "A partner needs a name."})
    return client_create(tenant=tenant, kind=OAuthClientKind.RESELLER, name=name, scopes=scopes)


def reseller_token_generate(
    *, authorization: str | None, client_id: str | None, client_secret: str | None
) -> IssuedTokens:
    """Generate Token: the partner's credentials from HTTP Basic or the body (never both), its
    reseller token. 401 ``reseller_client_invalid`` for anything but an active partner with a
    live secret; 400 ``reseller_credentials_twice`` for both ways at once; 403
    ``reseller_surface_disabled`` when its tenant has switched the surface off."""
    try:
        credentials = client_credentials_read(
            authorization=authorization,
            form_client_id=client_id,
            form_client_secret=client_secret,
        )
        client = client_authenticate(credentials, require_confidential=True)
    except DomainError as error:
        if error.code == errors.OAUTH_INVALID_REQUEST:
            raise DomainError(errors.RESELLER_CREDENTIALS_TWICE) from None
        raise DomainError(errors.RESELLER_CLIENT_INVALID) from None
    if client.kind != OAuthClientKind.RESELLER:
        raise DomainError(errors.RESELLER_CLIENT_INVALID)
    if not client.tenant.reseller_api_enabled:
        raise DomainError(errors.RESELLER_SURFACE_DISABLED)
    return client_credentials_grant(client=client, form={})
