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
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from core.errors import DomainError
from core.policies import CartMergePolicy
from identity import errors
from identity.credentials.kinds import AnonymousAccessToken, AnonymousRenewalProof
from identity.credentials.revocation import anonymous_revocation_key, revocation_add
from identity.credentials.tokens import (
    CLAIM_APP,
    CLAIM_TENANT,
    TokenRejected,
    token_decode,
    token_encode,
)
from identity.models import AnonymousIdPolicy, StorefrontApp
from identity.tenancy.storefront import StorefrontKeyInfo


class AnonymousIdState(StrEnum):
    UNKNOWN = "unknown"
    IN_USE = "in_use"
    RETIRED = "retired"


_state_function: Callable[..., str] | None = None


def anonymous_id_state(*, tenant_id: int, anonymous_id: str) -> AnonymousIdState:
    """Asks the component named by ``settings.ANONYMOUS_ID_STATE`` (the carts app)."""
    global _state_function
    if _state_function is None:
        _state_function = import_string(settings.ANONYMOUS_ID_STATE)
    return AnonymousIdState(_state_function(tenant_id=tenant_id, anonymous_id=anonymous_id))


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


@dataclass(frozen=True)
class MigrationGrant:
    """A customer may migrate this anonymous id, under this storefront app's merge policy."""

    anonymous_id: str
    cart_merge_policy: str


def anonymous_migration_authorize(
    *,
    tenant_id: int,
    anonymous_id: str,
    anonymous_token: str | None,
    cart_storefront_app_id: str | None,
) -> MigrationGrant:
    """Decide whether the caller may migrate ``anonymous_id``.

    The proof is the anonymous session's token (same tenant, ``jti`` = the id, expired accepted
    within the renewal window). Without one, a bare id is enough only when the storefront app
    the anonymous cart was started from has the ``compat`` policy.
    """
    app_id = cart_storefront_app_id
    if anonymous_token:
        try:
            proof = token_decode(AnonymousRenewalProof, anonymous_token)
        except TokenRejected:
            raise DomainError(errors.ANONYMOUS_TOKEN_INVALID) from None
        if proof[CLAIM_TENANT] != tenant_id or proof["jti"] != anonymous_id:
            raise DomainError(errors.ANONYMOUS_TOKEN_INVALID)
        app_id = proof[CLAIM_APP]
    app = (
        StorefrontApp.objects.filter(public_id=app_id, tenant_id=tenant_id)
        .values("anonymous_id_policy", "cart_merge_policy")
        .first()
        if app_id
        else None
    )
    if not anonymous_token and (
        app is None or app["anonymous_id_policy"] != AnonymousIdPolicy.COMPAT
    ):
        raise DomainError.for_field(
            errors.ANONYMOUS_TOKEN_REQUIRED,
            "anonymousToken",
            "Required: the anonymous session's token proves the anonymous id is yours.",
        )
    policy = app["cart_merge_policy"] if app else CartMergePolicy.MAX
    return MigrationGrant(anonymous_id=anonymous_id, cart_merge_policy=policy)


def anonymous_id_retire(*, tenant_id: int, anonymous_id: str) -> None:
    """End every token and context of a migrated anonymous id (on their next use).

    Anonymous tokens live at most a day; the revocation can be forgotten after that.
    """
    revocation_add(
        key=anonymous_revocation_key(tenant_id, anonymous_id),
        reason="anonymous id migrated to a customer",
        expires_at=timezone.now() + timedelta(days=1, minutes=5),
    )
