"""Reseller tokens: a partner account's token for the Reseller surface (Generate Token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from identity.credentials.kinds.client import ClientSubjectToken
from identity.credentials.tokens import KeyringTokenBackend
from identity.models import SigningKeyPurpose
from identity.principal import PrincipalKind, Surface
from identity.scopes import RESELLER_SCOPES

RESELLER_TYP = "reseller+jwt"


class ResellerAccessToken(ClientSubjectToken):
    """A partner's token (``POST /reseller/token``, or client_credentials of a reseller
    client at /oauth/token): ``sub`` = ``client_id`` = the partner, its tenant and scopes.

    HS256 with the keyring's ``reseller`` keys, ``typ`` ``reseller+jwt`` and ``token_type``
    ``reseller_access``: no other decoder takes it, and it is good on the Reseller surface only.
    No refresh token: the partner asks again. Deactivating the partner (its client), or
    revoking the token, ends it at once (the revocation cache, no query).
    """

    token_type = "reseller_access"
    lifetime = timedelta(seconds=900)
    backend = KeyringTokenBackend(purpose=SigningKeyPurpose.RESELLER, typ=RESELLER_TYP)
    principal_kind = PrincipalKind.PARTNER
    surface = Surface.RESELLER

    def bearer_of(self) -> dict[str, Any]:
        # Only reseller scopes mean anything here, whatever else a token might claim.
        bearer = super().bearer_of()
        return {**bearer, "scopes": bearer["scopes"] & RESELLER_SCOPES}
