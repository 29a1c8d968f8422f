"""What every token kind we mint shares (the kinds themselves are in ``kinds/``).

A kind is a djangorestframework-simplejwt ``Token`` signed by the keyring. Its type marker is
checked on every decode twice: the ``typ`` header and the ``token_type`` claim. Keys come from
the keyring (``kid`` header); the algorithm is the key's own, never the token's. ``exp``,
``iat``, ``jti``, ``iss`` and ``aud`` are required; an unknown ``crit`` header,
``jku``/``x5u``/``jwk``/``x5c`` headers, tokens over ``MAX_TOKEN_LENGTH`` and anything but a
canonical compact JWS are refused.

A token is parsed once (``token_parse``) and the parsed form is what the kind verifies.
Every failure of PyJWT or simplejwt is turned into ``TokenRejected`` in ``token_parse`` and
``token_decode``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import jwt
from django.conf import settings
from jwt.utils import base64url_decode, base64url_encode
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import (
    ExpiredTokenError,
    TokenBackendError,
    TokenBackendExpiredToken,
    TokenError,
)
from rest_framework_simplejwt.tokens import Token

from identity.credentials.jws import ParsedToken, jws_header_check, jws_parse, jws_verify
from identity.credentials.keyring import KeyringEmpty, keyring_get, keyring_verifying_key

MAX_TOKEN_LENGTH = 8192

CLAIM_TOKEN_TYPE = "token_type"
CLAIM_TENANT = "tenant"
CLAIM_APP = "app"
CLAIM_SUBJECT = "sub"
CLAIM_IS_ANONYMOUS = "isAnonymous"
CLAIM_BEARER_HASH = "ath"
CLAIM_PROVIDER = "idp"
# RFC 9068 and RFC 8693 claims of the token service's tokens.
CLAIM_CLIENT = "client_id"
CLAIM_SCOPE = "scope"
CLAIM_ACTOR = "act"
# The sign-in (refresh-token family) an access token belongs to; revoking it ends the token.
CLAIM_GRANT = "grant"
# ``iat`` to the millisecond (an integer, epoch milliseconds) beside the integer ``iat`` of RFC
# 7519, so that "sign out everywhere" tells a token issued just before it from one issued just
# after, in the same second.
CLAIM_ISSUED_AT_MS = "iat_ms"
# The most delegations (nested ``act`` claims) a token may carry.
MAX_ACTOR_DEPTH = 8
# Custom claims of a token exchange live under this one claim, never beside the reserved ones.
CLAIM_CUSTOM = "urn:commerceapi:claims"

# Headers that would let a token choose its own key; we never follow them.
_KEY_CHOOSING_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
_REQUIRED_CLAIMS = ["exp", "iat", "jti", "iss", "aud"]
# Compact JWS (RFC 7515 section 7.1): three unpadded base64url segments and nothing else.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# What we mint as token ids and client ids; nothing else reaches a revocation key.
_JTI_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,64}")
CLIENT_ID_FORMAT = re.compile(r"ci_[0-9a-f]{20}")
# The largest primary key a database column holds; a larger id would overflow a query.
_MAX_DATABASE_ID = 2**63 - 1


class TokenRejected(Exception):
    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


def _is_canonical_compact_jws(token: object) -> bool:
    """Three base64url segments, the signature spelled the one way its bytes encode.

    Python's base64 decoder skips characters outside the alphabet, accepts padding and ignores
    the unused low bits of the last character; without this check one signature has many
    spellings, and a token with a changed signature would still verify.
    """
    if not isinstance(token, str) or not _COMPACT_JWS.fullmatch(token):
        return False
    signature = token.rsplit(".", 1)[1]
    try:
        return base64url_encode(base64url_decode(signature)).decode() == signature
    except ValueError:
        return False


def is_database_id(value: Any) -> bool:
    return type(value) is int and 0 < value <= _MAX_DATABASE_ID


class KeyringTokenBackend(TokenBackend):
    """simplejwt's backend, with the keyring in place of its single key.

    Encodes with the active key of ``purpose`` (``kid`` and ``typ`` headers); decodes only with
    the key the ``kid`` names, with that key's algorithm, and only a token whose ``typ`` is ours.
    """

    def __init__(self, *, purpose: str, typ: str, verify_exp: bool = True) -> None:
        super().__init__(
            algorithm="HS256",
            audience=settings.TOKEN_AUDIENCE,
            issuer=settings.TOKEN_ISSUER,
            leeway=0,
        )
        self.purpose = purpose
        self.typ = typ
        self.verify_exp = verify_exp

    def encode(self, payload: dict[str, Any]) -> str:
        key = keyring_get().active(self.purpose)
        claims = {**payload, "iss": settings.TOKEN_ISSUER, "aud": settings.TOKEN_AUDIENCE}
        return jwt.encode(
            claims,
            key.signing_key,
            algorithm=key.algorithm,
            headers={"kid": key.kid, "typ": self.typ},
        )

    def decode(self, token: Any, verify: bool = True) -> dict[str, Any]:
        """``token``: a ``ParsedToken`` (the one parse), or the raw text."""
        if not verify:
            raise TokenBackendError("unverified decoding is not offered")
        try:
            parsed = token if isinstance(token, ParsedToken) else jws_parse(token)
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise TokenBackendError("not a JWS") from error
        if not _is_canonical_compact_jws(parsed.raw):
            raise TokenBackendError("not a compact JWS")
        try:
            header = jws_header_check(parsed)
        except jwt.PyJWTError as error:
            raise TokenBackendError("malformed header") from error
        if header.get("typ") != self.typ:
            raise TokenBackendError("wrong token type")
        if "crit" in header or _KEY_CHOOSING_HEADERS & header.keys():
            raise TokenBackendError("unsupported header")
        kid = header.get("kid")
        # The keyring refuses a malformed kid (KID_FORMAT, full match) before any reload.
        key = keyring_verifying_key(kid, self.purpose) if isinstance(kid, str) else None
        if key is None:
            raise TokenBackendError("unknown key")
        try:
            return jws_verify(
                parsed,
                key.verifying_key,
                algorithm=key.algorithm,
                audience=settings.TOKEN_AUDIENCE,
                issuer=settings.TOKEN_ISSUER,
                leeway=self.get_leeway().total_seconds(),
                options={"require": _REQUIRED_CLAIMS, "verify_exp": self.verify_exp},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenBackendExpiredToken("expired") from error
        except jwt.PyJWTError as error:
            raise TokenBackendError(str(error)) from error


class KeyringToken(Token):
    """A simplejwt token signed by the keyring; subclasses name their kind and key purpose."""

    backend: ClassVar[KeyringTokenBackend]

    def get_token_backend(self) -> KeyringTokenBackend:
        return self.backend

    def verify(self) -> None:
        super().verify()
        self.verify_claims()

    def verify_claims(self) -> None:
        """Check the kind's own claims' shapes; raise ``TokenError`` when one is off."""

    def expire_at(self, expires_at: int) -> None:
        """``exp`` at a given moment (epoch seconds) instead of after the kind's lifetime."""
        self.set_exp(from_time=datetime.fromtimestamp(expires_at, UTC), lifetime=timedelta(0))


def is_uuid_string(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def is_token_id(value: Any) -> bool:
    # It becomes part of a revocation key: only the characters we mint (simplejwt writes hex).
    return isinstance(value, str) and _JTI_FORMAT.fullmatch(value) is not None


def oauth_claims_check(payload: dict[str, Any], *, required: bool) -> None:
    """``client_id`` and ``scope`` (required of the token service's kinds, optional on an
    anonymous token, which has them when a sales channel got it), ``grant`` and ``act``."""
    for claim in (CLAIM_CLIENT, CLAIM_SCOPE):
        if claim not in payload and not required:
            continue
        value = payload.get(claim)
        if not isinstance(value, str) or len(value) > 500:
            raise TokenError(f"{claim} claim malformed")
        if claim == CLAIM_CLIENT and not CLIENT_ID_FORMAT.fullmatch(value):
            raise TokenError("client_id claim malformed")
    if CLAIM_GRANT in payload and not is_uuid_string(payload[CLAIM_GRANT]):
        raise TokenError("grant claim malformed")
    if CLAIM_ACTOR in payload and not _actor_valid(payload[CLAIM_ACTOR], depth=0):
        raise TokenError("act claim malformed")


def actor_depth(actor: Any) -> int:
    """How many delegations an ``act`` claim names (0 without one)."""
    depth = 0
    while isinstance(actor, dict) and depth <= MAX_ACTOR_DEPTH:
        depth += 1
        actor = actor.get("act")
    return depth


def _actor_valid(actor: Any, *, depth: int) -> bool:
    """RFC 8693 section 4.1: ``{"sub": ..., "act": {...}}``, nested for each delegation."""
    if (
        not isinstance(actor, dict)
        or depth >= MAX_ACTOR_DEPTH
        or not isinstance(actor.get("sub"), str)
    ):
        return False
    return "act" not in actor or _actor_valid(actor["act"], depth=depth + 1)


def bearer_hash(raw_bearer: str) -> str:
    digest = hashlib.sha256(raw_bearer.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


T = TypeVar("T", bound=KeyringToken)


def token_parse(raw_token: str) -> ParsedToken:
    """The one parse of a token; ``TokenRejected`` for anything too long or not a JWS."""
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("token missing or too long")
    try:
        return jws_parse(raw_token)
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise TokenRejected("malformed") from error


def token_decode(token_class: type[T], token: str | ParsedToken) -> T:
    """Verify ``token`` (raw, or parsed once by ``token_parse``) as ``token_class``; the one
    place errors are converted."""
    raw_token = token.raw if isinstance(token, ParsedToken) else token
    if not raw_token or len(raw_token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("token missing or too long")
    try:
        return token_class(token)  # type: ignore[arg-type]
    except ExpiredTokenError as error:
        raise TokenRejected("expired", expired=True) from error
    # OSError: datetime.fromtimestamp's answer to some out-of-range "exp" values (EOVERFLOW).
    except (
        TokenError,
        KeyringEmpty,
        ValueError,
        TypeError,
        OverflowError,
        OSError,
        KeyError,
    ) as error:
        raise TokenRejected(str(error)) from error


def token_encode(token: KeyringToken) -> str:
    return str(token)
