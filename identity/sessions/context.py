"""The customer context: a token naming the shopper, bound to the bearer it was minted with.

It carries the tenant, the subject (anonymous id or customer id), ``isAnonymous``, for customers
of an external provider that provider's id (``idp``), and ``ath``, the hash of the exact bearer
token. It never outlives that bearer: its ``exp`` is the bearer's, capped at
``CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS``. Presented with any other bearer it is refused.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from django.conf import settings

from core.errors import DomainError
from identity import errors
from identity.credentials.kinds import CustomerContextToken
from identity.credentials.tokens import (
    CLAIM_BEARER_HASH,
    CLAIM_IS_ANONYMOUS,
    CLAIM_PROVIDER,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    TokenRejected,
    bearer_hash,
    token_decode,
    token_encode,
)
from identity.principal import Principal


@dataclass(frozen=True)
class CustomerContext:
    tenant_id: int
    subject_id: str
    is_anonymous: bool
    provider_id: str


def customer_context_issue(*, principal: Principal, raw_bearer: str) -> str:
    if not principal.is_shopper:
        raise DomainError(errors.SHOPPER_REQUIRED)
    now = int(time.time())
    if principal.expires_at <= now:
        # Accepted within a provider's clock leeway, but a context for it would be born dead.
        raise DomainError(errors.TOKEN_EXPIRED)
    expires_at = min(principal.expires_at, now + settings.CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS)
    token = CustomerContextToken.issue(
        tenant_id=principal.tenant_id,
        subject_id=principal.subject_id,
        is_anonymous=principal.is_anonymous_shopper,
        bearer_hash=bearer_hash(raw_bearer),
        expires_at=expires_at,
        provider_id=principal.provider_id,
    )
    return token_encode(token)


def customer_context_read(*, raw_context: str, raw_bearer: str) -> CustomerContext:
    """The context, verified and checked to be minted for this very bearer; else a 401."""
    if not raw_context:
        raise DomainError(errors.CONTEXT_MISSING)
    try:
        context = token_decode(CustomerContextToken, raw_context)
    except TokenRejected as rejected:
        code = errors.CONTEXT_EXPIRED if rejected.expired else errors.CONTEXT_INVALID
        raise DomainError(code) from None
    # Bytes: compare_digest raises TypeError for str with non-ASCII characters.
    presented_hash = context[CLAIM_BEARER_HASH].encode()
    if not hmac.compare_digest(presented_hash, bearer_hash(raw_bearer).encode()):
        raise DomainError(errors.CONTEXT_MISMATCH)
    provider_id = context.get(CLAIM_PROVIDER, "")
    return CustomerContext(
        tenant_id=context[CLAIM_TENANT],
        subject_id=context[CLAIM_SUBJECT],
        is_anonymous=context[CLAIM_IS_ANONYMOUS],
        provider_id=provider_id if isinstance(provider_id, str) else "",
    )
