"""Secrets the API must hold in a usable form, encrypted at rest.

Signing keys (the keyring) and third-party apps' signing secrets cannot be stored as hashes:
the API signs with them. They are stored as Fernet tokens (AES-128-CBC with HMAC-SHA256,
``cryptography``'s Fernet) under the keys of ``SECRETS_ENCRYPTION_KEYS``, a ``MultiFernet``:
the first key encrypts, every key decrypts, so a new key is put first, ``secrets_reencrypt``
rewrites every stored secret under it, and then the old key can go.

Decrypting is memoised by ciphertext, so each stored secret is decrypted once per process. A
ciphertext that no configured key opens is ``SecretUndecryptable``, never a wrong plaintext.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction

from identity.models import OAuthClientSecret, SigningKey

KEYS_SETTING = "SECRETS_ENCRYPTION_KEYS"
# Where encrypted secrets are stored: what they are, model and field.
_ENCRYPTED_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("signing keys", SigningKey, "encrypted_secret"),
    ("third-party app secrets", OAuthClientSecret, "encrypted_signing_secret"),
)


class SecretUndecryptable(Exception):
    """A stored secret that none of the configured encryption keys opens."""


@functools.cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.SECRETS_ENCRYPTION_KEYS])


def secret_encrypt(plaintext: str) -> str:
    """``plaintext`` encrypted under the first configured key (a Fernet token, ASCII)."""
    return _fernet().encrypt(plaintext.encode()).decode()


@functools.lru_cache(maxsize=4096)
def _decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUndecryptable(
            f"a stored secret cannot be decrypted with any key of {KEYS_SETTING}: the secret "
            f"was encrypted with a key that is not configured (or the row was altered); put "
            f"the key it was encrypted with back into {KEYS_SETTING}"
        ) from None


def secret_decrypt(ciphertext: str) -> str:
    """The plaintext of a stored secret (once per process); ``SecretUndecryptable`` else."""
    return _decrypt(ciphertext)


def secret_reencrypt(ciphertext: str) -> str:
    """The same secret encrypted under the first configured key (``MultiFernet.rotate``)."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        _decrypt(ciphertext)  # raises SecretUndecryptable with the explanation
        raise


def encryption_clear_cache() -> None:
    """Forget the keys and the decrypted secrets (after the keys setting changed)."""
    _fernet.cache_clear()
    _decrypt.cache_clear()


def stored_secrets_reencrypt() -> dict[str, int]:
    """Encrypt every stored secret again under the first configured key, in one transaction
    (rows locked in primary-key order); how many of each kind. A secret no configured key
    opens stops it with ``SecretUndecryptable`` and nothing is changed."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        for name, model, field in _ENCRYPTED_FIELDS:
            rows = model.objects.select_for_update().exclude(**{field: ""}).order_by("pk")
            for pk, ciphertext in rows.values_list("pk", field):
                model.objects.filter(pk=pk).update(**{field: secret_reencrypt(ciphertext)})
                counts[name] = counts.get(name, 0) + 1
    return counts
