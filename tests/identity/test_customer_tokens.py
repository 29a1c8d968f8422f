"""Customer tokens of the token service everywhere a shopper goes.

A customer signed in with the password grant holds a ``customer_access`` token of ours. It must
work exactly like an identity provider's token: for the customer context, every cart call, the
profile and the migration of an anonymous cart (from an X-Auth-Key anonymous token and from a
sales channel's guest token). Its ``scope`` is enforced; tokens without a scope claim
(X-Auth-Key anonymous tokens, providers' tokens) keep their default scopes. Tokens of other
kinds, and a customer token with another customer's context or another tenant's X-Auth-Key, are
refused.

Here: Who the customer is: the password sign-in and a provider's sign-in, side by side;
Migrating an anonymous cart into the customer's. The other parts of the suite:
test_customer_token_scopes.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from carts.models import Cart
from identity.models import Customer
from tests.conftest import (
    Storefront,
    anonymous_shopper,
    anonymous_shopper_from,
    bearer_headers,
    iso,
)
from tests.identity.customer_tokens_common import (
    ALL_CUSTOMER_SCOPES,
    ANONYMOUS_SESSION_ENDED_CODE,
    CART_URL,
    CONTEXT_URL,
    LINES_URL,
    MIGRATE_URL,
    PROFILE_URL,
    SignedIn,
    add_line,
    cart_lines,
    guest_token,
    password_sign_in,
    signed_in,
)
from tests.identity.oauth_helpers import (
    Client,
    password_tokens,
)
from tests.identity.provider_fixtures import CustomerShopper
from tests.identity.tokens_helpers import segments

pytestmark = pytest.mark.django_db


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
