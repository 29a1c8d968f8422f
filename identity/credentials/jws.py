"""A JWT parsed once: split and decoded a single time, then verified from that parse.

The bearer path reads a token's unverified ``iss`` and ``token_type`` to choose what verifies
it, then checks its header, its signature and its claims. PyJWT's ``decode`` parses the token
again for each of those steps; here PyJWT's own parsing, signature check and claim checks run
on one ``ParsedToken`` that every step is handed. Nothing here is trusted before ``jws_verify``
has returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt


@dataclass(frozen=True)
class ParsedToken:
    """A compact JWS split into its parts; ``payload`` is unverified until ``jws_verify``."""

    raw: str
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


class _Jws(jwt.PyJWS):
    """PyJWS's parsing and signature check, as steps of their own."""

    def parse(self, raw: str) -> tuple[bytes, bytes, dict[str, Any], bytes]:
        return self._load(raw)

    def check_header(self, header: dict[str, Any]) -> None:
        self._validate_headers(header)

    def check_signature(self, token: ParsedToken, key: Any, algorithms: Sequence[str]) -> None:
        self._verify_signature(token.signing_input, token.header, token.signature, key, algorithms)


class _Jwt(jwt.PyJWT):
    """PyJWT's claim checks on a payload parsed before."""

    def check_claims(
        self,
        payload: dict[str, Any],
        *,
        options: dict[str, Any],
        audience: str | Iterable[str] | None,
        issuer: str,
        leeway: float,
    ) -> None:
        merged = {**self.options, "verify_signature": True, **options}
        self._validate_claims(payload, merged, audience=audience, issuer=issuer, leeway=leeway)


_JWS = _Jws()
_JWT = _Jwt()


def jws_parse(raw: str) -> ParsedToken:
    """Split and decode ``raw`` as PyJWT does; a ``jwt.PyJWTError`` when it is no JWS with a
    JSON object in its header and its payload."""
    payload_bytes, signing_input, header, signature = _JWS.parse(raw)
    try:
        payload = json.loads(payload_bytes)
    except ValueError as error:
        raise jwt.DecodeError(f"Invalid payload string: {error}") from error
    if not isinstance(payload, dict):
        raise jwt.DecodeError("Invalid payload string: must be a json object")
    return ParsedToken(raw, header, payload, signing_input, signature)


def jws_header_check(token: ParsedToken) -> dict[str, Any]:
    """The header, checked as PyJWT checks an unverified header (a ``kid`` is text)."""
    _JWS.check_header(token.header)
    return token.header


def jws_verify(
    token: ParsedToken,
    key: Any,
    *,
    algorithm: str,
    audience: str | Iterable[str] | None,
    issuer: str,
    leeway: float = 0,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload, once its signature verifies with ``key`` for ``algorithm`` only and its
    claims pass PyJWT's checks (``options`` as ``jwt.decode`` takes them); PyJWT's errors
    else."""
    _JWS.check_signature(token, key, [algorithm])
    _JWT.check_claims(
        token.payload, options=options or {}, audience=audience, issuer=issuer, leeway=leeway
    )
    return token.payload
