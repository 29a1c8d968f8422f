"""Anonymous shopper sessions: which anonymous id a token is issued for.

An anonymous id is the key of an anonymous shopper's cart, so handing one out is handing out the
cart. A requested id is kept when

(a) nothing is held for it yet (no cart, no migration), or
(b) the caller proves it held that id: its previous anonymous token (same tenant, ``jti`` equal
    to the id) is sent as ``Authorization: Bearer``, accepted up to the renewal window after it
    expired, or
(c) the storefront app's policy is ``compat``, which honours a bare id.

An id that was migrated to a customer is retired: it is never issued again, under any policy.
In every other case the answer is a new random id. Issuing writes nothing to the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.utils.module_loading import import_string

from identity.storefront import StorefrontKeyInfo
from identity.tokens import (
    CLAIM_TENANT,
    AnonymousAccessToken,
    AnonymousRenewalProof,
    TokenRejected,
    token_decode,
    token_encode,
)


class AnonymousIdState(StrEnum):
    UNKNOWN = "unknown"
    IN_USE = "in_use"
    RETIRED = "retired"


_state_function: Callable[..., AnonymousIdState] | None = None


def anonymous_id_state(*, tenant_id: int, anonymous_id: str) -> AnonymousIdState:
    """Asks the component named by ``settings.ANONYMOUS_ID_STATE`` (the carts app)."""
    global _state_function
    if _state_function is None:
        _state_function = import_string(settings.ANONYMOUS_ID_STATE)
    return _state_function(tenant_id=tenant_id, anonymous_id=anonymous_id)


@dataclass(frozen=True)
class IssuedAnonymousToken:
    access_token: str
    anonymous_id: str
    expires_in: int


def _proves_possession(proof_token: str | None, *, tenant_id: int, anonymous_id: str) -> bool:
    if not proof_token:
        return False
    try:
        proof = token_decode(AnonymousRenewalProof, proof_token)
    except TokenRejected:
        return False
    return proof[CLAIM_TENANT] == tenant_id and proof["jti"] == anonymous_id


def anonymous_id_choose(
    *, storefront: StorefrontKeyInfo, requested_id: uuid.UUID | None, proof_token: str | None
) -> str:
    """The anonymous id to issue a token for (see the module docstring)."""
    if requested_id is None:
        return str(uuid.uuid4())
    anonymous_id = str(requested_id)
    state = anonymous_id_state(tenant_id=storefront.tenant_id, anonymous_id=anonymous_id)
    if state is AnonymousIdState.RETIRED:
        return str(uuid.uuid4())
    if state is AnonymousIdState.UNKNOWN or storefront.is_compat:
        return anonymous_id
    if _proves_possession(proof_token, tenant_id=storefront.tenant_id, anonymous_id=anonymous_id):
        return anonymous_id
    return str(uuid.uuid4())


def anonymous_token_issue(
    *, storefront: StorefrontKeyInfo, requested_id: uuid.UUID | None, proof_token: str | None
) -> IssuedAnonymousToken:
    anonymous_id = anonymous_id_choose(
        storefront=storefront, requested_id=requested_id, proof_token=proof_token
    )
    lifetime = storefront.anonymous_token_lifetime_seconds
    token = AnonymousAccessToken.issue(
        anonymous_id=anonymous_id,
        tenant_id=storefront.tenant_id,
        app_id=storefront.app_id,
        lifetime_seconds=lifetime,
    )
    return IssuedAnonymousToken(
        access_token=token_encode(token), anonymous_id=anonymous_id, expires_in=lifetime
    )
