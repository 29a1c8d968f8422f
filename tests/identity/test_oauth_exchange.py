"""RFC 8693 token exchange at POST /oauth/token: a confidential client acts for a customer.

The subject is a customer access token (ours or an identity provider's) or, for a client that
may act for any customer, a customer id. The issued token names the customer (``sub``) and the
client (``act``), never outlives the subject token, holds at most the scopes of both, and keeps
custom claims under one claim of their own.

Here: A customer token as the subject; A customer id as the subject; Scopes only narrow;
Delegation chains. The other parts of the suite: test_oauth_exchange_claims,
test_oauth_exchange_refusals.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.customers.accounts import local_account_create
from identity.customers.customers import customer_set_active
from identity.models import Customer, CustomerIdentity
from tests.conftest import Storefront, shopper_headers, tables_snapshot
from tests.identity.oauth_exchange_common import (
    ACCESS_TOKEN_TYPE,
    ALL_CUSTOMER_SCOPES,
    CART_URL,
    CUSTOM,
    CUSTOMER_ID_TYPE,
    JWT_TOKEN_TYPE,
    add_mug,
    assert_oauth_error,
    claims_of,
    exchange,
    exchange_client,
    exchanged,
    set_lifetime,
)
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    password_tokens,
    token_request,
)
from tests.identity.provider_fixtures import StaticKeyProvider

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
        "iat_ms": claims["iat_ms"],
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
