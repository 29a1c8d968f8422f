"""POST /commerceapi/authentication/: the anonymous shopper token and which id it is issued for.

Here: the contract; bad input; the key; issuing writes nothing; throttling. The other parts of
the suite: test_anonymous_ids.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from identity.credentials.keyring import keyring_clear_cache
from identity.credentials.secrets import secret_issue
from identity.http.throttles import AnonymousTokenAddressThrottle, AnonymousTokenKeyThrottle
from identity.models import SigningKey, SigningKeyPurpose
from identity.tenancy.storefront import (
    STOREFRONT_KEY_KIND,
    storefront_app_save,
    storefront_key_create,
    storefront_key_revoke,
    tenant_save,
)
from tests.conftest import (
    Storefront,
    assert_problem,
    bearer_headers,
    make_storefront,
)
from tests.factories import TenantFactory
from tests.identity.anonymous_token_common import (
    URL,
    WRITE_STATEMENT,
    _migrated_to_a_customer,
    is_uuid4,
    issue,
    open_cart,
    requested,
    row_counts,
    verified,
)
from tests.identity.tokens_helpers import (
    CONTEXT_URL,
    PROBLEMS,
)

# --- the contract ---------------------------------------------------------------------------


def test_issue_without_body_answers_the_contract_with_a_new_id(api, storefront):
    # given a storefront key and no body

    # when
    answer = issue(api, storefront.key)

    # then
    assert answer.status_code == 200
    body = answer.json()
    assert body == {
        "tokenType": "Bearer",
        "accessToken": body["accessToken"],
        "expiresIn": 7200,
        "refreshToken": "",
        "anonymousId": body["anonymousId"],
    }
    assert isinstance(body["accessToken"], str)
    assert is_uuid4(body["anonymousId"])
    assert answer["Content-Type"] == "application/json"
    assert answer["Cache-Control"] == "no-store"


def test_token_header_and_claims(api, storefront):
    # given
    active = SigningKey.objects.get(purpose=SigningKeyPurpose.ANONYMOUS, is_active=True)

    # when
    body = issue(api, storefront.key).json()

    # then
    header, claims = verified(body["accessToken"])
    assert header == {"alg": "HS256", "kid": active.kid, "typ": "at+jwt"}
    anonymous_id = body["anonymousId"]
    assert claims == {
        "token_type": "anonymous",
        "jti": anonymous_id,
        "sub": anonymous_id,
        "tenant": storefront.tenant.pk,
        "app": str(storefront.app.public_id),
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
        "iat": claims["iat"],
        "exp": claims["iat"] + 7200,
    }
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 60


def test_lifetime_is_the_storefront_apps(api, db):
    # given an app whose anonymous tokens live ten minutes
    storefront = make_storefront(anonymous_token_lifetime_seconds=600)

    # when
    body = issue(api, storefront.key).json()

    # then
    _, claims = verified(body["accessToken"])
    assert body["expiresIn"] == 600
    assert claims["exp"] - claims["iat"] == 600


def test_each_call_without_an_id_gets_its_own_id(api, storefront):
    # when
    ids = {issue(api, storefront.key).json()["anonymousId"] for _ in range(3)}

    # then
    assert len(ids) == 3


def test_a_null_id_is_no_id(api, storefront):
    # when
    answer = issue(api, storefront.key, {"anonymousAuthenticationRequest": None})

    # then
    assert answer.status_code == 200
    assert is_uuid4(answer.json()["anonymousId"])


def test_the_token_works_as_a_bearer(api, storefront):
    # given
    token = issue(api, storefront.key).json()["accessToken"]

    # when
    answer = api.get(CONTEXT_URL, **bearer_headers(token))

    # then
    assert answer.status_code == 200
    assert answer.json()["isAnonymous"] is True


# --- bad input ------------------------------------------------------------------------------

MALFORMED_ID_MESSAGE = "Must be a UUID such as 3f2c1d9e-8a7b-4c6d-9e0f-1a2b3c4d5e6f."


@pytest.mark.parametrize(
    "value",
    ["not-a-uuid", "", "   ", "3f2c1d9e-8a7b-4c6d-9e0f", "x" * 65, 123, True, [], {}],
    ids=["word", "blank", "spaces", "short", "long", "number", "bool", "list", "object"],
)
def test_a_malformed_id_is_400_naming_the_field(api, storefront, value):
    # when
    answer = issue(api, storefront.key, {"anonymousAuthenticationRequest": value})

    # then
    assert_problem(
        answer,
        {
            "type": "urn:commerceapi:problem:anonymous_id_invalid",
            "title": "Invalid anonymous id",
            "status": 400,
            "detail": MALFORMED_ID_MESSAGE,
            "code": 2050,
            "errors": [
                {
                    "field": "anonymousAuthenticationRequest",
                    "code": "anonymous_id_invalid",
                    "message": MALFORMED_ID_MESSAGE,
                }
            ],
        },
    )


@pytest.mark.parametrize("body", ["[]", "[1]", '"3f2c1d9e"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_400(api, storefront, body):
    # when
    answer = api.post(URL, body, content_type="application/json", HTTP_X_AUTH_KEY=storefront.key)

    # then
    assert answer.status_code == 400
    problem = answer.json()
    assert problem["code"] == 1000
    assert problem["status"] == 400
    assert [error["field"] for error in problem["errors"]] == ["body"]


def test_invalid_json_is_400_malformed_request(api, storefront):
    # when
    answer = api.post(URL, "{", content_type="application/json", HTTP_X_AUTH_KEY=storefront.key)

    # then
    assert answer.status_code == 400
    assert answer.json()["code"] == 1001


def test_unknown_fields_are_ignored(api, storefront):
    # when
    answer = issue(api, storefront.key, {"tenant": 999, "anonymousId": str(uuid.uuid4())})

    # then
    assert answer.status_code == 200
    _, claims = verified(answer.json()["accessToken"])
    assert claims["tenant"] == storefront.tenant.pk


# --- the key --------------------------------------------------------------------------------


def test_no_key_is_401_auth_key_missing(api, storefront):
    # when
    answer = issue(api, None)

    # then
    assert_problem(answer, PROBLEMS[2020])
    assert answer["WWW-Authenticate"] == 'X-Auth-Key realm="commerceapi"'


def test_a_key_in_the_query_string_is_ignored(api, storefront):
    # when
    answer = api.post(f"{URL}?X-Auth-Key={storefront.key}&x_auth_key={storefront.key}")

    # then
    assert answer.status_code == 401
    assert answer.json()["code"] == 2020


INVALID_KEY_BODY = {
    "type": "urn:commerceapi:problem:auth_key_invalid",
    "title": "Invalid X-Auth-Key",
    "status": 401,
    "detail": "The X-Auth-Key is unknown or revoked, or its storefront app is inactive.",
    "code": 2021,
}


@pytest.mark.parametrize(
    "key",
    [
        secret_issue(STOREFRONT_KEY_KIND).value,
        "garbage",
        "",
        secret_issue("apikey").value,
        "sfk_" + "0" * 12 + "_" + "A" * 300,
    ],
    ids=["unknown", "malformed", "empty", "other-kind", "too-long"],
)
def test_a_key_that_is_not_live_is_401_auth_key_invalid(api, storefront, key):
    # when
    answer = issue(api, key)

    # then
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'X-Auth-Key realm="commerceapi"'
    assert answer.json() == INVALID_KEY_BODY


def test_a_key_with_a_live_prefix_and_a_wrong_secret_is_refused(api, storefront):
    # given a key with the prefix of a live key and another secret
    kind, prefix, _ = storefront.key.split("_", 2)
    forged = f"{kind}_{prefix}_{'B' * 43}"

    # when
    answer = issue(api, forged)

    # then
    assert answer.status_code == 401
    assert answer.json() == INVALID_KEY_BODY


def _revoke(storefront: Storefront) -> None:
    storefront_key_revoke(key=storefront.app.keys.get())


def _deactivate_app(storefront: Storefront) -> None:
    storefront.app.is_active = False
    storefront_app_save(app=storefront.app)


def _deactivate_tenant(storefront: Storefront) -> None:
    storefront.tenant.is_active = False
    tenant_save(tenant=storefront.tenant)


@pytest.mark.parametrize(
    "disable", [_revoke, _deactivate_app, _deactivate_tenant], ids=["revoked", "app", "tenant"]
)
@pytest.mark.parametrize("warm", [True, False], ids=["warm-cache", "cold-cache"])
def test_a_disabled_key_is_refused_at_once(
    api, storefront, disable, warm, django_capture_on_commit_callbacks
):
    # given the key worked a moment ago (its lookup cached)
    if warm:
        assert issue(api, storefront.key).status_code == 200

    # when it is disabled, and the change is committed
    with django_capture_on_commit_callbacks(execute=True):
        disable(storefront)
    answer = issue(api, storefront.key)

    # then
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'X-Auth-Key realm="commerceapi"'
    assert answer.json() == INVALID_KEY_BODY


def test_another_key_of_the_app_keeps_working_after_a_revocation(
    api, storefront, django_capture_on_commit_callbacks
):
    # given the app has a second key
    second = storefront_key_create(app=storefront.app).value
    assert issue(api, storefront.key).status_code == 200

    # when the first is revoked
    with django_capture_on_commit_callbacks(execute=True):
        _revoke_first(storefront)

    # then
    assert issue(api, storefront.key).status_code == 401
    assert issue(api, second).status_code == 200


def _revoke_first(storefront: Storefront) -> None:
    storefront_key_revoke(key=storefront.app.keys.order_by("pk").first())  # type: ignore[arg-type]


def test_a_reactivated_app_mints_again(api, storefront, django_capture_on_commit_callbacks):
    # given a deactivated app
    with django_capture_on_commit_callbacks(execute=True):
        _deactivate_app(storefront)
    assert issue(api, storefront.key).status_code == 401

    # when it is reactivated
    storefront.app.is_active = True
    with django_capture_on_commit_callbacks(execute=True):
        storefront_app_save(app=storefront.app)

    # then
    assert issue(api, storefront.key).status_code == 200


# --- issuing writes nothing -----------------------------------------------------------------


def _scenarios(
    api: APIClient, storefront: Storefront
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    in_use = issue(api, storefront.key).json()
    open_cart(storefront, in_use["anonymousId"])
    retired = str(uuid.uuid4())
    _migrated_to_a_customer(storefront, retired)
    return [
        ({}, {}),
        (requested(str(uuid.uuid4())), {}),
        (requested(in_use["anonymousId"]), {}),
        (requested(in_use["anonymousId"]), bearer_headers(in_use["accessToken"])),
        (requested(retired), {}),
        (requested("malformed"), {}),
    ]


def test_issuing_writes_nothing_to_the_database(api, storefront):
    # given ids of every state, and a cold cache and keyring
    scenarios = _scenarios(api, storefront)
    cache.clear()
    keyring_clear_cache()
    before = row_counts()

    # when
    with CaptureQueriesContext(connection) as queries:
        statuses = [
            issue(api, storefront.key, body, **headers).status_code for body, headers in scenarios
        ]
        statuses.append(issue(api, "garbage").status_code)

    # then
    assert statuses == [200, 200, 200, 200, 200, 400, 401]
    writes = [
        query["sql"] for query in queries.captured_queries if WRITE_STATEMENT.match(query["sql"])
    ]
    assert writes == []
    assert row_counts() == before


def test_issuing_reads_nothing_once_warm(api, storefront):
    # given the key lookup and the keyring are cached
    assert issue(api, storefront.key).status_code == 200

    # when a token without an id is issued
    with CaptureQueriesContext(connection) as queries:
        answer = issue(api, storefront.key)

    # then
    assert answer.status_code == 200
    assert queries.captured_queries == []


# --- throttling -----------------------------------------------------------------------------


@pytest.fixture
def throttle_rates(monkeypatch: pytest.MonkeyPatch):
    """Small rates; DRF reads ``DEFAULT_THROTTLE_RATES`` once, at class definition."""

    def set_rates(*, address: str = "1000/min", key: str = "1000/min") -> None:
        rates = {"anonymous_token_address": address, "anonymous_token_key": key}
        monkeypatch.setattr(AnonymousTokenAddressThrottle, "THROTTLE_RATES", rates)
        monkeypatch.setattr(AnonymousTokenKeyThrottle, "THROTTLE_RATES", rates)

    return set_rates


def assert_throttled(answer: Any) -> None:
    assert answer.status_code == 429
    assert answer["Content-Type"] == "application/problem+json"
    assert 1 <= int(answer["Retry-After"]) <= 60
    body = answer.json()
    assert body == {
        "type": "urn:commerceapi:problem:throttled",
        "title": "Too many requests",
        "status": 429,
        "detail": body["detail"],
        "code": 1029,
    }
    assert body["detail"].startswith("Request was throttled.")


def test_an_address_is_throttled_with_retry_after(api, storefront, throttle_rates):
    # given three tokens a minute per address
    throttle_rates(address="3/min")
    for _ in range(3):
        assert issue(api, storefront.key, REMOTE_ADDR="198.51.100.7").status_code == 200

    # when
    answer = issue(api, storefront.key, REMOTE_ADDR="198.51.100.7")

    # then
    assert_throttled(answer)
    assert issue(api, storefront.key, REMOTE_ADDR="198.51.100.8").status_code == 200


def test_throttling_comes_before_the_key_check(api, storefront, throttle_rates):
    # given an address that spent its budget on guessed keys
    throttle_rates(address="2/min")
    for _ in range(2):
        assert issue(api, "garbage", REMOTE_ADDR="198.51.100.7").status_code == 401

    # when it tries again, even with a good key
    answer = issue(api, storefront.key, REMOTE_ADDR="198.51.100.7")

    # then
    assert_throttled(answer)


def test_a_rotating_forwarded_for_does_not_escape_the_address_bucket(
    api, storefront, throttle_rates, settings
):
    # given no trusted proxy in front of the API
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    throttle_rates(address="3/min")
    for n in range(3):
        answer = issue(
            api, storefront.key, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        )
        assert answer.status_code == 200

    # when the client writes yet another X-Forwarded-For
    answer = issue(api, storefront.key, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.9.9.9")

    # then the socket address decides
    assert_throttled(answer)


def test_behind_one_trusted_proxy_the_last_forwarded_address_is_the_client(
    api, storefront, throttle_rates, settings
):
    # given one trusted proxy (REMOTE_ADDR is the proxy; it appends the client's address)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    throttle_rates(address="3/min")
    proxy = "10.0.0.1"
    for n in range(3):
        answer = issue(
            api,
            storefront.key,
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7",
        )
        assert answer.status_code == 200

    # when the same client forges new leading entries
    forged = issue(
        api,
        storefront.key,
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR="192.0.2.99, 192.0.2.98, 203.0.113.7",
    )
    # and another client comes through the same proxy
    other_client = issue(
        api, storefront.key, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.8"
    )

    # then the forged entries got no fresh bucket, and the proxy's address is not the bucket
    assert_throttled(forged)
    assert other_client.status_code == 200


def test_a_key_is_throttled_across_addresses(api, storefront, throttle_rates):
    # given three tokens a minute per key
    throttle_rates(key="3/min")
    for n in range(3):
        assert issue(api, storefront.key, REMOTE_ADDR=f"198.51.100.{n}").status_code == 200

    # when the same key comes from yet another address
    answer = issue(api, storefront.key, REMOTE_ADDR="198.51.100.200")

    # then
    assert_throttled(answer)
    other = make_storefront(tenant=TenantFactory())
    assert issue(api, other.key, REMOTE_ADDR="198.51.100.200").status_code == 200


def test_a_refused_request_still_counts_against_every_throttle(api, storefront, throttle_rates):
    # given one token a minute per address and three per key, both counted in one round trip
    throttle_rates(address="1/min", key="3/min")
    assert issue(api, storefront.key, REMOTE_ADDR="198.51.100.7").status_code == 200

    # when the address, refused, tries once more, and the key comes from two other addresses
    refused = issue(api, storefront.key, REMOTE_ADDR="198.51.100.7")
    second = issue(api, storefront.key, REMOTE_ADDR="198.51.100.8")
    third = issue(api, storefront.key, REMOTE_ADDR="198.51.100.9")

    # then the refused request spent one of the key's three, as DRF counts every throttle
    assert_throttled(refused)
    assert second.status_code == 200
    assert_throttled(third)
