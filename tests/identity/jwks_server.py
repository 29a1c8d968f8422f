"""A loopback identity provider for tests: OIDC discovery and a JWKS served over real HTTP.

``JwksServer`` is a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) in a daemon thread. It
serves ``/.well-known/openid-configuration`` (issuer configurable, ``jwks_uri`` pointing at
itself) and ``/jwks.json``, holds the private keys that sign its tokens, counts the requests
it gets per path, and can misbehave on demand: rotate its key, answer 503, stop listening,
answer slowly or byte by byte, or answer garbage. The verifying code fetches from it exactly
as it would from a real provider; nothing is mocked.

Fixtures (tests/conftest.py registers them for every test module): ``provider_settings`` (a
1 s provider timeout), ``jwks_servers`` (a factory; every server it starts is stopped after the
test) and ``jwks_server`` (one server). Helpers register providers, build and sign tokens, and
call the customer context endpoint.
"""

from __future__ import annotations

import base64
import enum
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm, get_default_algorithms
from rest_framework.test import APIClient

from core.errors import ErrorCode
from identity.customers.providers import provider_save, providers_clear_cache
from identity.models import IdentityProvider, ProviderFlavor, Tenant
from tests.conftest import PROBLEM_CONTENT_TYPE
from tests.identity.tokens_helpers import WWW_AUTHENTICATE, b64url

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"
CONTEXT_URL = "/commerceapi/authentication/customercontext"
AUDIENCE = "api://shop"
# The provider timeout the fixtures set; slow answers take longer than this.
PROVIDER_TIMEOUT_SECONDS = 1

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256")
_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
}


# --- Keys -------------------------------------------------------------------------------------

# Generating an RSA key takes tens of milliseconds; a small pool, handed out in turn, keeps the
# suite fast while any few keys asked for in a row are distinct.
_RSA_POOL_SIZE = 12
_rsa_pool: list[rsa.RSAPrivateKey] = []
_rsa_turn = itertools.count()


def _rsa_private_key() -> rsa.RSAPrivateKey:
    index = next(_rsa_turn) % _RSA_POOL_SIZE
    while len(_rsa_pool) <= index:
        _rsa_pool.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _rsa_pool[index]


@dataclass(frozen=True)
class ProviderKey:
    """A provider's signing key: its ``kid``, algorithm and private half."""

    kid: str
    algorithm: str
    private_key: Any

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()

    def public_jwk(self, *, with_alg: bool = True) -> dict[str, Any]:
        public = self.public_key
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig"})
        if with_alg:
            jwk["alg"] = self.algorithm
        return jwk

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def provider_key_generate(algorithm: str = "RS256", *, kid: str | None = None) -> ProviderKey:
    private_key: Any
    if algorithm in RSA_ALGORITHMS:
        private_key = _rsa_private_key()
    elif algorithm in _CURVES:
        private_key = ec.generate_private_key(_CURVES[algorithm]())
    elif algorithm == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"no key type for {algorithm}")
    return ProviderKey(
        kid=kid or f"key-{uuid.uuid4().hex[:12]}", algorithm=algorithm, private_key=private_key
    )


def x5c_certificate(key: ProviderKey) -> str:
    """A certificate of ``key`` signed by itself, as an ``x5c`` header carries it (base64 DER)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key.private_key, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


# --- Compact JWS, built by hand so that any header or payload can be signed --------------------


def _json_part(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b64url(raw)


def compact_jws(header: dict[str, Any], claims: dict[str, Any] | bytes, signature: bytes) -> str:
    """A compact JWS with exactly this header, payload and signature (which may be bogus)."""
    return f"{_json_part(header)}.{_json_part(claims)}.{b64url(signature)}"


def jws_sign(
    header: dict[str, Any], claims: dict[str, Any] | bytes, private_key: Any, algorithm: str
) -> str:
    """Sign with ``algorithm`` whatever the header says (it may claim another one)."""
    signing_input = f"{_json_part(header)}.{_json_part(claims)}".encode()
    implementation = get_default_algorithms()[algorithm]
    signature = implementation.sign(signing_input, implementation.prepare_key(private_key))
    return f"{signing_input.decode()}.{b64url(signature)}"


def access_claims(issuer: str, *, lifetime: int = 300, **claims: Any) -> dict[str, Any]:
    """A plain access token's claims; keyword arguments add or replace claims."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": f"user-{uuid.uuid4().hex[:12]}",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    base.update(claims)
    return base


# --- The server -------------------------------------------------------------------------------


class Behaviour(enum.Enum):
    NORMAL = "normal"
    UNAVAILABLE = "unavailable"  # 503
    SLOW = "slow"  # nothing at all until ``delay`` has passed
    DRIP = "drip"  # headers at once, then the body one byte per ``delay``
    GARBAGE = "garbage"  # 200 with ``garbage`` as the body
    REDIRECT = "redirect"  # 302 to ``redirect_to``


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    jwks_server: JwksServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (our timeout) is expected here, not an error."""


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer

    def do_GET(self) -> None:
        self.server.jwks_server.answer(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class JwksServer:
    """An OIDC provider on loopback. ``issuer`` defaults to its own base URL."""

    def __init__(self, *, issuer: str | None = None, algorithm: str = "RS256") -> None:
        self._http = _HttpServer(("127.0.0.1", 0), _Handler)
        self._http.jwks_server = self
        port = self._http.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self.issuer = issuer or self.url
        self.discovery_url = self.url + DISCOVERY_PATH
        self.jwks_uri = self.url + JWKS_PATH
        # What the discovery document says; tests may make it lie.
        self.discovery_issuer: str | None = None
        self.discovery_jwks_uri: str | None = None
        # id_token_signing_alg_values_supported: the keys' algorithms unless set (None: omitted
        # when ``advertise_algorithms`` is off).
        self.advertised_algorithms: list[Any] | None = None
        self.advertise_algorithms = True
        self.keys: list[ProviderKey] = []
        self.signing_key = self.add_key(algorithm)
        self.publish_alg = True
        self._behaviour = Behaviour.NORMAL
        self._behaviour_paths: frozenset[str] | None = None
        self._delay = 0.0
        self._drip_limit = 0.0
        self._garbage = b""
        self._redirect_to = ""
        self._requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._is_listening = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    # --- keys ---

    def add_key(self, algorithm: str = "RS256", *, kid: str | None = None) -> ProviderKey:
        """Publish one more key (signing stays with the current one)."""
        key = provider_key_generate(algorithm, kid=kid)
        self.keys.append(key)
        return key

    def set_keys(self, *keys: ProviderKey) -> None:
        """Publish exactly these keys and sign with the first."""
        self.keys = list(keys)
        self.signing_key = keys[0]

    def rotate(self, algorithm: str | None = None) -> ProviderKey:
        """Publish a new key and sign with it at once, as a provider rotating in a hurry."""
        self.signing_key = self.add_key(algorithm or self.signing_key.algorithm)
        return self.signing_key

    def jwks_document(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk(with_alg=self.publish_alg) for key in self.keys]}

    def discovery_document(self) -> dict[str, Any]:
        document = {
            "issuer": self.discovery_issuer or self.issuer,
            "jwks_uri": self.discovery_jwks_uri or self.jwks_uri,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        }
        if self.advertise_algorithms:
            document["id_token_signing_alg_values_supported"] = (
                self.advertised_algorithms
                if self.advertised_algorithms is not None
                else sorted({key.algorithm for key in self.keys})
            )
        return document

    # --- tokens ---

    def claims(self, **claims: Any) -> dict[str, Any]:
        return access_claims(self.issuer, **claims)

    def sign(
        self,
        claims: dict[str, Any] | bytes,
        *,
        key: ProviderKey | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        """Sign with ``key`` (default: the current signing key). ``header`` is merged over
        ``{"alg", "typ", "kid"}``; a value of None there removes that parameter."""
        key = key or self.signing_key
        merged: dict[str, Any] = {"alg": key.algorithm, "typ": "JWT", "kid": key.kid}
        merged.update(header or {})
        merged = {name: value for name, value in merged.items() if value is not None}
        return jws_sign(merged, claims, key.private_key, key.algorithm)

    def token(self, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A valid access token of this provider; keyword arguments replace claims."""
        return self.sign(self.claims(**claims), header=header)

    # --- behaviour ---

    def _set(self, behaviour: Behaviour, paths: Sequence[str] | None) -> None:
        with self._lock:
            self._behaviour = behaviour
            self._behaviour_paths = frozenset(paths) if paths is not None else None

    def answer_normally(self) -> None:
        self._set(Behaviour.NORMAL, None)

    def answer_unavailable(self, paths: Sequence[str] | None = None) -> None:
        self._set(Behaviour.UNAVAILABLE, paths)

    def answer_slowly(self, seconds: float, paths: Sequence[str] | None = None) -> None:
        self._delay = seconds
        self._set(Behaviour.SLOW, paths)

    def answer_dripping(
        self, byte_interval: float, *, give_up_after: float, paths: Sequence[str] | None = None
    ) -> None:
        """Send the headers at once, then a byte per ``byte_interval`` (each well within the
        timeout), hanging up after ``give_up_after`` seconds."""
        self._delay = byte_interval
        self._drip_limit = give_up_after
        self._set(Behaviour.DRIP, paths)

    def answer_garbage(self, body: bytes, paths: Sequence[str] | None = None) -> None:
        self._garbage = body
        self._set(Behaviour.GARBAGE, paths)

    def answer_redirect(self, location: str, paths: Sequence[str] | None = None) -> None:
        self._redirect_to = location
        self._set(Behaviour.REDIRECT, paths)

    def go_down(self) -> None:
        """Stop listening: connections are refused from now on (for good)."""
        if self._is_listening:
            self._is_listening = False
            self._http.shutdown()
            self._http.server_close()

    def stop(self) -> None:
        self._released.set()  # wakes any handler still waiting
        self.go_down()
        self._thread.join(timeout=5)

    # --- requests ---

    def requests(self, path: str | None = None) -> int:
        """How many requests arrived, for one path or in all."""
        with self._lock:
            if path is None:
                return sum(self._requests.values())
            return self._requests[path]

    def answer(self, handler: _Handler) -> None:
        path = handler.path.split("?", 1)[0]
        with self._lock:
            self._requests[path] += 1
            applies = self._behaviour_paths is None or path in self._behaviour_paths
            behaviour = self._behaviour if applies else Behaviour.NORMAL
        if behaviour is Behaviour.SLOW and self._released.wait(self._delay):
            return
        if behaviour is Behaviour.UNAVAILABLE:
            self._send(handler, 503, b'{"error": "temporarily_unavailable"}')
            return
        if behaviour is Behaviour.REDIRECT:
            handler.send_response(302)
            handler.send_header("Location", self._redirect_to)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if path == DISCOVERY_PATH:
            body = json.dumps(self.discovery_document()).encode()
        elif path == JWKS_PATH:
            body = json.dumps(self.jwks_document()).encode()
        else:
            self._send(handler, 404, b"{}")
            return
        if behaviour is Behaviour.GARBAGE:
            body = self._garbage
        if behaviour is Behaviour.DRIP:
            self._drip(handler, body)
            return
        self._send(handler, 200, body)

    @staticmethod
    def _send(handler: _Handler, status: int, body: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _drip(self, handler: _Handler, body: bytes) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.flush()
        give_up_at = time.monotonic() + self._drip_limit
        for index in range(len(body)):
            if self._released.wait(self._delay) or time.monotonic() > give_up_at:
                return
            handler.wfile.write(body[index : index + 1])
            handler.wfile.flush()


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(name="provider_settings")
def provider_settings_fixture(settings: Any, fresh_provider_registry: None) -> Any:
    """A short provider timeout, the default cool-down, and no providers left from before."""
    settings.PROVIDER_HTTP_TIMEOUT_SECONDS = PROVIDER_TIMEOUT_SECONDS
    settings.JWKS_COOLDOWN_SECONDS = 60
    return settings


@pytest.fixture(name="jwks_servers")
def jwks_servers_fixture(provider_settings: Any) -> Iterator[Callable[..., JwksServer]]:
    """Start loopback providers; each is stopped after the test."""
    started: list[JwksServer] = []

    def start(**options: Any) -> JwksServer:
        server = JwksServer(**options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(name="jwks_server")
def jwks_server_fixture(jwks_servers: Callable[..., JwksServer]) -> JwksServer:
    return jwks_servers()


# --- Providers and the endpoint ---------------------------------------------------------------

_provider_names = itertools.count(1)


def provider_register(
    *,
    tenant: Tenant,
    issuer: str,
    audiences: Sequence[str] = (AUDIENCE,),
    flavor: str = ProviderFlavor.GENERIC,
    **fields: Any,
) -> IdentityProvider:
    """Register (validate and save) a provider the way the admin and ``idp_add`` do, and make
    the request path see it at once."""
    provider = IdentityProvider(
        tenant=tenant,
        name=fields.pop("name", f"provider-{next(_provider_names)}"),
        issuer=issuer,
        audiences=list(audiences),
        flavor=flavor,
        **fields,
    )
    provider_save(provider=provider)
    providers_clear_cache()
    return provider


def provider_of(
    server: JwksServer, *, tenant: Tenant, via_discovery: bool = False, **fields: Any
) -> IdentityProvider:
    """The provider a tenant registers for ``server``: its issuer and its JWKS URI (or its
    discovery URL)."""
    source = (
        {"discovery_url": server.discovery_url} if via_discovery else {"jwks_uri": server.jwks_uri}
    )
    fields.setdefault("algorithms", [server.signing_key.algorithm])
    return provider_register(tenant=tenant, issuer=server.issuer, **source, **fields)


def context_get(api: APIClient, token: str, auth_key: str | None) -> Any:
    """GET the customer context with a bearer (and the storefront's X-Auth-Key, if given)."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if auth_key is not None:
        headers["HTTP_X_AUTH_KEY"] = auth_key
    return api.get(CONTEXT_URL, **headers)


def assert_customer_context(response: Any) -> str:
    """A 200 with a customer's context; the customer id."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"isAnonymous", "customerContext", "customerId"}
    assert body["isAnonymous"] is False
    assert isinstance(body["customerContext"], str) and body["customerContext"]
    assert response["Cache-Control"] == "no-store"
    return str(body["customerId"])


def assert_problem_code(response: Any, code: ErrorCode) -> None:
    """The problem document of ``code``; a 401 also asks for a bearer."""
    assert response.status_code == code.status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code.number, body
    assert body["type"] == code.type_uri
    assert body["status"] == code.status
    if code.status == 401:
        assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    else:
        assert "WWW-Authenticate" not in response
