"""Scopes; Tokens where they do not belong. Part of the test_customer_tokens suite, whose docstring
says what it covers."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from carts.models import Cart
from identity.models import Customer
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    assert_problem,
    bearer_headers,
    shopper_headers,
    tables_snapshot,
)
from tests.identity.customer_tokens_common import (
    CART_URL,
    CONTEXT_URL,
    INSUFFICIENT_SCOPE,
    LINES_URL,
    MIGRATE_URL,
    PRODUCTS_URL,
    PROFILE_URL,
    SHOPPER_REQUIRED,
    SignedIn,
    add_line,
    cart_lines,
    client_token,
    password_sign_in,
    signed_in,
)
from tests.identity.oauth_helpers import (
    Client,
    password_tokens,
)
from tests.identity.provider_fixtures import CustomerShopper
from tests.identity.tokens_helpers import assert_unauthorized, segments

pytestmark = pytest.mark.django_db


# --- Scopes -----------------------------------------------------------------------------------


@pytest.fixture
def read_only(api: APIClient, sales_channel: Client, customer: Customer, products: Any) -> SignedIn:
    """Ada signed in for reading only: no cart:write."""
    tokens = password_sign_in(api, sales_channel, scope="cart:read catalog:read customer:read")
    assert tokens["scope"] == "cart:read catalog:read customer:read"
    return signed_in(api, tokens["access_token"])


def test_without_cart_write_the_cart_can_be_read_but_not_changed(
    api: APIClient, ada: SignedIn, read_only: SignedIn
) -> None:
    # given Ada's cart with a MUG (added with her full token), and her read-only token
    assert add_line(api, ada.headers(), "MUG", 1).status_code == 200
    before = tables_snapshot()

    # when the read-only token adds, changes, removes and clears
    refused = [
        add_line(api, read_only.headers(), "TEE", 1),
        api.patch(f"{LINES_URL}/MUG", {"quantity": 4}, format="json", **read_only.headers()),
        api.delete(f"{LINES_URL}/MUG", **read_only.headers()),
        api.delete(CART_URL, **read_only.headers()),
    ]
    read = api.get(CART_URL, **read_only.headers())

    # then each change is a 403 insufficient_scope and changes nothing; reading works
    for answer in refused:
        assert_problem(answer, INSUFFICIENT_SCOPE)
    assert tables_snapshot() == before
    assert read.status_code == 200, read.content
    assert cart_lines(read.json()) == {"MUG": 1}


def test_without_cart_write_no_anonymous_cart_is_migrated(
    api: APIClient, storefront: Storefront, read_only: SignedIn
) -> None:
    # given an anonymous cart and its proof
    anonymous = anonymous_shopper(api, storefront.key)
    assert add_line(api, anonymous.headers(), "MUG", 2).status_code == 200
    before = tables_snapshot()

    # when the read-only token migrates it
    answer = api.post(
        MIGRATE_URL,
        {"anonymousId": anonymous.anonymous_id, "anonymousToken": anonymous.token},
        format="json",
        **read_only.headers(),
    )

    # then it is a 403 insufficient_scope, nothing moved, and the anonymous session goes on
    assert_problem(answer, INSUFFICIENT_SCOPE)
    assert tables_snapshot() == before
    assert api.get(CART_URL, **anonymous.headers()).status_code == 200


@pytest.mark.parametrize(
    ("scope", "url", "with_context"),
    [
        pytest.param("cart:read cart:write catalog:read", PROFILE_URL, True, id="profile"),
        pytest.param("cart:read cart:write customer:read", PRODUCTS_URL, False, id="products"),
        pytest.param(
            "cart:read cart:write customer:read", f"{PRODUCTS_URL}/MUG", False, id="product"
        ),
        pytest.param("cart:write catalog:read customer:read", CART_URL, True, id="cart-read"),
    ],
)
def test_a_customer_token_without_the_endpoints_scope_gets_403(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    products: Any,
    scope: str,
    url: str,
    with_context: bool,
) -> None:
    # given Ada signed in without the scope the endpoint needs
    tokens = password_sign_in(api, sales_channel, scope=scope)
    session = signed_in(api, tokens["access_token"])
    headers = session.headers() if with_context else bearer_headers(session.token)

    # when / then
    assert_problem(api.get(url, **headers), INSUFFICIENT_SCOPE)


def test_with_the_scope_the_same_endpoints_answer(api: APIClient, ada: SignedIn) -> None:
    # the control of the test above: the full token reaches every one of them
    assert api.get(PROFILE_URL, **ada.headers()).status_code == 200
    assert api.get(PRODUCTS_URL, **bearer_headers(ada.token)).status_code == 200
    assert api.get(f"{PRODUCTS_URL}/MUG", **bearer_headers(ada.token)).status_code == 200
    assert api.get(CART_URL, **ada.headers()).status_code == 200


def test_tokens_without_a_scope_claim_keep_their_default_scopes(
    api: APIClient,
    storefront: Storefront,
    products: Any,
    customer_shopper: CustomerShopper,
) -> None:
    # given an X-Auth-Key anonymous shopper and a provider's customer, neither with a scope claim
    anonymous = anonymous_shopper(api, storefront.key)
    provider = customer_shopper("provider-customer-2")
    assert "scope" not in segments(anonymous.token)[1]
    assert "scope" not in segments(provider.token)[1]

    # when each uses the catalog, and reads and changes its cart
    for shopper in (anonymous, provider):
        catalog = api.get(PRODUCTS_URL, **bearer_headers(shopper.token))
        added = add_line(api, shopper.headers(), "MUG", 1)
        read = api.get(CART_URL, **shopper.headers())

        # then everything works as before scopes existed
        assert catalog.status_code == 200, catalog.content
        assert added.status_code == 200, added.content
        assert cart_lines(read.json()) == {"MUG": 1}
    assert api.get(PROFILE_URL, **provider.headers()).status_code == 200

    # and the provider's customer may migrate the anonymous cart
    assert add_line(api, anonymous.headers(), "TEE", 2).status_code == 200
    migrated = api.post(
        MIGRATE_URL,
        {"anonymousId": anonymous.anonymous_id, "anonymousToken": anonymous.token},
        format="json",
        **provider.headers(),
    )
    assert migrated.status_code == 200, migrated.content
    assert cart_lines(migrated.json()["cart"]) == {"MUG": 1, "TEE": 2}


def test_an_anonymous_shopper_has_no_profile(api: APIClient, shopper: Shopper) -> None:
    # an X-Auth-Key anonymous token holds cart and catalog scopes, not a profile
    answer = api.get(PROFILE_URL, **shopper.headers())
    assert_problem(
        answer,
        {
            "type": "urn:commerceapi:problem:customer_required",
            "title": "Customer required",
            "status": 403,
            "detail": "This endpoint is for signed-in customers; the caller is an anonymous "
            "shopper.",
            "code": 2042,
        },
    )


# --- Tokens where they do not belong --------------------------------------------------------


def test_a_client_token_is_no_shopper(
    api: APIClient, integration: Client, ada: SignedIn, products: Any
) -> None:
    # given the integration's own token (client_credentials) and Ada's session
    token = client_token(api, integration)
    assert segments(token)[1]["token_type"] == "client_access"
    before = tables_snapshot()

    # when it asks for a customer context, and uses the cart with Ada's context or none
    context = api.get(CONTEXT_URL, **bearer_headers(token))
    with_adas = shopper_headers(token, ada.context)
    cart_calls = [
        api.get(CART_URL, **with_adas),
        add_line(api, with_adas),
        api.get(CART_URL, **bearer_headers(token)),
        add_line(api, bearer_headers(token)),
        api.get(PROFILE_URL, **with_adas),
        api.post(
            MIGRATE_URL,
            {"anonymousId": "8c1f0f7e-0d0e-4a57-9b8e-2f0d1c3b4a59"},
            format="json",
            **with_adas,
        ),
    ]

    # then it is no shopper: a 403 shopper_required or a 401, and nothing changed
    assert_problem(context, SHOPPER_REQUIRED)
    for answer in cart_calls:
        assert answer.status_code in (401, 403), answer.content
        if answer.status_code == 403:
            assert answer.json()["code"] == 2040
        else:
            assert answer["WWW-Authenticate"] == 'Bearer realm="commerceapi"'
    assert tables_snapshot() == before


def test_a_client_token_still_reads_the_catalog(api: APIClient, integration: Client) -> None:
    # the control of the test above: the token is valid, only not a shopper's
    answer = api.get(PRODUCTS_URL, **bearer_headers(client_token(api, integration)))
    assert answer.status_code == 200, answer.content


def test_a_customer_context_as_the_bearer_is_refused(api: APIClient, ada: SignedIn) -> None:
    before = tables_snapshot()
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(ada.context)), 2010)
    assert_unauthorized(api.get(CART_URL, **shopper_headers(ada.context, ada.context)), 2010)
    assert_unauthorized(add_line(api, shopper_headers(ada.context, ada.context)), 2010)
    assert_unauthorized(api.get(PROFILE_URL, **shopper_headers(ada.context, ada.context)), 2010)
    assert tables_snapshot() == before


def test_a_refresh_token_as_the_bearer_is_refused(
    api: APIClient, sales_channel: Client, customer: Customer, products: Any
) -> None:
    # given Ada's sign-in, its access token's context, and its refresh token
    tokens = password_sign_in(api, sales_channel)
    assert tokens["refresh_token"]
    context = signed_in(api, tokens["access_token"]).context
    refresh = tokens["refresh_token"]
    before = tables_snapshot()

    # when / then: the refresh token is no bearer anywhere
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(refresh)), 2010)
    assert_unauthorized(api.get(CART_URL, **shopper_headers(refresh, context)), 2010)
    assert_unauthorized(add_line(api, shopper_headers(refresh, context)), 2010)
    assert_unauthorized(api.get(PROFILE_URL, **shopper_headers(refresh, context)), 2010)
    assert tables_snapshot() == before


def test_a_customer_token_with_another_customers_context_is_refused(
    api: APIClient,
    storefront: Storefront,
    ada: SignedIn,
    customer_shopper: CustomerShopper,
) -> None:
    # given Ada's token, and the contexts of a provider's customer and of an anonymous shopper
    other = customer_shopper("provider-customer-3")
    anonymous = anonymous_shopper(api, storefront.key)
    assert add_line(api, other.headers(), "MUG", 1).status_code == 200
    before = tables_snapshot()

    for context in (other.context, anonymous.context):
        headers = shopper_headers(ada.token, context)
        # when / then
        assert_unauthorized(api.get(CART_URL, **headers), 2032)
        assert_unauthorized(add_line(api, headers, "TEE", 1), 2032)
        assert_unauthorized(api.get(PROFILE_URL, **headers), 2032)
    # and the other way round
    assert_unauthorized(api.get(CART_URL, **shopper_headers(other.token, ada.context)), 2032)
    assert tables_snapshot() == before


def test_a_second_sign_in_of_the_same_customer_needs_its_own_context(
    api: APIClient, sales_channel: Client, ada: SignedIn
) -> None:
    # given a second sign-in of Ada: another bearer for the same customer
    second = password_tokens(api, sales_channel)["access_token"]
    assert second != ada.token

    # when it is sent with the first sign-in's context
    answer = api.get(CART_URL, **shopper_headers(second, ada.context))

    # then the context is bound to its own bearer
    assert_unauthorized(answer, 2032)


def test_a_customer_token_with_another_tenants_x_auth_key_is_refused(
    api: APIClient, ada: SignedIn, other_storefront: Storefront
) -> None:
    # given Ada's token of tenant acme, sent with globex's X-Auth-Key
    headers = {**bearer_headers(ada.token), "HTTP_X_AUTH_KEY": other_storefront.key}
    carts_before = Cart.objects.filter(tenant=other_storefront.tenant).count()

    # when she asks for a customer context there
    answer = api.get(CONTEXT_URL, **headers)

    # then the token is not globex's
    assert_unauthorized(answer, 2010)
    # and the cart, which goes by the bearer and its context, never reaches globex
    with_globex_key = {**ada.headers(), "HTTP_X_AUTH_KEY": other_storefront.key}
    added = add_line(api, with_globex_key)
    assert added.status_code in (200, 401), added.content
    assert Cart.objects.filter(tenant=other_storefront.tenant).count() == carts_before
    if added.status_code == 200:
        ada_cart = Cart.objects.get(customer_id=ada.customer_id, status="open")
        assert ada_cart.tenant_id == ada_tenant_id(ada)
        assert added.json()["id"] == str(ada_cart.public_id)


def ada_tenant_id(session: SignedIn) -> int:
    return int(Customer.objects.get(public_id=session.customer_id).tenant_id)


def test_a_customer_token_with_its_own_tenants_x_auth_key_works(
    api: APIClient, ada: SignedIn, storefront: Storefront
) -> None:
    # the control of the test above
    headers = {**bearer_headers(ada.token), "HTTP_X_AUTH_KEY": storefront.key}
    answer = api.get(CONTEXT_URL, **headers)
    assert answer.status_code == 200, answer.content
    assert answer.json()["customerId"] == ada.customer_id
