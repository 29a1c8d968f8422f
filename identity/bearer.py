"""From a bearer token to a Principal.

A bearer is one of our own tokens (its unverified ``iss`` is ours) or, later, an external
provider's. Our own are dispatched on their unverified ``token_type`` to the class of that kind,
which verifies everything again: a token cannot choose the class that checks it.
"""

from __future__ import annotations

import jwt
from django.conf import settings

from commerceapi.errors import DomainError
from identity import errors
from identity.principal import Principal, PrincipalKind
from identity.revocation import app_revocation_key, revoked_any
from identity.tokens import (
    CLAIM_APP,
    CLAIM_TENANT,
    CLAIM_TOKEN_TYPE,
    MAX_TOKEN_LENGTH,
    AnonymousAccessToken,
    TokenRejected,
    token_decode,
)


def anonymous_revocation_key(tenant_id: int, anonymous_id: str) -> str:
    return f"anonymous:{tenant_id}:{anonymous_id}"


def _anonymous_principal(raw_token: str) -> Principal:
    token = token_decode(AnonymousAccessToken, raw_token)
    principal = Principal(
        tenant_id=token[CLAIM_TENANT],
        kind=PrincipalKind.ANONYMOUS,
        subject_id=token["jti"],
        client_id=token[CLAIM_APP],
        token_id=token["jti"],
        expires_at=int(token["exp"]),
    )
    if revoked_any(
        [
            app_revocation_key(principal.client_id),
            anonymous_revocation_key(principal.tenant_id, principal.subject_id),
        ]
    ):
        raise DomainError(errors.TOKEN_REVOKED)
    return principal


_OWN_TOKEN_KINDS = {AnonymousAccessToken.token_type: _anonymous_principal}


def bearer_principal(raw_token: str) -> Principal:
    """The caller a bearer token stands for; a 401 ``DomainError`` for anything else."""
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
        raise DomainError(errors.TOKEN_INVALID)
    try:
        unverified = jwt.decode(raw_token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise DomainError(errors.TOKEN_INVALID) from None
    if unverified.get("iss") != settings.TOKEN_ISSUER:
        raise DomainError(errors.TOKEN_INVALID)
    build = _OWN_TOKEN_KINDS.get(str(unverified.get(CLAIM_TOKEN_TYPE)))
    if build is None:
        raise DomainError(errors.TOKEN_INVALID)
    try:
        return build(raw_token)
    except TokenRejected as rejected:
        code = errors.TOKEN_EXPIRED if rejected.expired else errors.TOKEN_INVALID
        raise DomainError(code) from None
