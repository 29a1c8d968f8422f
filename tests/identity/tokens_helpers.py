"""Our own tokens, honest and forged, for the token attack tests.

Claims are written out here rather than minted by the token classes, so that every claim and
header can be changed; tokens are signed by hand over the raw segments (HMAC, or the keyring's
asymmetric algorithm) with the keyring's real keys, read from ``SigningKey``, or with whatever
key an attack needs. A test that forges a token first shows that the same token, unforged, is
accepted.
"""

from __future__ import annotations

import base64
import hmac
import json
import string
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from jwt.algorithms import get_default_algorithms
from rest_framework.test import APIClient

from identity import errors
from identity.credentials.encryption import secret_decrypt
from identity.credentials.tokens import bearer_hash
from identity.models import SigningKey, SigningKeyPurpose
from tests.conftest import Storefront, assert_problem, shopper_headers, tables_snapshot

CONTEXT_URL = "/commerceapi/authentication/customercontext"
CART_URL = "/commerceapi/cart"
CART_LINES_URL = "/commerceapi/cart/lines"
ACCESS_TYP = "at+jwt"
CONTEXT_TYP = "customer-context+jwt"
WWW_AUTHENTICATE = 'Bearer realm="commerceapi"'


# The whole answer to a refused request, per code: the contract storefronts program against.
# ``detail`` is the code's sentence in the error catalogue (docs/errors.md).
PROBLEMS: dict[int, dict[str, Any]] = {
    2000: {
        "type": "urn:commerceapi:problem:credentials_missing",
        "title": "Authentication required",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
        "code": 2000,
    },
    2020: {
        "type": "urn:commerceapi:problem:auth_key_missing",
        "title": "X-Auth-Key required",
        "status": 401,
        "detail": errors.AUTH_KEY_MISSING.description,
        "code": 2020,
    },
    2002: {
        "type": "urn:commerceapi:problem:bearer_scheme_required",
        "title": "Bearer scheme required",
        "status": 401,
        "detail": errors.BEARER_SCHEME_REQUIRED.description,
        "code": 2002,
    },
    2010: {
        "type": "urn:commerceapi:problem:token_invalid",
        "title": "Invalid token",
        "status": 401,
        "detail": errors.TOKEN_INVALID.description,
        "code": 2010,
    },
    2011: {
        "type": "urn:commerceapi:problem:token_expired",
        "title": "Token expired",
        "status": 401,
        "detail": errors.TOKEN_EXPIRED.description,
        "code": 2011,
    },
    2012: {
        "type": "urn:commerceapi:problem:token_revoked",
        "title": "Token revoked",
        "status": 401,
        "detail": errors.TOKEN_REVOKED.description,
        "code": 2012,
    },
    2030: {
        "type": "urn:commerceapi:problem:customer_context_missing",
        "title": "Customer context required",
        "status": 401,
        "detail": errors.CONTEXT_MISSING.description,
        "code": 2030,
    },
    2031: {
        "type": "urn:commerceapi:problem:customer_context_invalid",
        "title": "Invalid customer context",
        "status": 401,
        "detail": errors.CONTEXT_INVALID.description,
        "code": 2031,
    },
    2032: {
        "type": "urn:commerceapi:problem:customer_context_mismatch",
        "title": "Customer context does not match the bearer",
        "status": 401,
        "detail": errors.CONTEXT_MISMATCH.description,
        "code": 2032,
    },
    2033: {
        "type": "urn:commerceapi:problem:customer_context_expired",
        "title": "Customer context expired",
        "status": 401,
        "detail": errors.CONTEXT_EXPIRED.description,
        "code": 2033,
    },
    2060: {
        "type": "urn:commerceapi:problem:identity_provider_unknown",
        "title": "Unknown token issuer",
        "status": 401,
        "detail": errors.PROVIDER_UNKNOWN.description,
        "code": 2060,
    },
    2064: {
        "type": "urn:commerceapi:problem:customer_deactivated",
        "title": "Customer deactivated",
        "status": 401,
        "detail": errors.CUSTOMER_DEACTIVATED.description,
        "code": 2064,
    },
}


# A value no answer may echo back, and claim values of every wrong kind (it among them).
ECHO_MARKER = "<echo-marker-5f1c>"
ODD_CLAIM_VALUES = [
    pytest.param(None, id="null"),
    pytest.param(True, id="true"),
    pytest.param(0, id="zero"),
    pytest.param(-1, id="minus-one"),
    pytest.param("x", id="x"),
    pytest.param([], id="list"),
    pytest.param({}, id="object"),
    pytest.param(10**18, id="1e18"),
    pytest.param(2**63, id="2**63"),
    pytest.param(10**30, id="1e30"),
    pytest.param(1e300, id="1e300-float"),
    pytest.param(ECHO_MARKER + "ä", id="marker-non-ascii"),
]

# Claims that make a token valid only later, in seconds from now (past the leeway of 60 s).
# Hostile kids for every token kind the API verifies: path traversal, SQL, shell
# metacharacters (``MARKER`` is replaced by a file the shell would create), NUL, too long,
# non-ASCII, empty. Each with the HMAC secret a naive verifier might take from it.
MARKER = "{marker}"
MALFORMED_KIDS = [
    pytest.param("../../../../../../dev/null", b"", id="path-traversal-dev-null"),
    pytest.param("/etc/passwd", b"", id="absolute-path"),
    pytest.param("..%2F..%2F..%2Fdev%2Fnull", b"", id="encoded-traversal"),
    pytest.param("' OR '1'='1", b"", id="sql-or"),
    pytest.param("x' UNION SELECT 'c2VjcmV0' --", b"secret", id="sql-union-chosen-key"),
    pytest.param("1; DROP TABLE identity_signingkey; --", b"", id="sql-drop"),
    pytest.param(f"$(touch {MARKER})", b"", id="shell-substitution"),
    pytest.param(f"`touch {MARKER}`", b"", id="shell-backticks"),
    pytest.param(f"| touch {MARKER}", b"", id="shell-pipe"),
    pytest.param(f"; touch {MARKER} #", b"", id="shell-semicolon"),
    pytest.param("kid\x00", b"", id="nul-byte"),
    pytest.param("k" * 65, b"", id="too-long"),
    pytest.param("ключ", b"", id="non-ascii"),
    pytest.param("", b"", id="empty"),
]


NOT_YET_VALID = [
    pytest.param({"nbf": 3600}, id="nbf-in-an-hour"),
    pytest.param({"nbf": 61}, id="nbf-past-the-leeway"),
    pytest.param({"iat": 3600}, id="iat-in-an-hour"),
    pytest.param({"iat": 61}, id="iat-past-the-leeway"),
]


# --- Encoding -------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


BASE64URL_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def flip(signature: str, index: int, bits: int) -> str:
    """``signature`` with the base64url character at ``index`` xor-ed with ``bits``."""
    position = index % len(signature)
    flipped = BASE64URL_ALPHABET[BASE64URL_ALPHABET.index(signature[position]) ^ bits]
    return signature[:position] + flipped + signature[position + 1 :]


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The header and claims of a compact token, unverified, and its signature segment."""
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def assemble(header: dict[str, Any], payload: dict[str, Any], signature: str) -> str:
    return f"{b64url_json(header)}.{b64url_json(payload)}.{signature}"


def hmac_signed(
    header: dict[str, Any], payload: dict[str, Any], secret: bytes, digest: str = "sha256"
) -> str:
    """An HMAC over the raw segments with ``secret``, whatever ``alg`` the header claims."""
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


# --- The keyring's real keys ----------------------------------------------------------------


@dataclass(frozen=True)
class RealKey:
    """A key of the keyring. ``secret`` is what an HMAC would be keyed with: an HMAC key's
    secret, or, for an asymmetric key, its public key in PEM (all an attacker has; a verifier
    confusing the two would accept that HMAC)."""

    kid: str
    secret: bytes
    algorithm: str = "HS256"
    private_key: Any = None

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()


def real_key(purpose: str) -> RealKey:
    """The active key of ``purpose``, as every API process holds it (decrypted)."""
    row = SigningKey.objects.get(purpose=purpose, is_active=True)
    material = secret_decrypt(row.encrypted_secret)
    if row.algorithm == "HS256":
        return RealKey(kid=row.kid, secret=b64url_decode(material))
    private_key = serialization.load_pem_private_key(material.encode(), password=None)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return RealKey(kid=row.kid, secret=public_pem, algorithm=row.algorithm, private_key=private_key)


def public_key_forms(key: RealKey) -> list[bytes]:
    """The public half of an asymmetric keyring key in every form a verifier confusing it with
    an HMAC secret might use: PEM (with and without its last newline), DER, the JWK that
    /.well-known/jwks.json publishes, and the key type's raw form (PKCS#1, an EC point)."""
    public_key = key.public_key
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = get_default_algorithms()[key.algorithm].to_jwk(public_key).encode()
    if isinstance(public_key, rsa.RSAPublicKey):
        raw = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        raw = public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    else:
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return [pem, pem.rstrip(b"\n"), der, jwk, raw]


def _typ(purpose: str) -> str:
    return CONTEXT_TYP if purpose == SigningKeyPurpose.CONTEXT else ACCESS_TYP


def header_for(purpose: str, key: RealKey, **changes: Any) -> dict[str, Any]:
    """The header we would write; a change to ``None`` removes that header."""
    header = {"alg": key.algorithm, "kid": key.kid, "typ": _typ(purpose), **changes}
    return {name: value for name, value in header.items() if value is not None}


def key_signed(header: dict[str, Any], payload: dict[str, Any], key: RealKey) -> str:
    """Signed over the raw segments with ``key``'s own algorithm, whatever ``alg`` the header
    claims."""
    if key.algorithm == "HS256":
        return hmac_signed(header, payload, key.secret)
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    implementation = get_default_algorithms()[key.algorithm]
    signature = implementation.sign(signing_input.encode(), key.private_key)
    return f"{signing_input}.{b64url(signature)}"


def sign(
    claims: dict[str, Any],
    *,
    purpose: str = SigningKeyPurpose.ANONYMOUS,
    key: RealKey | None = None,
    **header_changes: Any,
) -> str:
    """``claims`` signed as we sign them: with the real key of ``purpose`` and its algorithm
    (HS256 for anonymous tokens and contexts, the keyring's asymmetric one for access
    tokens)."""
    key = key or real_key(purpose)
    return key_signed(header_for(purpose, key, **header_changes), claims, key)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Tokens the API mints inside are minted as if at ``moment``."""
    with mock.patch("rest_framework_simplejwt.tokens.aware_utcnow", return_value=moment):
        yield


def without(claims: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in claims.items() if name not in names}


def anonymous_claims(
    storefront: Storefront, *, anonymous_id: str | None = None, lifetime: int = 3600
) -> dict[str, Any]:
    now = int(time.time())
    anonymous_id = anonymous_id or str(uuid.uuid4())
    return {
        "token_type": "anonymous",
        "exp": now + lifetime,
        "iat": now,
        "jti": anonymous_id,
        "sub": anonymous_id,
        "tenant": storefront.tenant.pk,
        "app": str(storefront.app.public_id),
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
    }


def context_claims(
    raw_bearer: str,
    *,
    tenant_id: int,
    subject: str,
    is_anonymous: bool = True,
    lifetime: int = 3600,
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "token_type": "customer_context",
        "exp": now + lifetime,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "tenant": tenant_id,
        "sub": subject,
        "isAnonymous": is_anonymous,
        "ath": bearer_hash(raw_bearer),
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
    }


@dataclass(frozen=True)
class Session:
    """A bearer and its context, with the claims they were signed from."""

    bearer: str
    context: str
    bearer_claims: dict[str, Any]
    context_claims: dict[str, Any]

    def headers(self) -> dict[str, str]:
        return shopper_headers(self.bearer, self.context)


def session_sign(storefront: Storefront, *, anonymous_id: str | None = None) -> Session:
    """An anonymous session signed here with the real keys, exactly as the API signs one."""
    claims = anonymous_claims(storefront, anonymous_id=anonymous_id)
    bearer = sign(claims)
    contextual = context_claims(bearer, tenant_id=storefront.tenant.pk, subject=claims["jti"])
    context = sign(contextual, purpose=SigningKeyPurpose.CONTEXT)
    return Session(bearer, context, claims, contextual)


# --- Requests and answers -------------------------------------------------------------------


def assert_unauthorized(response: Any, code: int) -> None:
    """A 401 with ``WWW-Authenticate`` and exactly the problem document of ``code``."""
    assert_problem(response, PROBLEMS[code])
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def add_to_cart(api: APIClient, headers: dict[str, str], sku: str = "MUG") -> Any:
    return api.post(CART_LINES_URL, {"sku": sku, "quantity": 1}, format="json", **headers)


def assert_refused_unchanged(api: APIClient, headers: dict[str, str], code: int) -> None:
    """Adding to the cart with these credentials is a 401 ``code`` and changes nothing."""
    before = tables_snapshot()
    assert_unauthorized(add_to_cart(api, headers), code)
    after = tables_snapshot()
    assert after == before, (before, after)


def assert_refused_or_ignored(response: Any, forged: str) -> None:
    """A 401 with a known problem document, or a 200; never a 5xx, never an echo."""
    assert response.status_code in (200, 401), response.content
    assert forged.encode() not in response.content
    assert ECHO_MARKER.encode() not in response.content
    if response.status_code == 401:
        assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
        assert response.json() in PROBLEMS.values()


# --- Side effects a token must never cause --------------------------------------------------

_WATCHED_EVENTS = frozenset(
    {
        "open",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "subprocess.Popen",
        "socket.connect",
        "socket.getaddrinfo",
        "urllib.Request",
        "http.client.connect",
    }
)
_recorders: list[list[tuple[str, tuple[Any, ...]]]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recorders and event in _WATCHED_EVENTS:
        _recorders[-1].append((event, args))


sys.addaudithook(_audit)


@contextmanager
def recorded_side_effects() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Files opened, processes started and connections made inside the block (audit hooks)."""
    events: list[tuple[str, tuple[Any, ...]]] = []
    _recorders.append(events)
    try:
        yield events
    finally:
        _recorders.remove(events)


@dataclass
class LoopbackServer:
    """An HTTP server on 127.0.0.1 that answers every GET and remembers what it was asked."""

    body: bytes
    requests: list[str] = field(default_factory=list)
    url: str = ""


@contextmanager
def loopback_server(body: bytes) -> Iterator[LoopbackServer]:
    server = LoopbackServer(body=body)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(server.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def assert_server_answers(server: LoopbackServer) -> None:
    """The loopback server records a request made to it (so that none recorded means none made)."""
    count = len(server.requests)
    with urllib.request.urlopen(f"{server.url}/probe", timeout=5) as response:  # noqa: S310
        assert response.status == 200
    assert len(server.requests) == count + 1


def assert_nothing_fetched(
    server: LoopbackServer, side_effects: list[tuple[str, tuple[Any, ...]]]
) -> None:
    """No request reached ``server`` and no connection was made; and the server does answer, so
    its silence means something."""
    assert server.requests == []
    assert [event for event, _ in side_effects if event.startswith(("socket", "http"))] == []
    assert_server_answers(server)


def malformed_shapes(token: str, dashed: str) -> dict[str, str]:
    """``token`` in every shape but a canonical compact JWS, by name (``MALFORMED_SHAPES``).

    ``dashed`` is a token of the same kind whose signature has a ``-`` or ``_``, so that the
    standard base64 alphabet spells it otherwise."""
    header, claims, signature = segments(token)
    header_segment, payload_segment, _ = token.split(".")
    jwe_header = b64url_json(
        {"alg": "dir", "enc": "A256GCM", "kid": header["kid"], "typ": ACCESS_TYP}
    )
    padded_header = {**header, "x-pad": "A" * 100 * 1024}
    dashed_head, dashed_signature = dashed.rsplit(".", 1)
    return {
        "jwe-five-segments": ".".join(
            [jwe_header, "", b64url(b"\x00" * 12), b64url(b"ciphertext"), b64url(b"\x00" * 16)]
        ),
        "json-serialisation-flattened": json.dumps(
            {"protected": header_segment, "payload": payload_segment, "signature": signature}
        ),
        "json-serialisation-general": json.dumps(
            {
                "payload": payload_segment,
                "signatures": [{"protected": header_segment, "signature": signature}],
            }
        ),
        "two-segments": f"{header_segment}.{payload_segment}",
        "four-segments": f"{token}.{signature}",
        "only-dots": "..",
        "padded-signature": f"{token}=",
        "padded-payload": f"{header_segment}.{payload_segment}=.{signature}",
        "standard-alphabet-signature": (
            f"{dashed_head}.{dashed_signature.replace('-', '+').replace('_', '/')}"
        ),
        "bang-in-signature": f"{token[:-5]}!{token[-5:]}",
        "space-in-payload": f"{header_segment}.{payload_segment[:5]} {payload_segment[5:]}.x",
        "newline-in-signature": f"{token[:-5]}\n{token[-5:]}",
        "non-ascii": f"{token[:-5]}ä{token[-5:]}",
        "percent-encoded-dot": token.replace(".", "%2E", 1),
        "header-of-100-kb": hmac_signed(padded_header, claims, real_key("access").secret),
        "token-of-100-kb-of-dots": "." * 100 * 1024,
    }


MALFORMED_SHAPES = [
    "jwe-five-segments",
    "json-serialisation-flattened",
    "json-serialisation-general",
    "two-segments",
    "four-segments",
    "only-dots",
    "padded-signature",
    "padded-payload",
    "standard-alphabet-signature",
    "bang-in-signature",
    "space-in-payload",
    "newline-in-signature",
    "non-ascii",
    "percent-encoded-dot",
    "header-of-100-kb",
    "token-of-100-kb-of-dots",
]
