"""Customer tokens of the token service everywhere a shopper goes.

A customer signed in with the password grant holds a ``customer_access`` token of ours. It must
work exactly like an identity provider's token: for the customer context, every cart call, the
profile and the migration of an anonymous cart (from an X-Auth-Key anonymous token and from a
sales channel's guest token). Its ``scope`` is enforced; tokens without a scope claim (X-Auth-Key
anonymous tokens, providers' tokens) keep their default scopes. Tokens of other kinds, and a
customer token with another customer's context or another tenant's X-Auth-Key, are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from carts.models import Cart
from identity.models import Customer
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    anonymous_shopper_from,
    assert_problem,
    bearer_headers,
    iso,
    shopper_headers,
    tables_snapshot,
)
from tests.identity.oauth_helpers import (
    Client,
    password_tokens,
    token_request,
)
from tests.identity.provider_fixtures import CustomerShopper
from tests.identity.tokens_helpers import assert_unauthorized, segments

pytestmark = pytest.mark.django_db

CONTEXT_URL = "/commerceapi/authentication/customercontext"
CART_URL = "/commerceapi/cart"
LINES_URL = "/commerceapi/cart/lines"
MIGRATE_URL = "/commerceapi/cart/migrate"
PROFILE_URL = "/commerceapi/customer"
PRODUCTS_URL = "/commerceapi/products"
ALL_CUSTOMER_SCOPES = "cart:read cart:write catalog:read customer:read orders:read orders:write"

SHOPPER_REQUIRED = {
    "type": "urn:commerceapi:problem:shopper_required",
    "title": "Shopper token required",
    "status": 403,
    "detail": "This endpoint is for shoppers: an anonymous or customer bearer token with its "
    "context.",
    "code": 2040,
}
INSUFFICIENT_SCOPE = {
    "type": "urn:commerceapi:problem:insufficient_scope",
    "title": "Insufficient scope",
    "status": 403,
    "detail": "The credentials are valid but lack the scope this endpoint needs.",
    "code": 2041,
}
ANONYMOUS_SESSION_ENDED_CODE = 2013


@dataclass(frozen=True)
class SignedIn:
    """A customer's bearer (of the token service or of a provider) and its context."""

    token: str
    context: str
    customer_id: str

    def headers(self) -> dict[str, str]:
        return shopper_headers(self.token, self.context)


def signed_in(api: APIClient, token: str) -> SignedIn:
    answer = api.get(CONTEXT_URL, **bearer_headers(token))
    assert answer.status_code == 200, answer.content
    return SignedIn(token, answer.json()["customerContext"], answer.json()["customerId"])


def password_sign_in(api: APIClient, client: Client, scope: str | None = None) -> dict[str, Any]:
    """The token response of Ada's password sign-in, asking for ``scope`` if given."""
    form = {"scope": scope} if scope is not None else {}
    answer = token_request(
        api,
        grant_type="password",
        client_id=client.client_id,
        username="ada@example.com",
        password="correct horse battery staple",
        **form,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def guest_token(api: APIClient, client: Client) -> str:
    """A sales channel's guest token (client_credentials of the public client)."""
    answer = token_request(api, grant_type="client_credentials", client_id=client.client_id)
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def client_token(api: APIClient, client: Client) -> str:
    """A confidential client's own token (client_credentials with its secret)."""
    answer = token_request(api, client.basic(), grant_type="client_credentials")
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def add_line(api: APIClient, headers: dict[str, str], sku: str = "MUG", quantity: int = 1) -> Any:
    return api.post(LINES_URL, {"sku": sku, "quantity": quantity}, format="json", **headers)


def cart_lines(body: dict[str, Any]) -> dict[str, int]:
    return {line["sku"]: line["quantity"] for line in body["lines"]}


# --- Who the customer is: the password sign-in and a provider's sign-in, side by side --------


@pytest.fixture(params=["password-grant", "provider"])
def any_customer(
    request: pytest.FixtureRequest,
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    products: dict[str, Any],
) -> SignedIn:
    """A signed-in customer: Ada by the password grant, or a provider's customer."""
    if request.param == "password-grant":
        return signed_in(api, password_tokens(api, sales_channel)["access_token"])
    shopper: CustomerShopper = request.getfixturevalue("customer_shopper")
    session = shopper("provider-customer-1", email="grace@example.com")
    return SignedIn(session.token, session.context, session.customer_id)


@pytest.fixture
def ada(api: APIClient, sales_channel: Client, customer: Customer, products: Any) -> SignedIn:
    """Ada signed in with the password grant, all customer scopes."""
    return signed_in(api, password_tokens(api, sales_channel)["access_token"])


def test_the_password_grant_token_is_of_our_customer_kind(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # given Ada's password sign-in
    tokens = password_sign_in(api, sales_channel)

    # then its access token is a customer token of ours naming her, with every customer scope
    header, claims, _ = segments(tokens["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["token_type"] == "customer_access"
    assert claims["sub"] == str(customer.public_id)
    assert claims["tenant"] == customer.tenant_id
    assert claims["client_id"] == sales_channel.client_id
    assert claims["scope"] == ALL_CUSTOMER_SCOPES
    assert tokens["scope"] == ALL_CUSTOMER_SCOPES


def test_the_customer_context_names_the_customer(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # given Ada's customer token
    token = password_tokens(api, sales_channel)["access_token"]

    # when she asks for a customer context
    answer = api.get(CONTEXT_URL, **bearer_headers(token))

    # then it is a customer's context, for her, in her tenant, not an anonymous one
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body == {
        "isAnonymous": False,
        "customerContext": body["customerContext"],
        "customerId": str(customer.public_id),
    }
    assert answer["Cache-Control"] == "no-store"
    header, claims, _ = segments(body["customerContext"])
    assert header["typ"] == "customer-context+jwt"
    assert claims["token_type"] == "customer_context"
    assert claims["sub"] == str(customer.public_id)
    assert claims["tenant"] == customer.tenant_id
    assert claims["isAnonymous"] is False
    assert "idp" not in claims


def test_every_cart_call_works_for_a_customer_token_as_for_a_providers(
    api: APIClient, any_customer: SignedIn
) -> None:
    headers = any_customer.headers()

    # when the customer reads the empty cart, adds, changes and removes lines, and clears it
    empty = api.get(CART_URL, **headers)
    added = add_line(api, headers, "MUG", 2)
    more = add_line(api, headers, "TEE", 1)
    changed = api.patch(f"{LINES_URL}/MUG", {"quantity": 5}, format="json", **headers)
    removed = api.delete(f"{LINES_URL}/TEE", **headers)
    read = api.get(CART_URL, **headers)
    cleared = api.delete(CART_URL, **headers)

    # then every call answers the customer's (not an anonymous) cart
    assert empty.status_code == 200, empty.content
    assert empty.json() == {
        "id": None,
        "isAnonymous": False,
        "currency": "EUR",
        "lines": [],
        "itemCount": 0,
        "subtotal": "0.00",
        "updatedAt": None,
    }
    cart = Cart.objects.get(customer_id=any_customer.customer_id, status="open")
    assert added.status_code == 200, added.content
    assert added.json()["lines"] == [
        {
            "sku": "MUG",
            "name": "Product MUG",
            "quantity": 2,
            "unitPrice": "9.50",
            "lineTotal": "19.00",
        }
    ]
    assert added.json()["id"] == str(cart.public_id)
    assert added.json()["isAnonymous"] is False
    assert cart_lines(more.json()) == {"MUG": 2, "TEE": 1}
    assert changed.status_code == 200, changed.content
    assert cart_lines(changed.json()) == {"MUG": 5, "TEE": 1}
    assert removed.status_code == 200, removed.content
    assert cart_lines(removed.json()) == {"MUG": 5}
    assert read.json() == {
        "id": str(cart.public_id),
        "isAnonymous": False,
        "currency": "EUR",
        "lines": [
            {
                "sku": "MUG",
                "name": "Product MUG",
                "quantity": 5,
                "unitPrice": "9.50",
                "lineTotal": "47.50",
            }
        ],
        "itemCount": 5,
        "subtotal": "47.50",
        "updatedAt": read.json()["updatedAt"],
    }
    assert read.json()["updatedAt"] >= added.json()["updatedAt"]
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["lines"] == []
    assert cleared.json()["isAnonymous"] is False
    assert Cart.objects.filter(anonymous_id__isnull=False).count() == 0


def test_the_profile_answers_for_a_customer_token_with_the_group(
    api: APIClient, ada: SignedIn, customer: Customer
) -> None:
    # when Ada reads her profile with her customer token
    answer = api.get(PROFILE_URL, **ada.headers())

    # then it is her whole profile, her group included
    assert answer.status_code == 200, answer.content
    customer.refresh_from_db()
    assert answer.json() == {
        "id": str(customer.public_id),
        "email": "ada@example.com",
        "emailVerified": customer.email_verified,
        "name": "Ada",
        "group": "vip",
        "createdAt": iso(customer.created_at),
        "lastSeenAt": iso(customer.last_seen_at),
    }


def test_the_profile_answers_for_a_providers_token_too(
    api: APIClient, any_customer: SignedIn
) -> None:
    # when either kind of customer reads the profile
    answer = api.get(PROFILE_URL, **any_customer.headers())

    # then it is that customer's own
    assert answer.status_code == 200, answer.content
    stored = Customer.objects.get(public_id=any_customer.customer_id)
    assert answer.json()["id"] == any_customer.customer_id
    assert answer.json()["email"] == stored.email
    assert answer.json()["group"] == stored.group


# --- Migrating an anonymous cart into the customer's ----------------------------------------


def test_an_x_auth_key_anonymous_cart_migrates_into_the_customer_token_cart(
    api: APIClient,
    storefront: Storefront,
    any_customer: SignedIn,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given an anonymous shopper of the storefront's X-Auth-Key with a cart, and the customer's
    anonymous = anonymous_shopper(api, storefront.key)
    assert add_line(api, anonymous.headers(), "MUG", 2).status_code == 200
    assert add_line(api, anonymous.headers(), "TEE", 1).status_code == 200
    assert add_line(api, any_customer.headers(), "MUG", 1).status_code == 200

    # when the customer migrates it, proving it with the anonymous token (and it commits)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(
            MIGRATE_URL,
            {"anonymousId": anonymous.anonymous_id, "anonymousToken": anonymous.token},
            format="json",
            **any_customer.headers(),
        )

    # then the anonymous lines are in the customer's cart, and the anonymous session is over
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["cart"]["isAnonymous"] is False
    assert cart_lines(body["cart"]) == {"MUG": 2, "TEE": 1}
    assert body["migration"]["anonymousId"] == anonymous.anonymous_id
    assert body["migration"]["repeated"] is False
    assert cart_lines(api.get(CART_URL, **any_customer.headers()).json()) == {"MUG": 2, "TEE": 1}
    ended = api.get(CART_URL, **anonymous.headers())
    assert ended.status_code == 401
    assert ended.json()["code"] == ANONYMOUS_SESSION_ENDED_CODE


def test_a_guest_token_cart_migrates_into_the_customer_token_cart(
    api: APIClient, sales_channel: Client, ada: SignedIn, django_capture_on_commit_callbacks: Any
) -> None:
    # given a guest of the sales channel (client_credentials) with a cart
    token = guest_token(api, sales_channel)
    _, claims, _ = segments(token)
    assert claims["token_type"] == "anonymous"
    guest = anonymous_shopper_from(api, token, claims["jti"])
    assert add_line(api, guest.headers(), "TEE", 3).status_code == 200

    # when Ada migrates it with her customer token, proving it with the guest token
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(
            MIGRATE_URL,
            {"anonymousId": guest.anonymous_id, "anonymousToken": guest.token},
            format="json",
            **ada.headers(),
        )

    # then the guest's lines are in Ada's cart, and the guest session is over
    assert answer.status_code == 200, answer.content
    assert cart_lines(answer.json()["cart"]) == {"TEE": 3}
    assert answer.json()["migration"]["anonymousId"] == guest.anonymous_id
    cart = Cart.objects.get(customer_id=ada.customer_id, status="open")
    assert answer.json()["cart"]["id"] == str(cart.public_id)
    ended = api.get(CART_URL, **guest.headers())
    assert ended.status_code == 401
    assert ended.json()["code"] == ANONYMOUS_SESSION_ENDED_CODE


def test_migrating_twice_with_a_customer_token_merges_once(
    api: APIClient, storefront: Storefront, ada: SignedIn
) -> None:
    # given an anonymous cart migrated once into Ada's
    anonymous = anonymous_shopper(api, storefront.key)
    assert add_line(api, anonymous.headers(), "MUG", 2).status_code == 200
    body = {"anonymousId": anonymous.anonymous_id, "anonymousToken": anonymous.token}
    first = api.post(MIGRATE_URL, body, format="json", **ada.headers())
    assert first.status_code == 200, first.content

    # when the same migration is asked for again
    second = api.post(MIGRATE_URL, body, format="json", **ada.headers())

    # then it is reported as repeated and quantities are not doubled
    assert second.status_code == 200, second.content
    assert second.json()["migration"]["repeated"] is True
    assert cart_lines(second.json()["cart"]) == {"MUG": 2}


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
