"""API keys: the format and its checksum, hashing, the cached resolution, the one 401 for every
failure, the 403s, rolling with overlap, revocation, last use and the per-key throttle."""

from __future__ import annotations

import hashlib
import logging
import re
import zlib
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import DomainError
from identity.http.throttles import ApiKeyThrottle
from identity.models import ApiKey, Supplier
from identity.tenancy.api_keys import (
    ApiKeyRefused,
    RefusalReason,
    api_key_lookup_id,
    api_key_resolve,
    api_key_revoke,
    api_key_roll,
    api_key_value_new,
)
from identity.tenancy.api_keys import _base62 as base62
from identity.tenancy.storefront import tenant_save
from identity.tenancy.suppliers import supplier_save
from tests.conftest import Storefront, assert_problem, problem
from tests.identity.api_keys_common import (
    PAYMENT_PATH,
    SUPPLIER_PATH,
    IssuedKey,
    api_key_headers,
    issue_payment_key,
    issue_supplier_key,
)

KEY_FORMAT = re.compile(r"^ak_live_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}[0-9A-Za-z]{6}$")
API_KEY_INVALID = problem(
    "api_key_invalid",
    "Valid API key required",
    401,
    "Send the integration's key as 'ApiKey: <key>'. The key was missing, malformed, unknown, "
    "expired or revoked, or not of the tenant named in X-Tenant; other credentials (bearer "
    "tokens, X-Auth-Keys, keys in the query string) are not accepted here.",
    2100,
)
WRONG_SURFACE = problem(
    "api_key_wrong_surface",
    "API key of another surface",
    403,
    "The key is valid but was issued for the other server-to-server surface (a supplier key "
    "calls /supplier/, a payment key /payment/).",
    2101,
)
SCOPE_MISSING = problem(
    "api_key_scope_missing",
    "API key lacks the scope",
    403,
    "The key is valid but does not hold the scope this endpoint needs.",
    2102,
)
SURFACE_DISABLED = problem(
    "api_key_surface_disabled",
    "Surface switched off for the tenant",
    403,
    "The key is valid but its tenant has switched this surface off.",
    2103,
)
CHALLENGE = 'ApiKey realm="commerceapi"'


def assert_key_refused(answer: Any) -> None:
    assert_problem(answer, API_KEY_INVALID)
    assert answer["WWW-Authenticate"] == CHALLENGE


def tampered(value: str) -> str:
    """The key with one character of its secret changed (the checksum no longer holds)."""
    position = len("ak_live_") + 13 + 5
    replacement = "A" if value[position] != "A" else "B"
    return value[:position] + replacement + value[position + 1 :]


def forged(value: str) -> str:
    """Another secret under the key's lookup id, with a valid checksum: a forgery that only
    the stored hash can tell."""
    other, _ = api_key_value_new()
    body = value[: len("ak_live_") + 13] + other[len("ak_live_") + 13 : -6]
    return body + base62(zlib.crc32(body.encode()), width=6)


# --- Format and storage --------------------------------------------------------------------


def test_a_key_is_checksummed_and_stored_only_as_its_id_and_hash(supplier_key: IssuedKey) -> None:
    assert KEY_FORMAT.fullmatch(supplier_key.value)
    assert api_key_lookup_id(supplier_key.value) == supplier_key.key_id
    row = ApiKey.objects.get(lookup_id=supplier_key.key_id)
    assert row.secret_hash == hashlib.sha256(supplier_key.value.encode()).hexdigest()
    secret_part = supplier_key.value.split("_")[-1]
    assert all(secret_part not in str(value) for value in ApiKey.objects.values().first().values())
    assert row.scopes == [
        "supplier:products:read",
        "supplier:products:write",
        "supplier:stock:write",
    ]


def test_new_keys_differ_and_carry_at_least_128_random_bits() -> None:
    values = {api_key_value_new()[0] for _ in range(200)}
    assert len(values) == 200
    # 32 base62 characters of secret: 32 * log2(62) > 190 bits.
    assert all(len(value.split("_")[-1]) == 32 + 6 for value in values)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(tampered, id="one-character-changed"),
        pytest.param(lambda value: value[:-1] + ("0" if value[-1] != "0" else "1"), id="checksum"),
        pytest.param(lambda value: value[:-1], id="truncated"),
        pytest.param(lambda value: value.replace("ak_live_", "ak_test_"), id="other-prefix"),
        pytest.param(lambda value: value.replace("_", "-"), id="separators"),
        pytest.param(lambda value: value.upper(), id="upper-case"),
        pytest.param(lambda value: "x" * 10_000, id="long"),
        pytest.param(lambda value: value[:20] + "é" + value[21:], id="non-ascii"),
    ],
)
def test_a_mistyped_or_made_up_key_is_refused_without_a_query(
    api: Any, supplier_key: IssuedKey, mangle: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        answer = api.get(SUPPLIER_PATH, **api_key_headers(mangle(supplier_key.value)))
    assert_key_refused(answer)


# --- Resolution: cached, no query on the hot path ------------------------------------------


def test_a_valid_key_resolves_from_the_cache_without_a_query(
    supplier_key: IssuedKey, django_assert_num_queries: Any
) -> None:
    api_key_resolve(supplier_key.value)  # the first sight reads the database once
    with django_assert_num_queries(0):
        for _ in range(5):
            info = api_key_resolve(supplier_key.value)
    assert info.key_id == supplier_key.key_id
    assert info.surface == "supplier"
    assert info.party_id == str(supplier_key.api_key.supplier_id)


def test_a_request_with_a_valid_key_costs_no_identity_query_once_cached(
    api: Any, supplier_key: IssuedKey
) -> None:
    api.get(SUPPLIER_PATH, **supplier_key.headers())  # first sight, and this minute's last use
    with CaptureQueriesContext(connection) as queries:
        answer = api.get(SUPPLIER_PATH, **supplier_key.headers())
    assert answer.status_code == 200, answer.content
    # The page of products and the tenant's currency; nothing for the key.
    assert len(queries.captured_queries) == 2
    assert all("identity_apikey" not in query["sql"] for query in queries.captured_queries)


def test_last_use_is_written_at_most_once_a_minute(api: Any, supplier_key: IssuedKey) -> None:
    assert supplier_key.api_key.last_used_at is None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert api.get(SUPPLIER_PATH, **supplier_key.headers()).status_code == 200
    updates = [
        q for q in queries.captured_queries if q["sql"].startswith('UPDATE "identity_apikey"')
    ]
    assert len(updates) == 1
    supplier_key.api_key.refresh_from_db()
    assert supplier_key.api_key.last_used_at is not None


# --- 401: one code for every failure, the reason in the security log ----------------------


def test_every_key_failure_is_one_401_and_the_log_says_which(
    api: Any,
    storefront: Storefront,
    supplier: Supplier,
    other_storefront: Storefront,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    live = issue_supplier_key(supplier)
    expired = issue_supplier_key(supplier, expires_in_seconds=1)
    ApiKey.objects.filter(pk=expired.api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked = issue_supplier_key(supplier)
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=revoked.api_key)
    unknown, _ = api_key_value_new()
    cases = {
        RefusalReason.MISSING: {},
        RefusalReason.MALFORMED: api_key_headers("Bearer " + live.value),
        RefusalReason.CHECKSUM: api_key_headers(tampered(live.value)),
        RefusalReason.UNKNOWN: api_key_headers(unknown),
        "forged": api_key_headers(forged(live.value)),
        RefusalReason.EXPIRED: expired.headers(),
        RefusalReason.REVOKED: revoked.headers(),
        RefusalReason.TENANT_MISMATCH: live.headers(HTTP_X_TENANT="globex"),
    }
    caplog.set_level(logging.WARNING, logger="commerceapi.security")
    for reason, headers in cases.items():
        caplog.clear()
        assert_key_refused(api.get(SUPPLIER_PATH, **headers))
        expected = RefusalReason.UNKNOWN if reason == "forged" else reason
        assert any(getattr(record, "reason", None) == expected for record in caplog.records), reason
        for value in (live.value, expired.value, revoked.value, unknown):
            assert value not in caplog.text
            assert value.split("_")[-1] not in caplog.text
    # The right tenant named is fine.
    assert api.get(SUPPLIER_PATH, **live.headers(HTTP_X_TENANT="acme")).status_code == 200


@pytest.mark.parametrize("path", [SUPPLIER_PATH, PAYMENT_PATH])
def test_bearer_tokens_x_auth_keys_and_query_keys_are_refused_on_the_key_surfaces(
    api: Any, storefront: Storefront, supplier_key: IssuedKey, payment_key: IssuedKey, path: str
) -> None:
    issued = api.post("/commerceapi/authentication/", HTTP_X_AUTH_KEY=storefront.key)
    bearer = issued.json()["accessToken"]
    key = supplier_key if path == SUPPLIER_PATH else payment_key
    refused = [
        {"HTTP_AUTHORIZATION": f"Bearer {bearer}"},
        {"HTTP_X_AUTH_KEY": storefront.key},
        {"HTTP_AUTHORIZATION": f"ApiKey {key.value}"},
        # Beside a valid key, too: the surface takes one credential, this one.
        {**key.headers(), "HTTP_AUTHORIZATION": f"Bearer {bearer}"},
        {**key.headers(), "HTTP_X_AUTH_KEY": storefront.key},
    ]
    for headers in refused:
        assert_key_refused(api.get(path, **headers))
    for name in ("apikey", "ApiKey", "api_key", "key"):
        assert_key_refused(api.get(f"{path}?{name}={key.value}"))
        assert_key_refused(api.get(f"{path}?{name}={key.value}", **key.headers()))


def test_the_header_name_is_case_insensitive(supplier_key: IssuedKey) -> None:
    # The WSGI environment names every spelling of a header the same way.
    for name in ("ApiKey", "apikey", "APIKEY", "aPiKeY"):
        client = Client(headers={name: supplier_key.value})
        assert client.get(SUPPLIER_PATH).status_code == 200


def test_a_key_of_an_inactive_tenant_or_supplier_is_refused(
    api: Any,
    storefront: Storefront,
    supplier: Supplier,
    supplier_key: IssuedKey,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert api.get(SUPPLIER_PATH, **supplier_key.headers()).status_code == 200
    supplier.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        supplier_save(supplier=supplier)
    assert_key_refused(api.get(SUPPLIER_PATH, **supplier_key.headers()))
    supplier.is_active = True
    with django_capture_on_commit_callbacks(execute=True):
        supplier_save(supplier=supplier)
    assert api.get(SUPPLIER_PATH, **supplier_key.headers()).status_code == 200
    storefront.tenant.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        tenant_save(tenant=storefront.tenant)
    assert_key_refused(api.get(SUPPLIER_PATH, **supplier_key.headers()))


# --- 403: valid, but not for this -----------------------------------------------------------


def test_a_key_of_the_other_surface_is_a_403(
    api: Any, supplier_key: IssuedKey, payment_key: IssuedKey
) -> None:
    assert_problem(api.get(SUPPLIER_PATH, **payment_key.headers()), WRONG_SURFACE)
    assert_problem(api.get(PAYMENT_PATH, **supplier_key.headers()), WRONG_SURFACE)


def test_a_key_without_the_scope_is_a_403(
    api: Any, storefront: Storefront, supplier: Supplier
) -> None:
    stock_only = issue_supplier_key(supplier, scopes=["supplier:stock:write"])
    assert_problem(api.get(SUPPLIER_PATH, **stock_only.headers()), SCOPE_MISSING)
    read_only = issue_payment_key(storefront, scopes=["payment:orders:read"])
    answer = api.post(
        f"{PAYMENT_PATH}/events",
        {},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
        **read_only.headers(),
    )
    assert_problem(answer, SCOPE_MISSING)


def test_a_tenant_switching_a_surface_off_is_a_403_for_its_keys(
    api: Any,
    storefront: Storefront,
    supplier_key: IssuedKey,
    payment_key: IssuedKey,
    django_capture_on_commit_callbacks: Any,
) -> None:
    storefront.tenant.supplier_api_enabled = False
    with django_capture_on_commit_callbacks(execute=True):
        tenant_save(tenant=storefront.tenant)
    assert_problem(api.get(SUPPLIER_PATH, **supplier_key.headers()), SURFACE_DISABLED)
    # The other surface is on.
    assert api.get(PAYMENT_PATH, **payment_key.headers()).status_code == 404


# --- Rolling and revoking -------------------------------------------------------------------


def test_a_rolled_key_overlaps_with_the_old_one_until_the_chosen_moment(
    api: Any, supplier_key: IssuedKey, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        rolled = api_key_roll(api_key=supplier_key.api_key, old_key_expires_in_seconds=3600)
    new = IssuedKey(rolled.api_key, rolled.value)
    assert new.api_key.supplier_id == supplier_key.api_key.supplier_id
    assert new.api_key.scopes == supplier_key.api_key.scopes
    assert new.api_key.rolled_from_id == supplier_key.api_key.pk
    # During the overlap both work.
    assert api.get(SUPPLIER_PATH, **supplier_key.headers()).status_code == 200
    assert api.get(SUPPLIER_PATH, **new.headers()).status_code == 200
    # After it, only the new one.
    later = timezone.now() + timedelta(seconds=3601)
    with mock.patch("identity.tenancy.api_keys.timezone.now", return_value=later):
        assert_key_refused(api.get(SUPPLIER_PATH, **supplier_key.headers()))
        assert api.get(SUPPLIER_PATH, **new.headers()).status_code == 200


def test_rolling_with_no_overlap_ends_the_old_key_now(
    api: Any, supplier_key: IssuedKey, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        rolled = api_key_roll(api_key=supplier_key.api_key, old_key_expires_in_seconds=0)
    assert_key_refused(api.get(SUPPLIER_PATH, **supplier_key.headers()))
    assert api.get(SUPPLIER_PATH, **api_key_headers(rolled.value)).status_code == 200


def test_a_revoked_key_is_refused_at_once_even_while_cached(
    api: Any, supplier_key: IssuedKey, django_capture_on_commit_callbacks: Any
) -> None:
    assert api.get(SUPPLIER_PATH, **supplier_key.headers()).status_code == 200  # cached now
    with django_capture_on_commit_callbacks(execute=True):
        assert api_key_revoke(api_key=supplier_key.api_key) is True
    assert_key_refused(api.get(SUPPLIER_PATH, **supplier_key.headers()))
    with pytest.raises(ApiKeyRefused) as refused:
        api_key_resolve(supplier_key.value)
    assert refused.value.reason == RefusalReason.REVOKED


def test_a_revoked_or_expired_key_cannot_be_rolled(
    supplier_key: IssuedKey, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=supplier_key.api_key)
    with pytest.raises(DomainError) as refused:
        api_key_roll(api_key=supplier_key.api_key)
    assert refused.value.code.number == 2105
    assert ApiKey.objects.count() == 1


# --- Throttle --------------------------------------------------------------------------------


def test_each_key_is_throttled_on_its_own(
    api: Any, supplier: Supplier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ApiKeyThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    first, second = issue_supplier_key(supplier), issue_supplier_key(supplier)
    for _ in range(2):
        assert api.get(SUPPLIER_PATH, **first.headers()).status_code == 200
    answer = api.get(SUPPLIER_PATH, **first.headers())
    assert answer.status_code == 429
    assert answer.json()["code"] == 1029
    assert 1 <= int(answer["Retry-After"]) <= 61
    assert api.get(SUPPLIER_PATH, **second.headers()).status_code == 200
