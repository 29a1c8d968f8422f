"""RFC 8693 token exchange at POST /oauth/token: a confidential client acts for a customer.

The subject is a customer access token (ours or an identity provider's) or, for a client that
may act for any customer, a customer id. The issued token names the customer (``sub``) and the
client (``act``), never outlives the subject token, holds at most the scopes of both, and keeps
custom claims under one claim of their own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.credentials.kinds import CustomerAccessToken
from identity.credentials.tokens import token_decode
from identity.customers.accounts import local_account_create
from identity.customers.customers import customer_set_active
from identity.models import Customer, CustomerIdentity, GrantType, OAuthClientKind
from identity.oauth.clients import client_save
from tests.conftest import Storefront, shopper_headers, tables_snapshot
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    make_client,
    oauth_post,
    password_tokens,
    token_request,
)
from tests.identity.provider_fixtures import StaticKeyProvider
from tests.identity.tokens_helpers import real_key, sign

EXCHANGE = GrantType.TOKEN_EXCHANGE.value
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
CUSTOMER_ID_TYPE = "urn:commerceapi:params:oauth:token-type:customer-id"
CUSTOM = "urn:commerceapi:claims"
CART_URL = "/commerceapi/cart"
CART_LINES_URL = "/commerceapi/cart/lines"
ALL_CUSTOMER_SCOPES = "cart:read cart:write catalog:read customer:read"
SUBJECT_INVALID = "The subject token is invalid, expired or revoked."
NOT_A_CUSTOMER_TOKEN = "The subject token is not a customer's access token."


# --- Helpers --------------------------------------------------------------------------------


def exchange(
    api: APIClient,
    client: Client,
    subject_token: str,
    subject_token_type: str = ACCESS_TOKEN_TYPE,
    **form: str,
) -> Any:
    """A token exchange by ``client``, authenticated with HTTP Basic."""
    return token_request(
        api,
        client.basic(),
        grant_type=EXCHANGE,
        subject_token=subject_token,
        subject_token_type=subject_token_type,
        **form,
    )


def exchanged(
    api: APIClient,
    client: Client,
    subject_token: str,
    subject_token_type: str = ACCESS_TOKEN_TYPE,
    **form: str,
) -> dict[str, Any]:
    answer = exchange(api, client, subject_token, subject_token_type, **form)
    assert answer.status_code == 200, answer.content
    return answer.json()


def claims_of(raw_token: str) -> dict[str, Any]:
    """The claims of one of our customer tokens, verified as the API verifies them."""
    return dict(token_decode(CustomerAccessToken, raw_token).payload)


def assert_oauth_error(answer: Any, status: int, error: str, description: str) -> None:
    """Exactly the RFC 6749 error body, never cached."""
    assert answer.status_code == status, answer.content
    assert answer.json() == {"error": error, "error_description": description}
    assert answer["Cache-Control"] == "no-store"


def add_mug(api: APIClient, headers: dict[str, str]) -> Any:
    return api.post(CART_LINES_URL, {"sku": "MUG", "quantity": 1}, format="json", **headers)


def customer_claims(
    storefront: Storefront, customer: Customer, client: Client, **changes: Any
) -> dict[str, Any]:
    """The claims of a customer token as the API writes them, for signing by hand."""
    now = int(time.time())
    claims = {
        "token_type": "customer_access",
        "exp": now + 600,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "sub": str(customer.public_id),
        "tenant": storefront.tenant.pk,
        "client_id": client.client_id,
        "scope": "cart:read",
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
    }
    claims.update(changes)
    return claims


def exchange_client(storefront: Storefront, **fields: Any) -> Client:
    """Another integration that may use token exchange (and nothing else unless told)."""
    fields.setdefault("grant_types", [EXCHANGE])
    fields.setdefault("scopes", ["catalog:read", "cart:read", "cart:write", "customer:read"])
    return make_client(storefront, OAuthClientKind.INTEGRATION, **fields)


def set_lifetime(client: Client, seconds: int) -> None:
    client.client.access_token_lifetime_seconds = seconds
    client_save(client=client.client)


# --- A customer token as the subject ----------------------------------------------------------


def test_exchanging_a_customer_token_gives_a_token_acting_for_that_customer(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    products: dict[str, Any],
) -> None:
    # given a customer signed in at the web shop
    signed_in = password_tokens(api, sales_channel)
    subject = claims_of(signed_in["access_token"])

    # when the ERP exchanges the customer's token
    answer = exchange(api, integration, signed_in["access_token"])

    # then it gets an access token (no refresh token) for the same customer, acted by the ERP
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": body["expires_in"],
        "scope": ALL_CUSTOMER_SCOPES,
        "issued_token_type": ACCESS_TOKEN_TYPE,
    }
    claims = claims_of(body["access_token"])
    assert claims == {
        "token_type": "customer_access",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "jti": claims["jti"],
        "sub": str(customer.public_id),
        "tenant": storefront.tenant.pk,
        "client_id": integration.client_id,
        "scope": ALL_CUSTOMER_SCOPES,
        "grant": subject["grant"],
        "act": {"sub": integration.client_id},
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
    }
    assert claims["jti"] != subject["jti"]
    assert claims["exp"] <= subject["exp"]
    assert 0 < body["expires_in"] <= claims["exp"] - int(claims["iat"])

    # and the token works on the customer's own cart, with a customer context
    headers = customer_headers(api, body["access_token"])
    added = add_mug(api, headers)
    assert added.status_code == 200, added.content
    cart_seen_by_the_customer = api.get(
        CART_URL, **customer_headers(api, signed_in["access_token"])
    )
    assert cart_seen_by_the_customer.json()["itemCount"] == 1
    assert cart_seen_by_the_customer.json()["id"] == added.json()["id"]


def test_jwt_subject_token_type_is_taken_like_an_access_token(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given a customer's access token
    signed_in = password_tokens(api, sales_channel)

    # when the ERP names its type urn:ietf:params:oauth:token-type:jwt
    answer = exchange(api, integration, signed_in["access_token"], JWT_TOKEN_TYPE)

    # then the exchange succeeds for that customer
    assert answer.status_code == 200, answer.content
    assert claims_of(answer.json()["access_token"])["sub"] == str(customer.public_id)


def test_exchanged_token_never_outlives_the_subject_token(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given a subject token living 60 s and an ERP whose tokens live an hour
    set_lifetime(sales_channel, 60)
    set_lifetime(integration, 3600)
    subject = password_tokens(api, sales_channel)["access_token"]

    # when the ERP exchanges it
    body = exchanged(api, integration, subject)

    # then the new token ends when the subject token ends
    claims = claims_of(body["access_token"])
    assert claims["exp"] == claims_of(subject)["exp"]
    assert body["expires_in"] <= 60


def test_exchanged_token_lives_the_clients_lifetime_when_that_is_shorter(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given a subject token living an hour and an ERP whose tokens live 2 minutes
    set_lifetime(sales_channel, 3600)
    set_lifetime(integration, 120)
    subject = password_tokens(api, sales_channel)["access_token"]

    # when the ERP exchanges it
    body = exchanged(api, integration, subject)

    # then the new token lives the ERP's 2 minutes
    claims = claims_of(body["access_token"])
    assert claims["exp"] - int(claims["iat"]) == 120
    assert body["expires_in"] == 120
    assert claims["exp"] < claims_of(subject)["exp"]


def test_exchanging_an_identity_providers_token(
    api: APIClient,
    storefront: Storefront,
    integration: Client,
    static_provider: StaticKeyProvider,
) -> None:
    # given an access token of the tenant's identity provider, living 2 minutes
    provider_token = static_provider.token("auth0|alice", email="alice@example.com", lifetime=120)
    provider_exp = jwt.decode(provider_token, options={"verify_signature": False})["exp"]

    # when the ERP exchanges it
    body = exchanged(api, integration, provider_token)

    # then the token is for the provider's customer, acted by the ERP, ending with the subject
    customer = CustomerIdentity.objects.get(subject="auth0|alice").customer
    claims = claims_of(body["access_token"])
    assert claims["sub"] == str(customer.public_id)
    assert claims["act"] == {"sub": integration.client_id}
    assert claims["exp"] == provider_exp
    assert "grant" not in claims
    assert body["scope"] == ALL_CUSTOMER_SCOPES
    # and it is a working customer bearer
    assert api.get(CART_URL, **customer_headers(api, body["access_token"])).status_code == 200


# --- A customer id as the subject -------------------------------------------------------------


def test_client_that_may_act_for_any_customer_names_the_customer_by_id(
    api: APIClient, integration: Client, customer: Customer, products: dict[str, Any]
) -> None:
    # when the ERP, allowed to act for any customer, names Ada by id
    answer = exchange(api, integration, str(customer.public_id), CUSTOMER_ID_TYPE)

    # then it gets her token: every scope it holds, its own lifetime, no sign-in behind it
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": ALL_CUSTOMER_SCOPES,
        "issued_token_type": ACCESS_TOKEN_TYPE,
    }
    claims = claims_of(body["access_token"])
    assert claims["sub"] == str(customer.public_id)
    assert claims["act"] == {"sub": integration.client_id}
    assert claims["exp"] - int(claims["iat"]) == 900
    assert "grant" not in claims
    assert add_mug(api, customer_headers(api, body["access_token"])).status_code == 200


def test_client_that_may_not_act_for_any_customer_cannot_name_one(
    api: APIClient, storefront: Storefront, customer: Customer
) -> None:
    # given an integration with the exchange grant but not allowed to name customers
    partner = exchange_client(storefront, may_act_for_any_customer=False)

    # when it names Ada by id
    answer = exchange(api, partner, str(customer.public_id), CUSTOMER_ID_TYPE)

    # then the grant is refused
    assert_oauth_error(
        answer,
        400,
        "invalid_grant",
        "The client may not name a customer by id; send a subject token.",
    )


def _customer_of_another_tenant(other_storefront: Storefront) -> str:
    return str(
        local_account_create(
            tenant=other_storefront.tenant, email="bob@example.com", password="x9 long passphrase!"
        ).public_id
    )


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param("other-tenant", id="customer of another tenant"),
        pytest.param("unknown", id="unknown uuid"),
        pytest.param("not-a-uuid", id="malformed"),
        pytest.param("' OR 1=1 --", id="sql-ish"),
        pytest.param("deactivated", id="deactivated customer"),
    ],
)
def test_customer_id_that_names_no_active_customer_of_the_tenant_is_invalid_grant(
    api: APIClient,
    integration: Client,
    customer: Customer,
    other_storefront: Storefront,
    subject: str,
) -> None:
    # given a customer id that is not one of the tenant's active customers
    if subject == "other-tenant":
        subject = _customer_of_another_tenant(other_storefront)
    elif subject == "unknown":
        subject = str(uuid.uuid4())
    elif subject == "deactivated":
        customer_set_active(customer=customer, is_active=False)
        subject = str(customer.public_id)
    # (the same request with Ada's id, while active, would succeed: see the test above)
    before = tables_snapshot()

    # when the ERP names it
    answer = exchange(api, integration, subject, CUSTOMER_ID_TYPE)

    # then invalid_grant, and nothing changed
    assert_oauth_error(answer, 400, "invalid_grant", "No such customer.")
    assert tables_snapshot() == before


# --- Scopes only narrow -----------------------------------------------------------------------


def test_asking_for_a_scope_the_subject_token_does_not_hold_is_invalid_scope(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given a customer token limited to reading the cart and the catalog
    subject = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=customer.email,
        password="correct horse battery staple",
        scope="cart:read catalog:read",
    ).json()["access_token"]

    # when the ERP (which holds cart:write) asks for cart:write
    answer = exchange(api, integration, subject, scope="cart:read cart:write")

    # then invalid_scope
    assert_oauth_error(
        answer, 400, "invalid_scope", "Not granted to this client or subject: cart:write."
    )
    # while a scope within the subject's is granted as asked
    assert exchanged(api, integration, subject, scope="cart:read")["scope"] == "cart:read"


def test_without_scope_the_token_holds_what_subject_and_client_both_hold(
    api: APIClient, storefront: Storefront, sales_channel: Client, customer: Customer
) -> None:
    # given a subject token with cart:read and customer:read
    subject = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=customer.email,
        password="correct horse battery staple",
        scope="cart:read customer:read",
    ).json()["access_token"]
    # and a partner holding catalog:read and cart:read only
    partner = exchange_client(storefront, scopes=["catalog:read", "cart:read"])

    # when the partner exchanges it without asking for a scope
    body = exchanged(api, partner, subject)

    # then the token holds the intersection
    assert body["scope"] == "cart:read"
    assert claims_of(body["access_token"])["scope"] == "cart:read"
    # and asking for a scope only the client holds is refused
    assert_oauth_error(
        exchange(api, partner, subject, scope="catalog:read"),
        400,
        "invalid_scope",
        "Not granted to this client or subject: catalog:read.",
    )


def test_narrowed_token_is_refused_where_it_lacks_the_scope(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    products: dict[str, Any],
) -> None:
    # given an exchanged token narrowed to cart:read
    subject = password_tokens(api, sales_channel)["access_token"]
    narrowed = exchanged(api, integration, subject, scope="cart:read")["access_token"]
    headers = customer_headers(api, narrowed)

    # when it reads and then changes the cart
    read = api.get(CART_URL, **headers)
    write = add_mug(api, headers)

    # then reading works and writing is 403 insufficient scope
    assert read.status_code == 200, read.content
    assert write.status_code == 403
    assert write.json()["code"] == 2041


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


# --- Invalid subject tokens -----------------------------------------------------------------------


@dataclass
class World:
    api: APIClient
    storefront: Storefront
    other_storefront: Storefront
    sales_channel: Client
    integration: Client
    customer: Customer
    capture_on_commit: Callable[..., Any]


def _garbage(world: World) -> str:
    return "not-a-token"


def _expired(world: World) -> str:
    now = int(time.time())
    return sign(
        customer_claims(
            world.storefront, world.customer, world.sales_channel, iat=now - 1000, exp=now - 100
        )
    )


def _wrong_key(world: World) -> str:
    claims = customer_claims(world.storefront, world.customer, world.sales_channel)
    headers = {"kid": real_key("access").kid, "typ": "at+jwt"}
    return jwt.encode(claims, "an entirely different secret, 32+ bytes", "HS256", headers)


def _alg_none(world: World) -> str:
    claims = customer_claims(world.storefront, world.customer, world.sales_channel)
    headers = {"kid": real_key("access").kid, "typ": "at+jwt"}
    return jwt.encode(claims, "", algorithm="none", headers=headers)


def _edited(world: World) -> str:
    token = password_tokens(world.api, world.sales_channel)["access_token"]
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = str(uuid.uuid4())
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{forged_payload}.{signature}"


def _anonymous(world: World) -> str:
    answer = world.api.post(
        "/commerceapi/authentication/", None, format="json", HTTP_X_AUTH_KEY=world.storefront.key
    )
    return str(answer.json()["accessToken"])


def _guest(world: World) -> str:
    answer = token_request(
        world.api, grant_type="client_credentials", client_id=world.sales_channel.client_id
    )
    return str(answer.json()["access_token"])


def _client_token(world: World) -> str:
    answer = token_request(world.api, world.integration.basic(), grant_type="client_credentials")
    return str(answer.json()["access_token"])


def _refresh_token(world: World) -> str:
    return str(password_tokens(world.api, world.sales_channel)["refresh_token"])


def _customer_context(world: World) -> str:
    token = password_tokens(world.api, world.sales_channel)["access_token"]
    return customer_headers(world.api, token)["HTTP_X_CUSTOMER_CONTEXT"]


def _other_tenant(world: World) -> str:
    shop = make_client(world.other_storefront, name="Globex shop")
    local_account_create(
        tenant=world.other_storefront.tenant, email="bob@example.com", password="x9 long phrase!"
    )
    return str(
        password_tokens(world.api, shop, "bob@example.com", "x9 long phrase!")["access_token"]
    )


def _revoked(world: World) -> str:
    token = password_tokens(world.api, world.sales_channel)["access_token"]
    with world.capture_on_commit(execute=True):
        revoked = oauth_post(
            world.api, "/oauth/revoke", client_id=world.sales_channel.client_id, token=token
        )
    assert revoked.status_code == 200
    return str(token)


def _deactivated_customer(world: World) -> str:
    token = password_tokens(world.api, world.sales_channel)["access_token"]
    with world.capture_on_commit(execute=True):
        customer_set_active(customer=world.customer, is_active=False)
    return str(token)


def _unknown_issuer(world: World) -> str:
    claims = customer_claims(world.storefront, world.customer, world.sales_channel)
    claims["iss"] = "https://login.unknown.example/"
    return jwt.encode(claims, "an entirely different secret, 32+ bytes", "HS256")


@pytest.mark.parametrize(
    ("make_subject", "description"),
    [
        pytest.param(_garbage, SUBJECT_INVALID, id="garbage"),
        pytest.param(_expired, SUBJECT_INVALID, id="expired"),
        pytest.param(_wrong_key, SUBJECT_INVALID, id="signed with a wrong key"),
        pytest.param(_alg_none, SUBJECT_INVALID, id="alg none"),
        pytest.param(_edited, SUBJECT_INVALID, id="edited payload"),
        pytest.param(_anonymous, NOT_A_CUSTOMER_TOKEN, id="anonymous token"),
        pytest.param(_guest, NOT_A_CUSTOMER_TOKEN, id="guest token of the sales channel"),
        pytest.param(_client_token, NOT_A_CUSTOMER_TOKEN, id="client token"),
        pytest.param(_refresh_token, SUBJECT_INVALID, id="refresh token"),
        pytest.param(_customer_context, SUBJECT_INVALID, id="customer context"),
        pytest.param(_other_tenant, SUBJECT_INVALID, id="customer token of another tenant"),
        pytest.param(_revoked, SUBJECT_INVALID, id="revoked"),
        pytest.param(_deactivated_customer, SUBJECT_INVALID, id="deactivated customer"),
        pytest.param(_unknown_issuer, SUBJECT_INVALID, id="unknown issuer"),
    ],
)
def test_invalid_subject_token_is_invalid_grant(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: Callable[..., Any],
    make_subject: Callable[[World], str],
    description: str,
) -> None:
    # given a subject token that does not prove a customer of the tenant
    world = World(
        api,
        storefront,
        other_storefront,
        sales_channel,
        integration,
        customer,
        django_capture_on_commit_callbacks,
    )
    subject = make_subject(world)
    before = tables_snapshot()

    # when the ERP exchanges it
    answer = exchange(api, integration, subject)

    # then invalid_grant (never a 5xx), and nothing changed
    assert_oauth_error(answer, 400, "invalid_grant", description)
    assert tables_snapshot() == before


def test_hand_signed_subject_token_is_accepted_when_honest(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
) -> None:
    """The forged subject tokens above differ from this one only in what they forge."""
    # given a customer token signed by hand with the real key, as the API signs one
    honest = sign(customer_claims(storefront, customer, sales_channel))

    # when the ERP exchanges it
    body = exchanged(api, integration, honest)

    # then it is accepted, with the subject's scope
    assert body["scope"] == "cart:read"
    assert claims_of(body["access_token"])["sub"] == str(customer.public_id)


# --- Clients and parameters -------------------------------------------------------------------


def test_sales_channel_may_not_exchange_tokens(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # given a customer token of the web shop
    subject = password_tokens(api, sales_channel)["access_token"]

    # when the public web shop client asks for an exchange
    answer = token_request(
        api,
        grant_type=EXCHANGE,
        client_id=sales_channel.client_id,
        subject_token=subject,
        subject_token_type=ACCESS_TOKEN_TYPE,
    )

    # then unauthorized_client
    assert_oauth_error(
        answer, 400, "unauthorized_client", f"The client may not use the {EXCHANGE} grant."
    )


def test_sales_channel_with_a_made_up_secret_is_invalid_client(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # when the public client sends a secret it does not have
    subject = password_tokens(api, sales_channel)["access_token"]
    answer = token_request(
        api,
        grant_type=EXCHANGE,
        client_id=sales_channel.client_id,
        client_secret="cs_madeup",
        subject_token=subject,
        subject_token_type=ACCESS_TOKEN_TYPE,
    )

    # then invalid_client with the Basic challenge
    assert_oauth_error(answer, 401, "invalid_client", "Client authentication failed.")
    assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'


def test_confidential_client_without_the_grant_is_unauthorized_client(
    api: APIClient, storefront: Storefront, sales_channel: Client, customer: Customer
) -> None:
    # given an integration with the default grants (client_credentials only)
    plain = make_client(storefront, OAuthClientKind.INTEGRATION)
    subject = password_tokens(api, sales_channel)["access_token"]

    # when it asks for an exchange
    answer = exchange(api, plain, subject)

    # then unauthorized_client
    assert_oauth_error(
        answer, 400, "unauthorized_client", f"The client may not use the {EXCHANGE} grant."
    )


def test_confidential_client_with_a_wrong_secret_is_invalid_client(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # when the ERP sends a wrong secret
    subject = password_tokens(api, sales_channel)["access_token"]
    impostor = Client(client=integration.client, secret=integration.secret[:-2] + "xx")
    answer = exchange(api, impostor, subject)

    # then invalid_client
    assert_oauth_error(answer, 401, "invalid_client", "Client authentication failed.")
    assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'


@pytest.mark.parametrize(
    ("form", "status", "error", "description"),
    [
        pytest.param(
            {"actor_token": "anything", "actor_token_type": ACCESS_TOKEN_TYPE},
            400,
            "invalid_request",
            "The authenticated client is the actor; actor_token is not taken.",
            id="actor_token",
        ),
        pytest.param(
            {"audience": "https://other-api.example"},
            400,
            "invalid_target",
            "Unknown audience.",
            id="another audience",
        ),
        pytest.param(
            {"resource": "https://other-api.example/"},
            400,
            "invalid_target",
            "Unknown resource.",
            id="another resource",
        ),
        pytest.param(
            {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
            400,
            "invalid_request",
            "Only access tokens are issued.",
            id="refresh token requested",
        ),
        pytest.param(
            {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
            400,
            "invalid_request",
            f"subject_token_type must be one of {(ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, CUSTOMER_ID_TYPE)}.",  # noqa: E501
            id="id_token subject type",
        ),
        pytest.param(
            {"subject_token_type": ""},
            400,
            "invalid_request",
            "The subject_token_type parameter is required.",
            id="no subject type",
        ),
        pytest.param(
            {"subject_token": ""},
            400,
            "invalid_request",
            "The subject_token parameter is required.",
            id="no subject token",
        ),
    ],
)
def test_refused_parameters(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    form: dict[str, str],
    status: int,
    error: str,
    description: str,
) -> None:
    # given a customer token that exchanges fine on its own
    subject = password_tokens(api, sales_channel)["access_token"]
    assert exchange(api, integration, subject).status_code == 200

    # when the exchange also sends a parameter the token service does not take
    answer = token_request(
        api,
        integration.basic(),
        **{
            "grant_type": EXCHANGE,
            "subject_token": subject,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            **form,
        },
    )

    # then it is refused with the named error
    assert_oauth_error(answer, status, error, description)


def test_our_own_audience_is_accepted(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # when the ERP names the API's own audience and access tokens explicitly
    subject = password_tokens(api, sales_channel)["access_token"]
    answer = exchange(
        api,
        integration,
        subject,
        audience=settings.TOKEN_AUDIENCE,
        requested_token_type=ACCESS_TOKEN_TYPE,
    )

    # then the exchange succeeds, for that audience
    assert answer.status_code == 200, answer.content
    assert claims_of(answer.json()["access_token"])["aud"] == settings.TOKEN_AUDIENCE


# --- Delegation chains --------------------------------------------------------------------------


def test_re_exchanging_an_exchanged_token_nests_the_actors(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
) -> None:
    # given a token the ERP got by exchange, with custom claims
    subject = password_tokens(api, sales_channel)["access_token"]
    first = exchanged(api, integration, subject, custom_claims='{"tier": "gold"}')
    # and a second integration
    partner = exchange_client(storefront, name="Warehouse")

    # when the second integration exchanges the ERP's token
    second = exchanged(api, partner, first["access_token"])

    # then act names it, with the ERP nested; the customer and custom claims carry over
    claims = claims_of(second["access_token"])
    assert claims["act"] == {"sub": partner.client_id, "act": {"sub": integration.client_id}}
    assert claims["sub"] == str(customer.public_id)
    assert claims["client_id"] == partner.client_id
    assert claims[CUSTOM] == {"tier": "gold"}
    assert claims["exp"] <= claims_of(first["access_token"])["exp"]

    # and new custom claims replace the carried ones
    third = exchanged(api, integration, second["access_token"], custom_claims='{"tier": "x"}')
    third_claims = claims_of(third["access_token"])
    assert third_claims[CUSTOM] == {"tier": "x"}
    assert third_claims["act"] == {
        "sub": integration.client_id,
        "act": {"sub": partner.client_id, "act": {"sub": integration.client_id}},
    }


def test_every_token_the_exchange_issues_is_usable_or_refused_up_front(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given a customer token
    token = password_tokens(api, sales_channel)["access_token"]

    # when it is exchanged again and again, each result becoming the next subject
    for _ in range(12):
        answer = exchange(api, integration, token)
        # then each exchange either refuses (400) or issues a token the API accepts
        if answer.status_code == 400:
            assert answer.json()["error"] in ("invalid_grant", "invalid_request")
            break
        assert answer.status_code == 200, answer.content
        token = answer.json()["access_token"]
        context = api.get(
            "/commerceapi/authentication/customercontext", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert context.status_code == 200, context.content


def test_exchanged_token_of_a_customer_id_is_not_another_customers(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    products: dict[str, Any],
) -> None:
    # given Bob with a MUG in his cart
    bob = local_account_create(
        tenant=storefront.tenant, email="bob@example.com", password="x9 long phrase!"
    )
    bob_token = password_tokens(api, sales_channel, "bob@example.com", "x9 long phrase!")
    assert add_mug(api, customer_headers(api, bob_token["access_token"])).status_code == 200

    # when the ERP acts for Ada by id and reads the cart
    ada = exchanged(api, integration, str(customer.public_id), CUSTOMER_ID_TYPE)
    cart = api.get(CART_URL, **customer_headers(api, ada["access_token"]))

    # then it sees Ada's (empty) cart, not Bob's
    assert cart.status_code == 200, cart.content
    assert cart.json()["id"] is None
    assert claims_of(ada["access_token"])["sub"] != str(bob.public_id)
    # and Ada's context cannot be paired with Bob's bearer
    mixed = shopper_headers(
        bob_token["access_token"],
        customer_headers(api, ada["access_token"])["HTTP_X_CUSTOMER_CONTEXT"],
    )
    assert api.get(CART_URL, **mixed).status_code == 401
