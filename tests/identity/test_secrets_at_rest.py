"""Secrets the API holds in a usable form (signing keys, third-party apps' signing secrets) are
stored encrypted under SECRETS_ENCRYPTION_KEYS: nothing in clear in the database, key rotation
(the first key encrypts, all decrypt, ``secrets_reencrypt`` moves every row to the first), a
wrong key refused with a clear message, one decryption per secret per process, and the data
migration that encrypted the rows stored before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

import identity.credentials.encryption
import identity.credentials.keyring
from identity.credentials.encryption import (
    SecretUndecryptable,
    encryption_clear_cache,
    secret_decrypt,
)
from identity.credentials.keyring import keyring_clear_cache, keyring_get
from identity.models import OAuthClientSecret, SigningKey, SigningKeyPurpose
from tests.conftest import Storefront, bearer_headers, run_command
from tests.identity.current_customer_common import token_for, verify
from tests.identity.oauth_clients_common import _database_text
from tests.identity.oauth_helpers import Client, customer_headers, password_tokens
from tests.identity.tokens_helpers import CONTEXT_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def use_keys(settings: Any) -> Iterator[Callable[..., None]]:
    """Configure SECRETS_ENCRYPTION_KEYS as a process would on start: keys and decrypted
    secrets forgotten."""

    def use(*keys: bytes) -> None:
        settings.SECRETS_ENCRYPTION_KEYS = [key.decode() for key in keys]
        encryption_clear_cache()
        keyring_clear_cache()

    yield use
    encryption_clear_cache()
    keyring_clear_cache()


def stored_ciphertexts() -> list[str]:
    return [
        *SigningKey.objects.order_by("pk").values_list("encrypted_secret", flat=True),
        *OAuthClientSecret.objects.exclude(encrypted_signing_secret="")
        .order_by("pk")
        .values_list("encrypted_signing_secret", flat=True),
    ]


def opens_with(key: bytes, ciphertext: str) -> bool:
    try:
        Fernet(key).decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


# --- Nothing in clear ---------------------------------------------------------------------------


def test_no_signing_key_or_app_secret_is_stored_in_clear(loyalty_app: Client) -> None:
    # given the keyring of a fresh database and a third-party app's signing secret
    plaintexts = [secret_decrypt(ciphertext) for ciphertext in stored_ciphertexts()]
    assert len(plaintexts) == SigningKey.objects.count() + 1
    assert loyalty_app.secret in plaintexts

    # then no secret, nor the body of a private key, appears anywhere in the database
    text = _database_text()
    for plaintext in plaintexts:
        body = plaintext.replace("-----BEGIN PRIVATE KEY-----", "").split("-----END")[0]
        for line in filter(None, body.splitlines()) or [plaintext]:
            assert line.strip() not in text
    assert loyalty_app.secret.split("_", 2)[2] not in text


def test_the_stored_secrets_are_what_the_api_signs_with(
    api: APIClient, sales_channel: Client, customer: Any, loyalty_app: Client
) -> None:
    # when a customer signs in and asks for a current-customer token
    headers = customer_headers(api, password_tokens(api, sales_channel)["access_token"])
    current = token_for(api, headers, loyalty_app)

    # then the app verifies it with its secret, which the database holds only encrypted
    assert verify(current, loyalty_app)["operation"] == "current_customer"
    access = keyring_get().active(SigningKeyPurpose.ACCESS)
    assert access.algorithm == "ES256"


# --- Rotation -----------------------------------------------------------------------------------


def test_a_new_first_key_encrypts_the_old_ones_still_decrypt_and_reencrypt_moves_every_row(
    api: APIClient,
    settings: Any,
    use_keys: Callable[..., None],
    sales_channel: Client,
    customer: Any,
    loyalty_app: Client,
) -> None:
    # given rows encrypted under the old key, a signed-in customer and her app token
    old_key = settings.SECRETS_ENCRYPTION_KEYS[0].encode()
    new_key = Fernet.generate_key()
    access_token = password_tokens(api, sales_channel)["access_token"]
    assert all(opens_with(old_key, ciphertext) for ciphertext in stored_ciphertexts())

    # when the new key is put first, the old kept after it
    use_keys(new_key, old_key)

    # then the old rows still decrypt: tokens signed before verify, new ones are signed
    assert api.get(CONTEXT_URL, **bearer_headers(access_token)).status_code == 200
    headers = customer_headers(api, password_tokens(api, sales_channel)["access_token"])
    assert verify(token_for(api, headers, loyalty_app), loyalty_app)
    # and a secret stored now is encrypted under the new key
    rotated = run_command("signing_key_rotate", "--purpose", "context")
    assert "context: new active key" in rotated
    newest = SigningKey.objects.get(purpose=SigningKeyPurpose.CONTEXT, is_active=True)
    assert opens_with(new_key, newest.encrypted_secret)

    # when every row is encrypted again under the first key
    output = run_command("secrets_reencrypt")

    # then each one opens with the new key alone, and the old key can go
    count = SigningKey.objects.count()
    assert output == (
        f"re-encrypted {count} signing keys\nre-encrypted 1 third-party app secrets\n"
    )
    assert all(opens_with(new_key, ciphertext) for ciphertext in stored_ciphertexts())
    assert not any(opens_with(old_key, ciphertext) for ciphertext in stored_ciphertexts())
    use_keys(new_key)
    assert api.get(CONTEXT_URL, **bearer_headers(access_token)).status_code == 200
    assert verify(token_for(api, headers, loyalty_app), loyalty_app)


# --- A wrong key --------------------------------------------------------------------------------


def test_a_key_that_opens_no_stored_secret_is_refused_clearly(
    use_keys: Callable[..., None], loyalty_app: Client
) -> None:
    # given secrets stored under the configured key, then a process started with another one
    before = stored_ciphertexts()
    use_keys(Fernet.generate_key())

    # when the keyring is loaded, or every row is to be encrypted again
    with pytest.raises(SecretUndecryptable) as loading:
        keyring_get()
    with pytest.raises(CommandError) as reencrypting:
        run_command("secrets_reencrypt")

    # then both say what is wrong and how to fix it, and nothing was changed
    message = "cannot be decrypted with any key of SECRETS_ENCRYPTION_KEYS"
    assert message in str(loading.value)
    assert "put the key it was encrypted with back" in str(loading.value)
    assert str(reencrypting.value).startswith("nothing was changed: a stored secret")
    assert message in str(reencrypting.value)
    assert stored_ciphertexts() == before


def test_an_altered_row_is_refused_not_decrypted_to_something_else(
    use_keys: Callable[..., None], settings: Any
) -> None:
    # given a stored key whose ciphertext was altered
    row = SigningKey.objects.get(purpose=SigningKeyPurpose.CONTEXT)
    middle = len(row.encrypted_secret) // 2
    changed = "A" if row.encrypted_secret[middle] != "A" else "B"
    altered = row.encrypted_secret[:middle] + changed + row.encrypted_secret[middle + 1 :]
    SigningKey.objects.filter(pk=row.pk).update(encrypted_secret=altered)
    use_keys(settings.SECRETS_ENCRYPTION_KEYS[0].encode())

    # when / then
    with pytest.raises(SecretUndecryptable):
        keyring_get()


# --- Once per process ---------------------------------------------------------------------------


def test_each_secret_is_decrypted_once_per_process(
    api: APIClient,
    monkeypatch: pytest.MonkeyPatch,
    use_keys: Callable[..., None],
    settings: Any,
    storefront: Storefront,
    sales_channel: Client,
    customer: Any,
    loyalty_app: Client,
) -> None:
    # given a process that starts now, counting decryptions
    use_keys(settings.SECRETS_ENCRYPTION_KEYS[0].encode())
    decrypted: list[str] = []
    real = identity.credentials.encryption._fernet

    class Counting:
        def decrypt(self, token: bytes) -> bytes:
            decrypted.append(token.decode())
            return real().decrypt(token)

    def counting() -> Counting:
        return Counting()

    counting.cache_clear = real.cache_clear  # type: ignore[attr-defined]
    monkeypatch.setattr(identity.credentials.encryption, "_fernet", counting)

    # when many requests sign and verify tokens, and the keyring reloads between them
    for _ in range(3):
        headers = customer_headers(api, password_tokens(api, sales_channel)["access_token"])
        verify(token_for(api, headers, loyalty_app), loyalty_app)
        identity.credentials.keyring._cache.clear()  # what the periodic reload does

    # then every stored secret was decrypted at most once
    assert decrypted
    assert len(decrypted) == len(set(decrypted))


# --- The data migration -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_rows_stored_in_clear_and_reversing_it_decrypts_them() -> None:
    # given a database as it was before: keys and an app's secret stored in clear
    executor = MigrationExecutor(connection)
    before = [("identity", "0005_oauth_clients_accounts_grants")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    signing_key = old_apps.get_model("identity", "SigningKey")
    signing_key.objects.all().delete()
    signing_key.objects.create(kid="k1", purpose="access", algorithm="HS256", secret="c2VjcmV0")
    tenant = old_apps.get_model("identity", "Tenant").objects.create(slug="t", name="T")
    client = old_apps.get_model("identity", "OAuthClient").objects.create(
        tenant=tenant, client_id="ci_" + "0" * 20, name="App", kind="third_party_app"
    )
    old_apps.get_model("identity", "OAuthClientSecret").objects.create(
        client=client, prefix="0" * 12, secret_hash="h", signing_secret="cs_app_secret"
    )

    try:
        # when the migrations run
        call_command("migrate", verbosity=0)

        # then the rows are encrypted and hold the same secrets; the HS256 key signs anonymous
        # tokens now, and an asymmetric access key was made
        migrated = SigningKey.objects.get(kid="k1")
        assert migrated.purpose == "anonymous"
        assert migrated.encrypted_secret != "c2VjcmV0"
        assert secret_decrypt(migrated.encrypted_secret) == "c2VjcmV0"
        app_secret = OAuthClientSecret.objects.get()
        assert secret_decrypt(app_secret.encrypted_signing_secret) == "cs_app_secret"
        assert "cs_app_secret" not in _database_text()
        access = SigningKey.objects.get(purpose="access")
        assert access.algorithm == "ES256"

        # when they are reversed
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        reversed_apps = executor.loader.project_state(before).apps

        # then the rows are in clear again, as they were
        rows = reversed_apps.get_model("identity", "SigningKey").objects.values_list(
            "kid", "purpose", "secret"
        )
        assert list(rows) == [("k1", "access", "c2VjcmV0")]
        secrets = reversed_apps.get_model("identity", "OAuthClientSecret").objects
        assert secrets.get().signing_secret == "cs_app_secret"
    finally:
        call_command("migrate", verbosity=0)
