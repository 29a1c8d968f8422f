"""The customer context: a token naming the shopper, bound to the bearer it was minted with.

It carries the tenant, the subject (anonymous id or customer id), ``isAnonymous`` and ``ath``,
the hash of the exact bearer token. It never outlives that bearer: its ``exp`` is the bearer's,
capped at ``CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS``. A context presented with any other bearer,
or naming another subject or tenant, is refused.
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings

from commerceapi.errors import DomainError
from identity import errors
from identity.principal import Principal, PrincipalKind
from identity.tokens import (
    CLAIM_BEARER_HASH,
    CLAIM_IS_ANONYMOUS,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    CustomerContextToken,
    TokenRejected,
    bearer_hash,
    token_decode,
    token_encode,
)


def customer_context_issue(*, principal: Principal, raw_bearer: str) -> str:
    if not principal.is_shopper:
        raise DomainError(errors.SHOPPER_REQUIRED)
    now = int(time.time())
    expires_at = min(principal.expires_at, now + settings.CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS)
    token = CustomerContextToken()
    token.set_exp(from_time=datetime.fromtimestamp(expires_at, UTC), lifetime=timedelta(0))
    token[CLAIM_TENANT] = principal.tenant_id
    token[CLAIM_SUBJECT] = principal.subject_id
    token[CLAIM_IS_ANONYMOUS] = principal.kind is PrincipalKind.ANONYMOUS
    token[CLAIM_BEARER_HASH] = bearer_hash(raw_bearer)
    return token_encode(token)


def customer_context_verify(*, raw_context: str, principal: Principal, raw_bearer: str) -> None:
    """Raise a 401 ``DomainError`` unless the context was minted for this very bearer."""
    try:
        context = token_decode(CustomerContextToken, raw_context)
    except TokenRejected as rejected:
        code = errors.CONTEXT_EXPIRED if rejected.expired else errors.CONTEXT_INVALID
        raise DomainError(code) from None
    if (
        not hmac.compare_digest(context[CLAIM_BEARER_HASH], bearer_hash(raw_bearer))
        or context[CLAIM_TENANT] != principal.tenant_id
        or context[CLAIM_SUBJECT] != principal.subject_id
        or context[CLAIM_IS_ANONYMOUS] != (principal.kind is PrincipalKind.ANONYMOUS)
    ):
        raise DomainError(errors.CONTEXT_MISMATCH)
