"""External identity providers: which ones a tenant trusts, their keys, and their tokens.

Provider settings are read from the database into a process-wide registry (reloaded every
``RELOAD_SECONDS``), so checking a provider's token needs no query. Keys come only from the
provider's configured source, never from the token (``jku``, ``x5u``, ``jwk`` and ``x5c`` are
ignored; a ``kid`` is only a dictionary key within one provider):

- a static public key (PEM), parsed once;
- a JWKS URI, or one found through OIDC discovery (whose ``issuer`` must equal the configured
  one). The key set is fetched within a short deadline, parsed into PyJWT's ``PyJWK`` keys,
  kept in the process and in the shared cache, and fetched again for an unknown ``kid`` at most
  once per ``JWKS_COOLDOWN_SECONDS`` across all processes (a process first looks for the key in
  what another one fetched). A provider that is down, slow or answering
  garbage leaves the cached keys in use; with none cached the caller gets a 503, never a hang.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import ipaddress
import json
import logging
import re
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from identity.credentials.jws import ParsedToken, jws_header_check, jws_parse, jws_verify
from identity.credentials.revocation import (
    provider_revocation_key,
    revocation_add,
    revocation_remove,
)
from identity.models import PROVIDER_ALGORITHMS, IdentityProvider, ProviderFlavor

# Named as before the module moved: operators filter on it (docs/identity-providers.md).
logger = logging.getLogger("identity.providers")

RELOAD_SECONDS = 30.0
# How long a fetched key set is used before it is fetched again (so that a key the provider
# withdrew stops verifying); a failed refetch keeps the keys in use.
JWKS_CACHE_SECONDS = 600
JWKS_FAILURE_BACKOFF_SECONDS = 5
MAX_SUBJECT_LENGTH = 255
# A JWKS or discovery document is a few kilobytes; anything much larger is not one.
MAX_DOCUMENT_BYTES = 512 * 1024

# Entra ID (login.microsoftonline.com) and Entra External ID (<tenant>.ciamlogin.com) v2 issuers.
_ENTRA_ISSUER = re.compile(
    r"^https://(login\.microsoftonline\.com|[a-z0-9-]+\.ciamlogin\.com)"
    r"/(?P<tid>[0-9a-f-]{36})/v2\.0$",
    re.IGNORECASE,
)
_DEFAULT_SUBJECT_CLAIM: dict[str, str] = {
    ProviderFlavor.ENTRA_ID.value: "oid",
    ProviderFlavor.OKTA.value: "uid",
}
# Claims only ID tokens carry (OpenID Connect Core 2 and 3.1.3.6).
_ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")


class ProviderTokenRejected(Exception):
    """The token is not a valid access token of this provider (a 401)."""

    def __init__(self, reason: str, *, id_token: bool = False, expired: bool = False) -> None:
        super().__init__(reason)
        self.id_token = id_token
        self.expired = expired


class ProviderUnavailable(Exception):
    """No keys of the provider could be had, fetched or cached (a 503)."""


# --- Settings ---------------------------------------------------------------------------------


def is_loopback_url(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def provider_url_check(url: str, field_name: str) -> None:
    """Provider URLs are https, except on loopback hosts (development and tests)."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme == "https" or (scheme == "http" and is_loopback_url(url)):
        return
    raise ValidationError({field_name: "Must be an https URL (http only on a loopback host)."})


def provider_settings_check(provider: IdentityProvider) -> None:
    """Everything ``full_clean`` cannot see: one key source, asymmetric algorithms, audiences."""
    sources = [bool(provider.discovery_url), bool(provider.jwks_uri), bool(provider.public_key_pem)]
    if sum(sources) != 1:
        raise ValidationError(
            "Give exactly one key source: a discovery URL, a JWKS URI or a public key (PEM)."
        )
    for field_name in ("discovery_url", "jwks_uri"):
        url = getattr(provider, field_name)
        if url:
            provider_url_check(url, field_name)
    if provider.public_key_pem:
        try:
            serialization.load_pem_public_key(provider.public_key_pem.encode())
        except (ValueError, TypeError):
            raise ValidationError({"public_key_pem": "Not a PEM public key."}) from None
    algorithms = provider.algorithms
    if (
        not isinstance(algorithms, list)
        or not algorithms
        or any(algorithm not in PROVIDER_ALGORITHMS for algorithm in algorithms)
    ):
        raise ValidationError(
            {"algorithms": f"Choose from {', '.join(PROVIDER_ALGORITHMS)} (asymmetric only)."}
        )
    audiences = provider.audiences
    if (
        not isinstance(audiences, list)
        or not audiences
        or not all(isinstance(audience, str) and audience for audience in audiences)
    ):
        raise ValidationError({"audiences": "Give at least one accepted audience."})
    if provider.flavor == ProviderFlavor.ENTRA_ID and not _ENTRA_ISSUER.match(provider.issuer):
        example = (
            "https://login.microsoftonline.com/<directory id>/v2.0 "
            "(or https://<tenant>.ciamlogin.com/<directory id>/v2.0)"
        )
        raise ValidationError({"issuer": f"Entra ID v2 issuers look like {example}."})


# The algorithm a JWK without ``alg`` is used with, by its key type (and curve).
_ALGORITHM_OF_KEY_TYPE: dict[tuple[Any, Any], str] = {
    ("RSA", None): "RS256",
    ("EC", "P-256"): "ES256",
    ("EC", "P-384"): "ES384",
    ("OKP", "Ed25519"): "EdDSA",
}


def _allowed(advertised: Any) -> list[str]:
    """The advertised names we accept, in the allow-list's order (only strings count)."""
    names = {name for name in advertised if isinstance(name, str)}
    return [algorithm for algorithm in PROVIDER_ALGORITHMS if algorithm in names]


def _jwks_algorithms(document: Any) -> set[str]:
    """The algorithms of a JWKS's signing keys: each key's ``alg``, else its key type's."""
    entries = document.get("keys") if isinstance(document, dict) else None
    found: set[str] = set()
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("use") not in (None, "sig"):
            continue
        algorithm = entry.get("alg")
        if algorithm is None:
            curve = entry.get("crv") if entry.get("kty") != "RSA" else None
            algorithm = _ALGORITHM_OF_KEY_TYPE.get((entry.get("kty"), curve))
        if isinstance(algorithm, str):
            found.add(algorithm)
    return found


def _public_key_algorithms(public_key_pem: str) -> set[str]:
    """The algorithm of a PEM public key's type; none for what is not one (the settings check
    then says so)."""
    try:
        public_key = serialization.load_pem_public_key(public_key_pem.encode())
    except (ValueError, TypeError):
        return set()
    if isinstance(public_key, rsa.RSAPublicKey):
        return {"RS256"}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {{"secp256r1": "ES256", "secp384r1": "ES384"}.get(public_key.curve.name, "")}
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return {"EdDSA"}
    return set()


def provider_algorithms_advertised(provider: IdentityProvider) -> list[str]:
    """The asymmetric algorithms a provider says it signs with, intersected with
    ``PROVIDER_ALGORITHMS``: its discovery document's ``id_token_signing_alg_values_supported``
    and the ``alg`` of its JWKS keys (a key without one: its key type's), or its public key's
    type. A ``ValidationError`` on ``algorithms`` when it cannot be read or names none of ours.
    """
    advertised: set[Any] = set()
    try:
        if provider.public_key_pem:
            advertised = _public_key_algorithms(provider.public_key_pem)
        else:
            jwks_uri = provider.jwks_uri
            if provider.discovery_url:
                document = _fetch_json(provider.discovery_url)
                if not isinstance(document, dict) or document.get("issuer") != provider.issuer:
                    raise ProviderUnavailable("the discovery document names another issuer")
                supported = document.get("id_token_signing_alg_values_supported")
                advertised |= set(supported) if isinstance(supported, list) else set()
                discovered = document.get("jwks_uri")
                if not isinstance(discovered, str) or not discovered_jwks_uri_allowed(
                    discovered, discovery_url=provider.discovery_url
                ):
                    raise ProviderUnavailable("the discovery document has no https jwks_uri")
                jwks_uri = discovered
            advertised |= _jwks_algorithms(_fetch_json(jwks_uri))
    except (ProviderUnavailable, ValueError, TypeError) as error:
        raise ValidationError(
            {"algorithms": f"Could not read the provider's algorithms ({error}); name them."}
        ) from None
    allowed = _allowed(advertised)
    if not allowed:
        shown = ", ".join(sorted(str(name) for name in advertised)) or "none"
        raise ValidationError(
            {
                "algorithms": f"The provider advertises no algorithm we accept (it names: "
                f"{shown}; we accept {', '.join(PROVIDER_ALGORITHMS)})."
            }
        )
    return allowed


def provider_settings_complete(provider: IdentityProvider) -> None:
    """Fill in what the operator left to the provider: without algorithms, the advertised ones
    (``provider_algorithms_advertised``). Needs one key source; the checks come after."""
    sources = [provider.discovery_url, provider.jwks_uri, provider.public_key_pem]
    if provider.algorithms or sum(map(bool, sources)) != 1:
        return
    for field_name in ("discovery_url", "jwks_uri"):
        if getattr(provider, field_name):
            provider_url_check(getattr(provider, field_name), field_name)
    if provider.public_key_pem and not _public_key_algorithms(provider.public_key_pem):
        return  # not a key we read: provider_settings_check names the problem
    provider.algorithms = provider_algorithms_advertised(provider)


def provider_set_enabled(*, provider: IdentityProvider, is_enabled: bool) -> IdentityProvider:
    """Enable a provider (its settings are validated first) or disable it.

    Disabling is the kill switch: it ends the provider's customers' sessions at once and needs
    no valid settings, so that a provider whose stored settings fail today's checks can still
    be switched off.
    """
    if is_enabled:
        provider.is_enabled = True
        return provider_save(provider=provider)
    with transaction.atomic():
        IdentityProvider.objects.filter(pk=provider.pk).update(
            is_enabled=False, updated_at=timezone.now()
        )
        revocation_add(
            key=provider_revocation_key(str(provider.public_id)),
            reason="identity provider disabled",
        )
    transaction.on_commit(providers_clear_cache)
    provider.is_enabled = False
    return provider


def provider_save(*, provider: IdentityProvider) -> IdentityProvider:
    """Validate and save a provider; disabling it ends its customers' sessions at once.

    Without algorithms, the provider's advertised ones are chosen first
    (``provider_settings_complete``)."""
    provider.full_clean()
    provider_settings_complete(provider)
    provider_settings_check(provider)
    with transaction.atomic():
        provider.save()
        key = provider_revocation_key(str(provider.public_id))
        if provider.is_enabled:
            revocation_remove(key=key)
        else:
            revocation_add(key=key, reason="identity provider disabled")
    transaction.on_commit(providers_clear_cache)
    return provider


# --- The registry -----------------------------------------------------------------------------


@dataclass
class ProviderConfig:
    """A provider as the request path sees it: settings parsed once, keys kept here."""

    id: int
    public_id: str
    tenant_id: int
    name: str
    flavor: str
    issuer: str
    audiences: tuple[str, ...]
    algorithms: tuple[str, ...]
    subject_claim: str
    leeway_seconds: int
    refuses_id_tokens: bool
    discovery_url: str
    jwks_uri: str
    static_key: Any = None
    jwks: dict[str, Any] = field(default_factory=dict)  # kid -> PyJWK, fetched keys
    jwks_loaded: bool = False
    jwks_loaded_at: float = 0.0
    jwks_document: Any = None  # the document ``jwks`` was parsed from
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_row(cls, row: IdentityProvider) -> ProviderConfig:
        static_key = None
        if row.public_key_pem:
            static_key = serialization.load_pem_public_key(row.public_key_pem.encode())
        return cls(
            id=row.pk,
            public_id=str(row.public_id),
            tenant_id=row.tenant_id,
            name=row.name,
            flavor=row.flavor,
            issuer=row.issuer,
            audiences=tuple(row.audiences),
            algorithms=tuple(row.algorithms),
            subject_claim=row.subject_claim or _DEFAULT_SUBJECT_CLAIM.get(row.flavor, "sub"),
            leeway_seconds=min(row.leeway_seconds, 60),
            refuses_id_tokens=row.refuse_id_tokens,
            discovery_url=row.discovery_url,
            jwks_uri=row.jwks_uri,
            static_key=static_key,
        )


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_issuer: dict[str, list[ProviderConfig]] = {}
        self._loaded_at = -RELOAD_SECONDS

    def by_issuer(self, issuer: str) -> list[ProviderConfig]:
        if time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            self._reload()
        return self._by_issuer.get(issuer, [])

    def clear(self) -> None:
        with self._lock:
            self._by_issuer = {}
            self._loaded_at = -RELOAD_SECONDS

    def _reload(self) -> None:
        with self._lock:
            previous = {
                config.id: config for configs in self._by_issuer.values() for config in configs
            }
            by_issuer: dict[str, list[ProviderConfig]] = {}
            rows = IdentityProvider.objects.filter(is_enabled=True, tenant__is_active=True)
            for row in rows:
                try:
                    config = ProviderConfig.from_row(row)
                except (ValueError, TypeError):
                    continue  # an unreadable PEM disables that provider, not the others
                kept = previous.get(row.pk)
                if kept is not None and _same_source(kept, config):
                    config.jwks, config.jwks_loaded = kept.jwks, kept.jwks_loaded
                    config.jwks_loaded_at = kept.jwks_loaded_at
                    config.jwks_document = kept.jwks_document
                by_issuer.setdefault(config.issuer, []).append(config)
            self._by_issuer = by_issuer
            self._loaded_at = time.monotonic()


def _same_source(old: ProviderConfig, new: ProviderConfig) -> bool:
    return (old.discovery_url, old.jwks_uri) == (new.discovery_url, new.jwks_uri)


_registry = _Registry()


def providers_clear_cache() -> None:
    _registry.clear()


def provider_for_issuer(*, issuer: str, tenant_id: int | None) -> ProviderConfig | None:
    """The enabled provider with exactly this issuer: of ``tenant_id``, or, without a tenant,
    the only one across tenants. Raises ``AmbiguousIssuer`` when several tenants trust it."""
    candidates = _registry.by_issuer(issuer)
    if tenant_id is not None:
        candidates = [config for config in candidates if config.tenant_id == tenant_id]
    if len(candidates) > 1:
        raise AmbiguousIssuer(issuer)
    return candidates[0] if candidates else None


class AmbiguousIssuer(Exception):
    pass


# --- Keys -------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A provider's URLs are configured and vetted; a redirect elsewhere is a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _fetch_json(url: str) -> Any:
    """GET a JSON document from a provider; any failure is ``ProviderUnavailable``.

    The timeout bounds each socket operation only, so the body is read against a deadline as
    well: a provider trickling its body a byte at a time releases its caller within twice
    ``PROVIDER_HTTP_TIMEOUT_SECONDS``. A document over ``MAX_DOCUMENT_BYTES`` is refused, and
    so is JSON nested too deeply to parse, and a redirect.
    """
    timeout = settings.PROVIDER_HTTP_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    # Only http(s) URLs get here: provider_url_check vetted each of them.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    body = bytearray()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            while chunk := response.read1(64 * 1024):
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise ValueError(f"more than {MAX_DOCUMENT_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise TimeoutError("the answer is too slow")
        return json.loads(body)
    except (OSError, ValueError, RecursionError, http.client.HTTPException) as error:
        logger.warning("identity provider request failed: %s: %s", url, error)
        raise ProviderUnavailable(f"fetching {url} failed: {error}") from None


def _jwks_uri(config: ProviderConfig) -> str:
    if config.jwks_uri:
        return config.jwks_uri
    cache_key = f"oidc-discovery:{config.id}:{config.discovery_url}"
    jwks_uri = cache.get(cache_key)
    if jwks_uri is None:
        document = _fetch_json(config.discovery_url)
        if not isinstance(document, dict) or document.get("issuer") != config.issuer:
            raise ProviderUnavailable("discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ProviderUnavailable("discovery document has no jwks_uri")
        if not discovered_jwks_uri_allowed(jwks_uri, discovery_url=config.discovery_url):
            raise ProviderUnavailable("discovery names a jwks_uri that is not https")
        cache.set(cache_key, jwks_uri, JWKS_CACHE_SECONDS)
    return str(jwks_uri)


def discovered_jwks_uri_allowed(jwks_uri: str, *, discovery_url: str) -> bool:
    """https, or plain http on loopback only when the discovery URL itself is on loopback (a
    development provider): a remote document must not point us at our own host."""
    scheme = urllib.parse.urlsplit(jwks_uri).scheme
    return scheme == "https" or (
        scheme == "http" and is_loopback_url(jwks_uri) and is_loopback_url(discovery_url)
    )


def _parse_jwks(document: Any) -> dict[str, Any]:
    """The asymmetric signing keys of a JWKS by ``kid``. Entries that are not one, or cannot
    be read, are skipped; a document without any is ``ProviderUnavailable``, so that it never
    replaces keys in use."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ProviderUnavailable("JWKS has no list of keys")
    keys: dict[str, Any] = {}
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or entry.get("use") not in (None, "sig")
            or entry.get("kty") == "oct"
            or not isinstance(entry.get("kid"), str)
            or not entry["kid"]
        ):
            continue
        try:
            keys[entry["kid"]] = jwt.PyJWK(entry)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
            continue  # one unreadable key does not hide the others
    if not keys:
        raise ProviderUnavailable("JWKS has no usable signing keys")
    return keys


def _source_cache_key(prefix: str, config: ProviderConfig) -> str:
    """A cache key for what came from the provider's current key source: a provider moved to
    another JWKS or discovery URL never gets the old source's keys or failures."""
    source = f"{config.discovery_url}\n{config.jwks_uri}".encode()
    return f"{prefix}:{config.id}:{hashlib.sha256(source).hexdigest()[:16]}"


def _jwks_cache_key(config: ProviderConfig) -> str:
    return _source_cache_key("jwks", config)


def _use_jwks(config: ProviderConfig, document: Any) -> None:
    config.jwks, config.jwks_document = _parse_jwks(document), document
    config.jwks_loaded, config.jwks_loaded_at = True, time.monotonic()


def _refresh_jwks(config: ProviderConfig) -> None:
    document = _fetch_json(_jwks_uri(config))
    try:
        _use_jwks(config, document)
    except ProviderUnavailable:
        logger.warning("identity provider %s answered an unusable JWKS", config.name)
        raise
    cache.set(_jwks_cache_key(config), document, JWKS_CACHE_SECONDS)


def _adopt_shared_jwks(config: ProviderConfig) -> None:
    """Take the keys another process fetched since (it saw a rotation first): one cache read,
    parsed only when the document differs from the one in use."""
    document = cache.get(_jwks_cache_key(config))
    if document is not None and document != config.jwks_document:
        with contextlib.suppress(ProviderUnavailable):
            _use_jwks(config, document)


def _renew_jwks(config: ProviderConfig) -> None:
    """The process's keys are old: take the shared cache's, else fetch; on failure keep them."""
    config.jwks_loaded_at = time.monotonic()  # whatever happens, not again before the next age
    document = cache.get(_jwks_cache_key(config))
    if document is not None:
        with contextlib.suppress(ProviderUnavailable):
            _use_jwks(config, document)
            return
    if _take_refresh_turn(config):
        with contextlib.suppress(ProviderUnavailable):
            _refresh_jwks(config)


def _load_jwks(config: ProviderConfig) -> None:
    """First use in this process: the shared cache, else the provider.

    After a failed fetch, callers get ``ProviderUnavailable`` at once for
    ``JWKS_FAILURE_BACKOFF_SECONDS`` instead of each waiting for the timeout again.
    """
    document = cache.get(_jwks_cache_key(config))
    if document is not None:
        try:
            _use_jwks(config, document)
            return
        except ProviderUnavailable:
            pass
    failure_key = _source_cache_key("jwks-failed", config)
    if cache.get(failure_key):
        raise ProviderUnavailable("the provider failed recently")
    try:
        _refresh_jwks(config)
    except ProviderUnavailable:
        cache.set(failure_key, 1, JWKS_FAILURE_BACKOFF_SECONDS)
        raise


def _take_refresh_turn(config: ProviderConfig) -> bool:
    """At most one fetch per cool-down per provider, across every process sharing the cache."""
    return bool(cache.add(f"jwks-cooldown:{config.id}", 1, settings.JWKS_COOLDOWN_SECONDS))


def provider_key(config: ProviderConfig, *, kid: Any, algorithm: str) -> Any:
    """The verification key for a token of ``config`` with this header ``kid`` and ``alg``."""
    if config.static_key is not None:
        return config.static_key
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise ProviderTokenRejected("no usable kid")
    with config.lock:
        if not config.jwks_loaded:
            _load_jwks(config)
        elif time.monotonic() - config.jwks_loaded_at > JWKS_CACHE_SECONDS:
            _renew_jwks(config)
        key = config.jwks.get(kid)
        if key is None:
            _adopt_shared_jwks(config)
            key = config.jwks.get(kid)
        if key is None and _take_refresh_turn(config):
            with contextlib.suppress(ProviderUnavailable):  # the cached keys stay in use
                _refresh_jwks(config)
            key = config.jwks.get(kid)
    if key is None:
        raise ProviderTokenRejected("unknown kid")
    declared = key._jwk_data.get("alg")
    if declared is not None and declared != algorithm:
        raise ProviderTokenRejected("key is for another algorithm")
    return key.key


# --- Tokens -----------------------------------------------------------------------------------


def _loggable(value: Any) -> str:
    """A value from an unverified token, fit for a log line: quoted, escaped, at most 80
    characters."""
    return repr(str(value)[:80])


def provider_token_refused(
    token: ParsedToken, *, reason: str, provider: ProviderConfig | None = None
) -> None:
    """Log why a token that is not ours was refused: the provider (or the issuer no provider
    has), the reason, the header's ``alg`` and ``kid``; never the token."""
    header = token.header if isinstance(token.header, dict) else {}
    issuer = token.payload.get("iss")
    logger.warning(
        "refused a token of identity provider %s (issuer %s): %s; alg %s, kid %s",
        provider.name if provider is not None else "(none)",
        _loggable(issuer),
        reason,
        _loggable(header.get("alg")),
        _loggable(header.get("kid")),
        extra={
            "provider": provider.public_id if provider is not None else "",
            "tenant_id": provider.tenant_id if provider is not None else None,
            "refusal": reason,
        },
    )


@dataclass(frozen=True)
class ProviderIdentity:
    """A verified access token of a provider: who it names and until when."""

    provider: ProviderConfig
    subject: str
    claims: dict[str, Any]
    expires_at: int


def provider_token_verify(config: ProviderConfig, token: str | ParsedToken) -> ProviderIdentity:
    """Verify a provider's access token: signature with the provider's own key, the provider's
    algorithms only, exact issuer, audience, expiry, ``nbf``/``iat``, and the flavor's rules.

    ``token``: the token as parsed once on the bearer path, or its raw text."""
    try:
        parsed = token if isinstance(token, ParsedToken) else jws_parse(token)
        header = jws_header_check(parsed)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise ProviderTokenRejected("malformed header") from None
    algorithm = header.get("alg")
    if algorithm not in config.algorithms:
        raise ProviderTokenRejected("algorithm not allowed for this provider")
    if "crit" in header:
        raise ProviderTokenRejected("crit header not supported")
    key = provider_key(config, kid=header.get("kid"), algorithm=algorithm)
    checks_audience = config.flavor != ProviderFlavor.COGNITO
    required = ["exp", "iat", "iss", config.subject_claim]
    try:
        claims = jws_verify(
            parsed,
            key,
            algorithm=algorithm,
            issuer=config.issuer,
            audience=list(config.audiences) if checks_audience else None,
            leeway=config.leeway_seconds,
            options={
                "require": [*required, "aud"] if checks_audience else required,
                "verify_aud": checks_audience,
            },
        )
    except jwt.ExpiredSignatureError:
        raise ProviderTokenRejected("expired", expired=True) from None
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as error:
        raise ProviderTokenRejected(str(error)) from None
    if config.refuses_id_tokens and _looks_like_id_token(config, header, claims):
        raise ProviderTokenRejected("ID token", id_token=True)
    _flavor_check(config, claims)
    return ProviderIdentity(
        provider=config,
        subject=_subject(config, claims),
        claims=claims,
        expires_at=int(claims["exp"]),
    )


def _looks_like_id_token(
    config: ProviderConfig, header: dict[str, Any], claims: dict[str, Any]
) -> bool:
    if config.flavor == ProviderFlavor.KEYCLOAK:
        # Keycloak says it in ``typ``; before version 25 its access tokens carried ``nonce`` too.
        return claims.get("typ") not in (None, "Bearer")
    return (
        claims.get("token_use") == "id"
        or claims.get("typ") == "ID"
        or any(name in claims for name in _ID_TOKEN_CLAIMS)
        or str(header.get("typ", "")).lower() in ("id_token+jwt", "id+jwt")
    )


def _flavor_check(config: ProviderConfig, claims: dict[str, Any]) -> None:
    if config.flavor == ProviderFlavor.COGNITO:
        if claims.get("token_use") != "access":
            raise ProviderTokenRejected("not a Cognito access token", id_token=True)
        if claims.get("client_id") not in config.audiences:
            raise ProviderTokenRejected("Cognito client_id not accepted")
    elif config.flavor == ProviderFlavor.ENTRA_ID:
        match = _ENTRA_ISSUER.match(config.issuer)
        if match is None or str(claims.get("tid", "")).lower() != match["tid"].lower():
            raise ProviderTokenRejected("tid does not match the issuer's directory")
        if "scp" not in claims and "roles" not in claims:
            # Entra access tokens carry delegated scopes or app roles; ID tokens neither (and
            # not always a nonce), and their audience may be the same client id.
            raise ProviderTokenRejected("an Entra ID token, not an access token", id_token=True)
    elif config.flavor == ProviderFlavor.KEYCLOAK:
        if claims.get("typ", "Bearer") != "Bearer":
            raise ProviderTokenRejected("not a Keycloak access token", id_token=True)


def _subject(config: ProviderConfig, claims: dict[str, Any]) -> str:
    subject = claims.get(config.subject_claim)
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise ProviderTokenRejected("subject claim missing or malformed")
    if config.flavor == ProviderFlavor.ENTRA_ID:
        # An object id is unique within its directory only.
        return f"{claims['tid']}:{subject}"
    return subject
