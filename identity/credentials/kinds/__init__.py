"""The token kinds we mint, one module each, and the registry of those a request may bear.

Each kind module holds the kind's claims and their checks, its lifetime, its minting
(``issue``), its type marker and key purpose, what it says about its bearer (``bearer_of``),
and which revocations end it (``subject_revocation_keys``):

- ``anonymous``: anonymous shopper tokens (and their renewal proofs); ``customer``: customer
  access tokens of the token service; ``client``: a confidential client's own token;
  ``reseller``: a reseller partner's token, the one kind of the Reseller surface;
  ``context``: customer contexts, which are never bearers; ``provider``: what ends an external
  identity provider's token, which is verified elsewhere.

Refresh tokens are opaque (identity.credentials.refresh) and current-customer tokens are
signed with a third-party app's own secret (identity.oauth.current_customer).

Adding a bearer kind is a module here and one entry in ``BEARER_KINDS``, with its tests.
"""

from __future__ import annotations

from identity.credentials.jws import ParsedToken
from identity.credentials.kinds.anonymous import AnonymousAccessToken, AnonymousRenewalProof
from identity.credentials.kinds.base import BearerKind, BearerToken, VerifiedBearer
from identity.credentials.kinds.client import ClientAccessToken
from identity.credentials.kinds.context import CustomerContextToken
from identity.credentials.kinds.customer import CustomerAccessToken
from identity.credentials.kinds.provider import ProviderAccessToken
from identity.credentials.kinds.reseller import ResellerAccessToken
from identity.credentials.tokens import CLAIM_TOKEN_TYPE, TokenRejected, token_decode

# Our kinds a request may bear, by their ``token_type``.
BEARER_KINDS: dict[str, type[BearerToken]] = {
    kind.token_type: kind
    for kind in (AnonymousAccessToken, CustomerAccessToken, ClientAccessToken, ResellerAccessToken)
    if kind.token_type is not None
}


def own_bearer_verify(token: ParsedToken) -> VerifiedBearer:
    """One of our bearer tokens, verified as the kind its unverified ``token_type`` names (the
    kind checks everything again, so a token cannot choose what checks it); else
    ``TokenRejected``."""
    kind = BEARER_KINDS.get(str(token.payload.get(CLAIM_TOKEN_TYPE)))
    if kind is None:
        raise TokenRejected("not one of our bearer kinds")
    return token_decode(kind, token).bearer()


__all__ = [
    "BEARER_KINDS",
    "AnonymousAccessToken",
    "AnonymousRenewalProof",
    "BearerKind",
    "BearerToken",
    "ClientAccessToken",
    "CustomerAccessToken",
    "CustomerContextToken",
    "ProviderAccessToken",
    "ResellerAccessToken",
    "VerifiedBearer",
    "own_bearer_verify",
]
