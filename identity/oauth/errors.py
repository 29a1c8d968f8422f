"""The token service's refusals and the answers the OAuth endpoints make of them.

Its services raise ``DomainError`` with the codes ``identity.errors.OAUTH_*`` (helpers below),
like every other service. ``OAuthError`` is the answer's shape (RFC 6749 section 5.2, RFC 7009,
RFC 8693): the ``error`` value clients branch on, its description and HTTP status. Only the
OAuth views' edge (``identity.http.oauth_apis``) makes one, from such a refusal or from a
failure of its own (a throttle, an unreadable body).
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import DomainError, ErrorCode
from identity import errors


class OAuthErrorCode(StrEnum):
    INVALID_REQUEST = "invalid_request"
    INVALID_CLIENT = "invalid_client"
    INVALID_GRANT = "invalid_grant"
    UNAUTHORIZED_CLIENT = "unauthorized_client"
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
    INVALID_SCOPE = "invalid_scope"
    INVALID_TARGET = "invalid_target"
    UNSUPPORTED_TOKEN_TYPE = "unsupported_token_type"
    SLOW_DOWN = "slow_down"
    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"


_STATUS = {
    OAuthErrorCode.INVALID_CLIENT: 401,
    OAuthErrorCode.SLOW_DOWN: 429,
    OAuthErrorCode.TEMPORARILY_UNAVAILABLE: 503,
}

# The token service's codes, each answered as the RFC 6749 error of the same name.
TOKEN_SERVICE_CODES: dict[ErrorCode, OAuthErrorCode] = {
    code: OAuthErrorCode(code.slug)
    for code in (
        errors.OAUTH_INVALID_REQUEST,
        errors.OAUTH_INVALID_CLIENT,
        errors.OAUTH_INVALID_GRANT,
        errors.OAUTH_UNAUTHORIZED_CLIENT,
        errors.OAUTH_UNSUPPORTED_GRANT_TYPE,
        errors.OAUTH_INVALID_SCOPE,
        errors.OAUTH_INVALID_TARGET,
        errors.OAUTH_TEMPORARILY_UNAVAILABLE,
    )
}


class OAuthError(Exception):
    """An answer of the OAuth endpoints in RFC 6749 form; made at their edge."""

    def __init__(self, error: OAuthErrorCode, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    @property
    def status(self) -> int:
        return _STATUS.get(self.error, 400)

    def body(self) -> dict[str, str]:
        return {"error": self.error.value, "error_description": printable(self.description)}


def printable(description: str) -> str:
    """What RFC 6749 section 5.2 allows in ``error_description`` (%x20-21 / %x23-5B /
    %x5D-7E): any other character becomes "?"."""
    return "".join(
        character if " " <= character <= "~" and character not in '"\\' else "?"
        for character in description
    )


def oauth_error_of(error: DomainError) -> OAuthError | None:
    """The OAuth answer to a refusal of the token service; None for any other domain error."""
    oauth_code = TOKEN_SERVICE_CODES.get(error.code)
    if oauth_code is None:
        return None
    return OAuthError(oauth_code, error.detail or error.code.description)


def invalid_request(description: str) -> DomainError:
    return DomainError(errors.OAUTH_INVALID_REQUEST, description)


def invalid_client() -> DomainError:
    return DomainError(errors.OAUTH_INVALID_CLIENT, "Client authentication failed.")


def invalid_grant(description: str) -> DomainError:
    return DomainError(errors.OAUTH_INVALID_GRANT, description)


def invalid_scope(description: str) -> DomainError:
    return DomainError(errors.OAUTH_INVALID_SCOPE, description)
