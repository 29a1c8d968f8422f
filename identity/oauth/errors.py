"""OAuth errors (RFC 6749 section 5.2, RFC 7009, RFC 8693): the ``error`` values clients
branch on, each with its HTTP status."""

from __future__ import annotations

from enum import StrEnum


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


class OAuthError(Exception):
    """A refusal of the token service; rendered as RFC 6749 JSON by ``identity.oauth.apis``."""

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


def invalid_request(description: str) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_REQUEST, description)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_GRANT, description)


def invalid_scope(description: str) -> OAuthError:
    return OAuthError(OAuthErrorCode.INVALID_SCOPE, description)
