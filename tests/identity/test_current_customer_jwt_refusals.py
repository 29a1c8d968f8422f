"""Refusals; End to end: the example app serving on loopback. Part of the test_current_customer_jwt
suite (see its docstring)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.models import Customer, OAuthClientKind
from identity.oauth.clients import client_set_active
from tests.conftest import Shopper, Storefront, assert_problem, problem, tables_snapshot
from tests.identity.current_customer_common import (
    APP_UNKNOWN,
    CREDENTIALS_MISSING,
    NO_CURRENT_CUSTOMER,
    URL,
    current_jwt,
    token_for,
)
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    make_client,
    password_tokens,
    token_request,
)

# --- Refusals -------------------------------------------------------------------------------


def test_an_anonymous_shopper_has_no_current_customer(
    api: APIClient,
    shopper: Shopper,
    loyalty_app: Client,
) -> None:
    # given an anonymous shopper (X-Auth-Key token and its context)
    before = tables_snapshot()

    # when the storefront asks for a current-customer token
    answer = current_jwt(api, shopper.headers(), loyalty_app.client_id)

    # then 404 no_current_customer, and nothing changed
    assert_problem(answer, NO_CURRENT_CUSTOMER)
    assert tables_snapshot() == before


def test_a_guest_token_has_no_current_customer(
    api: APIClient,
    sales_channel: Client,
    loyalty_app: Client,
) -> None:
    # given a guest of the sales channel (client_credentials)
    guest = token_request(api, grant_type="client_credentials", client_id=sales_channel.client_id)
    assert guest.status_code == 200, guest.content
    headers = customer_headers(api, guest.json()["access_token"])

    # when it asks for a current-customer token
    answer = current_jwt(api, headers, loyalty_app.client_id)

    # then
    assert_problem(answer, NO_CURRENT_CUSTOMER)


@pytest.mark.parametrize(
    "case",
    [
        "unknown app",
        "inactive app",
        "another tenant's app",
        "a sales channel",
        "an integration",
        "garbage",
        "too long",
        "empty",
        "missing",
    ],
)
def test_only_an_active_third_party_app_of_the_tenant_gets_a_token(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    sales_channel: Client,
    integration: Client,
    other_storefront: Storefront,
    case: str,
) -> None:
    # given an app client id that names no active third-party app of Ada's shop
    if case == "inactive app":
        client_set_active(client=loyalty_app.client, is_active=False)
    app_client_id = {
        "unknown app": "ci_" + "0" * 20,
        "inactive app": loyalty_app.client_id,
        "another tenant's app": make_client(
            other_storefront, OAuthClientKind.THIRD_PARTY_APP, name="Loyalty"
        ).client_id,
        "a sales channel": sales_channel.client_id,
        "an integration": integration.client_id,
        "garbage": "../../etc/passwd' OR 1=1",
        "too long": loyalty_app.client_id + "0" * 100,
        "empty": "",
        "missing": None,
    }[case]
    before = tables_snapshot()

    # when the storefront asks for a token for it
    if app_client_id is None:
        answer = api.get(URL, **ada_headers)
    else:
        answer = current_jwt(api, ada_headers, app_client_id)

    # then 404 third_party_app_unknown, and nothing changed
    assert_problem(answer, APP_UNKNOWN)
    assert tables_snapshot() == before


def test_without_a_bearer_the_answer_is_401(
    api: APIClient,
    loyalty_app: Client,
) -> None:
    # when the request carries no credentials
    answer = api.get(URL, {"app_client_id": loyalty_app.client_id})

    # then 401 with a Bearer challenge
    assert_problem(answer, CREDENTIALS_MISSING)
    assert answer["WWW-Authenticate"] == 'Bearer realm="commerceapi"'


def test_a_customer_token_without_customer_read_is_refused(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    loyalty_app: Client,
) -> None:
    # given Ada signed in with a token narrowed to the cart
    narrowed = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username="ada@example.com",
        password="correct horse battery staple",
        scope="cart:read cart:write",
    )
    assert narrowed.status_code == 200, narrowed.content
    headers = customer_headers(api, narrowed.json()["access_token"])

    # when the storefront asks for a current-customer token with it
    answer = current_jwt(api, headers, loyalty_app.client_id)

    # then 403 insufficient_scope
    assert_problem(
        answer,
        problem(
            "insufficient_scope",
            "Insufficient scope",
            403,
            "The credentials are valid but lack the scope this endpoint needs.",
            2041,
        ),
    )


def test_errors_are_problem_json_whatever_accept_asks_for(
    api: APIClient,
    shopper: Shopper,
    loyalty_app: Client,
) -> None:
    # when an anonymous shopper asks, accepting only text/plain
    answer = current_jwt(api, shopper.headers(), loyalty_app.client_id, HTTP_ACCEPT="text/plain")

    # then the error is still a problem document
    assert_problem(answer, NO_CURRENT_CUSTOMER)


# --- End to end: the example app serving on loopback ----------------------------------------


@pytest.fixture
def points_service(
    example: ModuleType,
    loyalty_app: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """The example app on a free loopback port, trusting the loyalty app's secret."""
    monkeypatch.setattr(example, "POINTS", {})
    server = example.PointsServer(
        ("127.0.0.1", 0),
        client_id=loyalty_app.client_id,
        client_secrets=[loyalty_app.secret],
        issuer=settings.TOKEN_ISSUER,
    )
    server.RequestHandlerClass.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/points"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def points_get(url: str, token: str | None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url)  # noqa: S310 (loopback)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_example_app_answers_for_the_customer_of_the_token_only(
    api: APIClient,
    ada_headers: dict[str, str],
    bob_headers: dict[str, str],
    customer: Customer,
    bob: Customer,
    loyalty_app: Client,
    example: ModuleType,
    points_service: str,
) -> None:
    # given the app's points for Ada and Bob
    example.POINTS.update({str(customer.public_id): 120, str(bob.public_id): 7})

    # when each calls the app with their own current-customer token
    ada = points_get(points_service, token_for(api, ada_headers, loyalty_app))
    bob_answer = points_get(points_service, token_for(api, bob_headers, loyalty_app))

    # then each gets their own points, never the other's
    assert ada == (200, {"customerId": str(customer.public_id), "points": 120})
    assert bob_answer == (200, {"customerId": str(bob.public_id), "points": 7})


def test_the_example_app_gives_unknown_customers_zero_points(
    api: APIClient,
    ada_headers: dict[str, str],
    customer: Customer,
    loyalty_app: Client,
    points_service: str,
) -> None:
    # when a customer the app has no points for calls it
    answer = points_get(points_service, token_for(api, ada_headers, loyalty_app))

    # then
    assert answer == (200, {"customerId": str(customer.public_id), "points": 0})


def test_the_example_app_refuses_a_missing_or_foreign_token_with_401(
    api: APIClient,
    ada_headers: dict[str, str],
    sales_channel: Client,
    storefront: Storefront,
    points_service: str,
) -> None:
    # given a token for another app and Ada's access token of this API
    other_app = make_client(storefront, OAuthClientKind.THIRD_PARTY_APP, name="Reviews")
    access_token = password_tokens(api, sales_channel)["access_token"]

    # when they are sent to the app, or nothing is
    answers = [
        points_get(points_service, None),
        points_get(points_service, token_for(api, ada_headers, other_app)),
        points_get(points_service, access_token),
    ]

    # then each is a JSON 401
    for status, body in answers:
        assert status == 401
        assert body["error"] == "invalid_token"
