"""POST /oauth/token: client authentication, and the client_credentials, password and refresh_token
grants (RFC 6749), with the answers clients branch on and the state they leave.

Here: client_credentials; Concurrency (PostgreSQL). The other parts of the suite:
test_oauth_client_authentication, test_oauth_password, test_oauth_refresh.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from identity.models import (
    OAuthGrant,
    RefreshToken,
    StorefrontApp,
)
from tests.carts.migration_fixtures import EMPTY_ANONYMOUS_CART
from tests.conftest import Storefront, anonymous_shopper, bearer_headers, tables_snapshot
from tests.identity.oauth_helpers import (
    Client,
    client_token_request,
    customer_headers,
    password_tokens,
    token_request,
)
from tests.identity.oauth_token_common import (
    CART_URL,
    CONTEXT_URL,
    GUEST_SCOPE,
    INTEGRATION_SCOPE,
    LINES_URL,
    PRODUCTS_URL,
    assert_error_code,
    assert_no_store,
    assert_oauth_error,
    claims_of,
    refresh,
)

# --- client_credentials -----------------------------------------------------------------------


def test_a_sales_channel_gets_a_guest_token(
    api: APIClient, storefront: Storefront, sales_channel: Client, products: Any
) -> None:
    # when
    answer = token_request(api, grant_type="client_credentials", client_id=sales_channel.client_id)

    # then an anonymous token under the storefront app's settings, no refresh token
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": storefront.app.anonymous_token_lifetime_seconds,
        "scope": GUEST_SCOPE,
    }
    claims = claims_of(body["access_token"])
    assert claims["token_type"] == "anonymous"
    assert claims["client_id"] == sales_channel.client_id
    assert claims["scope"] == GUEST_SCOPE
    assert claims["app"] == str(storefront.app.public_id)
    assert claims["tenant"] == storefront.tenant.pk
    assert claims["sub"] == claims["jti"]
    assert str(uuid.UUID(claims["jti"])) == claims["jti"]
    assert claims["exp"] - claims["iat"] == storefront.app.anonymous_token_lifetime_seconds

    # and it works like an X-Auth-Key anonymous token: context, cart, add to cart
    context = api.get(CONTEXT_URL, **bearer_headers(body["access_token"]))
    assert context.status_code == 200, context.content
    assert context.json() == {
        "isAnonymous": True,
        "customerContext": context.json()["customerContext"],
    }
    headers = {
        **bearer_headers(body["access_token"]),
        "HTTP_X_CUSTOMER_CONTEXT": context.json()["customerContext"],
    }
    cart = api.get(CART_URL, **headers)
    assert cart.status_code == 200, cart.content
    assert cart.json() == EMPTY_ANONYMOUS_CART
    x_auth_key_shopper = anonymous_shopper(api, storefront.key)
    assert api.get(CART_URL, **x_auth_key_shopper.headers()).json() == cart.json()
    added = api.post(LINES_URL, {"sku": "MUG", "quantity": 2}, format="json", **headers)
    assert added.status_code == 200, added.content
    assert added.json()["itemCount"] == 2


def test_two_guest_tokens_are_two_guests(api: APIClient, sales_channel: Client) -> None:
    # when
    first, second = (
        token_request(api, grant_type="client_credentials", client_id=sales_channel.client_id)
        for _ in range(2)
    )

    # then
    assert (
        claims_of(first.json()["access_token"])["sub"]
        != claims_of(second.json()["access_token"])["sub"]
    )


def test_a_sales_channel_of_an_inactive_storefront_app_is_invalid_client(
    api: APIClient, storefront: Storefront, sales_channel: Client
) -> None:
    # given
    StorefrontApp.objects.filter(pk=storefront.app.pk).update(is_active=False)

    # when
    answer = token_request(api, grant_type="client_credentials", client_id=sales_channel.client_id)

    # then
    assert_oauth_error(
        answer,
        401,
        {"error": "invalid_client", "error_description": "Client authentication failed."},
    )


def test_a_confidential_client_gets_its_own_token(
    api: APIClient, storefront: Storefront, integration: Client, products: Any
) -> None:
    # when
    answer = token_request(api, integration.basic(), grant_type="client_credentials")

    # then
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": INTEGRATION_SCOPE,
    }
    claims = claims_of(body["access_token"])
    assert claims["token_type"] == "client_access"
    assert claims["sub"] == claims["client_id"] == integration.client_id
    assert claims["tenant"] == storefront.tenant.pk
    assert claims["scope"] == INTEGRATION_SCOPE
    assert claims["exp"] - claims["iat"] == 900

    # and it reads the catalog
    catalog = api.get(PRODUCTS_URL, **bearer_headers(body["access_token"]))
    assert catalog.status_code == 200, catalog.content
    assert {product["sku"] for product in catalog.json()["results"]} == {"MUG", "CAP", "TEE"}


def test_a_client_token_is_not_a_shopper(
    api: APIClient, integration: Client, products: Any
) -> None:
    # given a client's own token
    raw_token = token_request(api, integration.basic(), grant_type="client_credentials").json()[
        "access_token"
    ]
    before = tables_snapshot()

    # when it asks for a customer context
    context = api.get(CONTEXT_URL, **bearer_headers(raw_token))

    # then it is refused as no shopper
    assert context.status_code == 403, context.content
    assert context.json()["code"] == 2040
    assert context.json()["type"] == "urn:commerceapi:problem:shopper_required"
    assert tables_snapshot() == before


def test_a_client_token_on_the_cart_is_403_shopper_required(
    api: APIClient, integration: Client, products: Any
) -> None:
    # given a client's own token
    raw_token = token_request(api, integration.basic(), grant_type="client_credentials").json()[
        "access_token"
    ]
    before = tables_snapshot()

    # when it reads or writes the cart
    read = api.get(CART_URL, **bearer_headers(raw_token))
    write = api.post(
        LINES_URL, {"sku": "MUG", "quantity": 1}, format="json", **bearer_headers(raw_token)
    )

    # then
    for answer in (read, write):
        assert answer.status_code == 403, answer.content
        assert answer.json()["code"] == 2040
    assert tables_snapshot() == before


def test_a_client_token_with_a_forged_context_never_reaches_the_cart(
    api: APIClient, storefront: Storefront, integration: Client, products: Any
) -> None:
    # given a client's token and a shopper's context (minted for another bearer)
    raw_token = token_request(api, integration.basic(), grant_type="client_credentials").json()[
        "access_token"
    ]
    shopper = anonymous_shopper(api, storefront.key)
    before = tables_snapshot()

    # when
    answer = api.post(
        LINES_URL,
        {"sku": "MUG", "quantity": 1},
        format="json",
        **bearer_headers(raw_token),
        HTTP_X_CUSTOMER_CONTEXT=shopper.context,
    )

    # then
    assert answer.status_code in (401, 403), answer.content
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    ("fixture", "scope", "granted"),
    [
        pytest.param("integration", "catalog:read", "catalog:read", id="client token"),
        pytest.param(
            "integration", "cart:read catalog:read", "cart:read catalog:read", id="two scopes"
        ),
        pytest.param("sales_channel", "cart:read", "cart:read", id="guest token"),
    ],
)
def test_client_credentials_scope_narrows(
    api: APIClient,
    storefront: Storefront,
    request: pytest.FixtureRequest,
    fixture: str,
    scope: str,
    granted: str,
) -> None:
    # given
    client: Client = request.getfixturevalue(fixture)

    # when
    answer = client_token_request(api, client, grant_type="client_credentials", scope=scope)

    # then
    assert answer.status_code == 200, answer.content
    assert answer.json()["scope"] == granted
    assert claims_of(answer.json()["access_token"])["scope"] == granted


def test_a_narrowed_guest_token_cannot_write_the_cart(
    api: APIClient, sales_channel: Client, products: Any
) -> None:
    # given a guest token that may only read the cart
    raw_token = token_request(
        api, grant_type="client_credentials", client_id=sales_channel.client_id, scope="cart:read"
    ).json()["access_token"]
    headers = customer_headers(api, raw_token)
    before = tables_snapshot()

    # when
    read = api.get(CART_URL, **headers)
    write = api.post(LINES_URL, {"sku": "MUG", "quantity": 1}, format="json", **headers)

    # then
    assert read.status_code == 200, read.content
    assert write.status_code == 403, write.content
    assert write.json()["code"] == 2041
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    ("fixture", "scope", "beyond"),
    [
        pytest.param("integration", "customers:create", "customers:create", id="client"),
        pytest.param(
            "integration", "catalog:read admin", "admin", id="unknown scope beside a good one"
        ),
        pytest.param("sales_channel", "customer:read", "customer:read", id="guest asks customer"),
    ],
)
def test_client_credentials_scope_beyond_the_client_is_invalid_scope(
    api: APIClient,
    storefront: Storefront,
    request: pytest.FixtureRequest,
    fixture: str,
    scope: str,
    beyond: str,
) -> None:
    # given
    client: Client = request.getfixturevalue(fixture)

    # when
    answer = client_token_request(api, client, grant_type="client_credentials", scope=scope)

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_scope",
            "error_description": f"Not granted to this client or subject: {beyond}.",
        },
    )


# --- Concurrency (PostgreSQL) -----------------------------------------------------------------

RACERS = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_of_one_token_rotate_it_once_and_revoke_the_family(
    storefront: Storefront, sales_channel: Client, customer: Any
) -> None:
    # given a sign-in's refresh token
    tokens = password_tokens(APIClient(), sales_channel)
    barrier = threading.Barrier(RACERS)
    answers: list[tuple[int, dict[str, Any]]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def use_it() -> None:
        try:
            client = APIClient()
            barrier.wait(timeout=30)
            answer = refresh(client, sales_channel, tokens["refresh_token"])
            with lock:
                answers.append((answer.status_code, answer.json()))
        except BaseException as error:
            with lock:
                failures.append(error)
        finally:
            connection.close()

    # when ten clients present it at once
    threads = [threading.Thread(target=use_it) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then one rotated it, one more got that same answer (the one retry the reuse grace
    # allows), the others were refused as reuse, and the family is revoked
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 200] + [400] * (RACERS - 2), answers
    assert {body["error"] for status, body in answers if status == 400} == {"invalid_grant"}
    winner, retried = (body for status, body in answers if status == 200)
    assert (retried["access_token"], retried["refresh_token"]) == (
        winner["access_token"],
        winner["refresh_token"],
    )
    grant = OAuthGrant.objects.get()
    assert grant.revoked_at is not None
    assert RefreshToken.objects.filter(grant=grant).count() == 2
    assert RefreshToken.objects.filter(grant=grant, used_at__isnull=False).count() == 1
    assert_error_code(
        refresh(APIClient(), sales_channel, winner["refresh_token"]), 400, "invalid_grant"
    )
