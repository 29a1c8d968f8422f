"""Custom claims. Part of the test_oauth_exchange suite (see its docstring)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.models import Customer
from tests.conftest import Storefront
from tests.identity.oauth_exchange_common import (
    CUSTOM,
    add_mug,
    assert_oauth_error,
    claims_of,
    exchange,
    exchanged,
)
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    password_tokens,
    token_request,
)

# --- Custom claims ------------------------------------------------------------------------------


def test_custom_claims_land_under_their_own_claim(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given a customer token
    subject = password_tokens(api, sales_channel)["access_token"]
    custom = {"loyaltyTier": "gold", "stores": [3, 7], "flags": {"b2b": True}}

    # when the ERP exchanges it with custom claims
    body = exchanged(api, integration, subject, custom_claims=json.dumps(custom))

    # then they are in the token under urn:commerceapi:claims, exactly
    assert claims_of(body["access_token"])[CUSTOM] == custom


def test_custom_claims_cannot_override_reserved_claims(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    products: dict[str, Any],
) -> None:
    # given a customer token limited to cart:read, and custom claims naming every reserved claim
    subject = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=customer.email,
        password="correct horse battery staple",
        scope="cart:read",
    ).json()["access_token"]
    custom = {
        "sub": str(uuid.uuid4()),
        "exp": int(time.time()) + 10**7,
        "iat": 1,
        "tenant": other_storefront.tenant.pk,
        "scope": "cart:write customer:read customers:create",
        "act": {"sub": "ci_00000000000000000000"},
        "iss": "https://evil.example",
        "aud": "somewhere-else",
        "client_id": "ci_00000000000000000000",
        "token_type": "client_access",
    }

    # when the ERP exchanges it with them
    body = exchanged(api, integration, subject, custom_claims=json.dumps(custom))

    # then every reserved claim is the API's own and the attempt stays nested
    claims = claims_of(body["access_token"])
    assert claims[CUSTOM] == custom
    assert claims["sub"] == str(customer.public_id)
    assert claims["tenant"] == storefront.tenant.pk
    assert claims["scope"] == "cart:read"
    assert claims["act"] == {"sub": integration.client_id}
    assert claims["iss"] == settings.TOKEN_ISSUER
    assert claims["aud"] == settings.TOKEN_AUDIENCE
    assert claims["client_id"] == integration.client_id
    assert claims["token_type"] == "customer_access"
    assert claims["exp"] <= claims_of(subject)["exp"]
    assert claims["iat"] >= int(time.time()) - 60
    # and the token can still only read Ada's cart
    headers = customer_headers(api, body["access_token"])
    assert add_mug(api, headers).json()["code"] == 2041


@pytest.mark.parametrize(
    ("custom_claims", "description"),
    [
        pytest.param("[1, 2]", "custom_claims must be a JSON object.", id="array"),
        pytest.param('"gold"', "custom_claims must be a JSON object.", id="string"),
        pytest.param("42", "custom_claims must be a JSON object.", id="number"),
        pytest.param("null", "custom_claims must be a JSON object.", id="null"),
        pytest.param("true", "custom_claims must be a JSON object.", id="true"),
        pytest.param("{", "custom_claims is not JSON.", id="truncated"),
        pytest.param("{'tier': 'gold'}", "custom_claims is not JSON.", id="single quotes"),
        pytest.param('{"a": 1} trailing', "custom_claims is not JSON.", id="trailing text"),
        pytest.param("[" * 5000 + "]" * 5000, "custom_claims is not JSON.", id="deeply nested"),
    ],
)
def test_custom_claims_that_are_not_a_json_object_are_invalid_request(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    settings: Any,
    custom_claims: str,
    description: str | None,
) -> None:
    # given a customer token (and a limit the deeply nested value fits in)
    settings.OAUTH_CUSTOM_CLAIMS_MAX_BYTES = 16384
    subject = password_tokens(api, sales_channel)["access_token"]

    # when the ERP sends custom claims that are not a JSON object
    answer = exchange(api, integration, subject, custom_claims=custom_claims)

    # then invalid_request
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == "invalid_request"
    if description is not None:
        assert answer.json()["error_description"] == description


def test_custom_claims_over_the_byte_limit_are_invalid_request(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given custom claims exactly at the byte limit, and one byte over it
    limit = settings.OAUTH_CUSTOM_CLAIMS_MAX_BYTES
    subject = password_tokens(api, sales_channel)["access_token"]
    at_limit = '{"a":"' + "x" * (limit - 8) + '"}'
    assert len(at_limit.encode()) == limit

    # when the ERP sends each
    accepted = exchange(api, integration, subject, custom_claims=at_limit)
    over = exchange(api, integration, subject, custom_claims=at_limit[:-2] + 'x"}')

    # then the first is taken and the second refused
    assert accepted.status_code == 200, accepted.content
    assert_oauth_error(over, 400, "invalid_request", f"custom_claims is larger than {limit} bytes.")


def test_custom_claims_limit_counts_bytes_not_characters(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given custom claims under the limit in characters but over it in UTF-8 bytes
    limit = settings.OAUTH_CUSTOM_CLAIMS_MAX_BYTES
    subject = password_tokens(api, sales_channel)["access_token"]
    wide = json.dumps({"a": "ä" * (limit // 2)}, ensure_ascii=False)
    assert len(wide) < limit < len(wide.encode())

    # when the ERP sends them
    answer = exchange(api, integration, subject, custom_claims=wide)

    # then they are refused
    assert_oauth_error(
        answer, 400, "invalid_request", f"custom_claims is larger than {limit} bytes."
    )


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_custom_claims_with_non_json_numbers_are_invalid_request(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer, literal: str
) -> None:
    # given a customer token
    subject = password_tokens(api, sales_channel)["access_token"]

    # when the ERP sends custom claims with a number JSON does not have
    answer = exchange(api, integration, subject, custom_claims='{"score": ' + literal + "}")

    # then invalid_request, as for any text that is not JSON
    assert_oauth_error(answer, 400, "invalid_request", "custom_claims is not JSON.")
