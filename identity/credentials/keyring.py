"""The signing keyring: every token we mint names its key by ``kid``.

Keys live in the database (``SigningKey``) so that every API process shares them, and are parsed
once into a process-wide ``Keyring`` that is reloaded every ``RELOAD_SECONDS`` and, when a token
names a ``kid`` this process has not seen (a key rotated in by another process), at most once
per ``UNKNOWN_KID_COOLDOWN_SECONDS``. Verifying a token therefore needs no query.

A ``kid`` is only a dictionary key: it must match ``KID_FORMAT`` and is never used as a path,
a URL or in SQL.

Each purpose has its algorithms (``PURPOSE_ALGORITHMS``): the token service's access tokens,
which third parties verify with the published public keys, are signed asymmetrically
(``TOKEN_SIGNING_ALGORITHM``, ES256 by default); anonymous tokens, customer contexts and
partners' reseller tokens, which only the API verifies, with HS256. Key material is stored
encrypted (identity.credentials.encryption) and decrypted and parsed once per process.
"""

from __future__ import annotations

import base64
import functools
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from identity.credentials.encryption import secret_decrypt, secret_encrypt
from identity.models import (
    ACCESS_TOKEN_MAX_SECONDS,
    ANONYMOUS_TOKEN_DEFAULT_SECONDS,
    SigningKey,
    SigningKeyPurpose,
    StorefrontApp,
)

RELOAD_SECONDS = 30.0
UNKNOWN_KID_COOLDOWN_SECONDS = 5.0
KID_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SUPPORTED_ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
ASYMMETRIC_ALGORITHMS = ("ES256", "RS256", "EdDSA")
PURPOSE_ALGORITHMS: dict[str, tuple[str, ...]] = {
    SigningKeyPurpose.ACCESS: ASYMMETRIC_ALGORITHMS,
    SigningKeyPurpose.ANONYMOUS: ("HS256",),
    SigningKeyPurpose.CONTEXT: ("HS256",),
    SigningKeyPurpose.RESELLER: ("HS256",),
}


class KeyringEmpty(Exception):
    """No active signing key exists for a purpose (the migrations create the first ones)."""


@dataclass(frozen=True)
class KeyringKey:
    kid: str
    purpose: str
    algorithm: str
    signing_key: Any
    verifying_key: Any
    is_active: bool
    # Epoch seconds after which the key verifies nothing (None: no end yet).
    verify_until: float | None = None


@functools.lru_cache(maxsize=256)
def _key_material(kid: str, algorithm_name: str, encrypted_secret: str) -> tuple[Any, Any]:
    """The signing and verifying key of a stored key: decrypted and parsed once per process."""
    algorithm = jwt.get_algorithm_by_name(algorithm_name)
    material = secret_decrypt(encrypted_secret)
    if algorithm_name.startswith("HS"):
        secret = base64.urlsafe_b64decode(material.encode() + b"==")
        key = algorithm.prepare_key(secret)
        return key, key
    private_key = serialization.load_pem_private_key(material.encode(), password=None)
    return private_key, private_key.public_key()


def _prepare(row: SigningKey) -> KeyringKey:
    signing_key, verifying_key = _key_material(row.kid, row.algorithm, row.encrypted_secret)
    return KeyringKey(
        kid=row.kid,
        purpose=row.purpose,
        algorithm=row.algorithm,
        signing_key=signing_key,
        verifying_key=verifying_key,
        is_active=row.is_active,
        verify_until=row.verify_until.timestamp() if row.verify_until else None,
    )


class Keyring:
    def __init__(self, keys: list[KeyringKey]) -> None:
        self._by_kid = {key.kid: key for key in keys}
        self._active = {key.purpose: key for key in keys if key.is_active}

    def active(self, purpose: str) -> KeyringKey:
        try:
            return self._active[purpose]
        except KeyError:
            raise KeyringEmpty(f"no active signing key for {purpose!r}") from None

    def verifying_keys(self) -> list[KeyringKey]:
        """Every key that verifies tokens now, of every purpose."""
        now = time.time()
        return [
            key
            for key in self._by_kid.values()
            if key.verify_until is None or key.verify_until >= now
        ]

    def verifying(self, kid: str, purpose: str) -> KeyringKey | None:
        key = self._by_kid.get(kid)
        if key is None or key.purpose != purpose:
            return None
        if key.verify_until is not None and key.verify_until < time.time():
            return None
        return key


class _KeyringCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keyring: Keyring | None = None
        self._loaded_at = 0.0
        self._last_unknown_kid_reload = 0.0

    def get(self) -> Keyring:
        keyring = self._keyring
        if keyring is None or time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            return self._reload()
        return keyring

    def get_for_unknown_kid(self) -> Keyring:
        """Reload at most once per cool-down, however many unknown kids arrive."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_unknown_kid_reload < UNKNOWN_KID_COOLDOWN_SECONDS:
                return self._keyring or self._load_locked()
            self._last_unknown_kid_reload = now
            return self._load_locked()

    def clear(self) -> None:
        with self._lock:
            self._keyring = None

    def _reload(self) -> Keyring:
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> Keyring:
        now = timezone.now()
        rows = SigningKey.objects.exclude(verify_until__lt=now).order_by("created_at")
        keyring = Keyring([_prepare(row) for row in rows])
        self._keyring = keyring
        self._loaded_at = time.monotonic()
        return keyring


_cache = _KeyringCache()


def keyring_get() -> Keyring:
    return _cache.get()


def keyring_verifying_key(kid: str, purpose: str) -> KeyringKey | None:
    if not KID_FORMAT.fullmatch(kid):
        return None
    key = _cache.get().verifying(kid, purpose)
    if key is None:
        key = _cache.get_for_unknown_kid().verifying(kid, purpose)
    return key


def keyring_clear_cache() -> None:
    _cache.clear()
    _key_material.cache_clear()


def signing_key_material(algorithm: str) -> str:
    """A new secret for ``algorithm``: base64url random bytes for HMAC, else a PEM private key."""
    if algorithm == "HS256":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if algorithm == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"unsupported signing algorithm {algorithm!r}; use {SUPPORTED_ALGORITHMS}")
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def purpose_algorithm(purpose: str, algorithm: str | None = None) -> str:
    """The algorithm of a new key for ``purpose``: ``algorithm`` if the purpose allows it;
    without one, ``TOKEN_SIGNING_ALGORITHM`` for access tokens and HS256 for the others."""
    if purpose not in PURPOSE_ALGORITHMS:
        raise ValueError(f"unknown purpose {purpose!r}; use one of {SigningKeyPurpose.values}")
    allowed = PURPOSE_ALGORITHMS[purpose]
    if algorithm is None:
        algorithm = (
            settings.TOKEN_SIGNING_ALGORITHM if purpose == SigningKeyPurpose.ACCESS else "HS256"
        )
    if algorithm not in allowed:
        raise ValueError(f"{purpose} keys are {' or '.join(allowed)}, not {algorithm!r}")
    return algorithm


def signing_key_create(*, purpose: str, algorithm: str | None = None) -> SigningKey:
    """A new active key for ``purpose``; the caller retires the previous one first."""
    algorithm = purpose_algorithm(purpose, algorithm)
    return SigningKey.objects.create(
        kid=secrets.token_urlsafe(12),
        purpose=purpose,
        algorithm=algorithm,
        encrypted_secret=secret_encrypt(signing_key_material(algorithm)),
        is_active=True,
    )


def longest_token_life(purpose: str) -> timedelta:
    """How long after its retirement a key may still have to verify a token it signed."""
    if purpose == SigningKeyPurpose.CONTEXT:
        return timedelta(seconds=settings.CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS)
    if purpose in (SigningKeyPurpose.ACCESS, SigningKeyPurpose.RESELLER):
        return timedelta(seconds=ACCESS_TOKEN_MAX_SECONDS)
    longest_anonymous = max(
        StorefrontApp.objects.order_by("-anonymous_token_lifetime_seconds").values_list(
            "anonymous_token_lifetime_seconds", flat=True
        )[:1]
        or [ANONYMOUS_TOKEN_DEFAULT_SECONDS]
    )
    return timedelta(seconds=longest_anonymous + settings.ANONYMOUS_RENEWAL_WINDOW_SECONDS)


def signing_key_rotate(*, purpose: str, algorithm: str | None = None) -> SigningKey:
    """Make a new key the signer for ``purpose``; the old one keeps verifying its tokens.

    No downtime: tokens signed by the old key verify until ``verify_until``; processes that
    have not reloaded yet learn the new ``kid`` the first time they see it.
    """
    purpose_algorithm(purpose, algorithm)  # refuses an unknown purpose or algorithm first
    now: datetime = timezone.now()
    with transaction.atomic():
        retiring = list(
            SigningKey.objects.select_for_update().filter(purpose=purpose, is_active=True)
        )
        verify_until = now + longest_token_life(purpose)
        SigningKey.objects.filter(pk__in=[key.pk for key in retiring]).update(
            is_active=False, verify_until=verify_until
        )
        new_key = signing_key_create(purpose=purpose, algorithm=algorithm)
    keyring_clear_cache()
    return new_key
