"""GET /customer/current.jwt: a short HS256 token, signed with a third-party app's own secret,
that tells the app which customer calls it; and the example app of docs/examples that trusts it.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from identity.customers.accounts import local_account_create
from identity.models import Customer, OAuthClientKind, OAuthClientSecret
from identity.oauth.clients import client_secret_rotate, client_set_active
from tests.conftest import Shopper, Storefront, assert_problem, problem, tables_snapshot
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    make_client,
    password_tokens,
    token_request,
)

URL = "/customer/current.jwt"
EXAMPLE_PATH = Path(settings.BASE_DIR) / "docs" / "examples" / "loyalty_points.py"
LIFETIME_SECONDS = 900
BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "a different long passphrase"

APP_UNKNOWN = problem(
    "third_party_app_unknown",
    "Unknown app",
    404,
    "app_client_id names no active third-party app of this shop.",
    2071,
)
CREDENTIALS_MISSING = problem(
    "credentials_missing",
    "Authentication required",
    401,
    "Authentication credentials were not provided.",
    2000,
)
NO_CURRENT_CUSTOMER = problem(
    "no_current_customer",
    "No signed-in customer",
    404,
    "The shopper is anonymous: there is no current customer to name.",
    2072,
)


def load_example() -> ModuleType:
    """docs/examples/loyalty_points.py, imported from its path (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("loyalty_points_example", EXAMPLE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


def kid_of(secret: str) -> str:
    """A client secret reads ``cs_<prefix>_<random>``; the prefix is the token's ``kid``."""
    return secret.split("_")[1]


def verify(token: str, app: Client, secret: str | None = None) -> dict[str, Any]:
    """The token's claims, verified as the app would: HS256, its secret, its id as ``aud``."""
    return jwt.decode(
        token,
        secret or app.secret,
        algorithms=["HS256"],
        audience=app.client_id,
        issuer=settings.TOKEN_ISSUER,
        options={"require": ["exp", "iat", "aud", "iss", "jti"]},
    )


def current_jwt(api: APIClient, headers: dict[str, str], app_client_id: str, **extra: str) -> Any:
    return api.get(URL, {"app_client_id": app_client_id}, **headers, **extra)


def token_for(api: APIClient, headers: dict[str, str], app: Client) -> str:
    answer = current_jwt(api, headers, app.client_id)
    assert answer.status_code == 200, answer.content
    return answer.content.decode()


@pytest.fixture
def ada_headers(api: APIClient, sales_channel: Client, customer: Customer) -> dict[str, str]:
    return customer_headers(api, password_tokens(api, sales_channel)["access_token"])


@pytest.fixture
def bob(storefront: Storefront) -> Customer:
    return local_account_create(
        tenant=storefront.tenant, email=BOB_EMAIL, password=BOB_PASSWORD, name="Bob"
    )


@pytest.fixture
def bob_headers(api: APIClient, sales_channel: Client, bob: Customer) -> dict[str, str]:
    tokens = password_tokens(api, sales_channel, BOB_EMAIL, BOB_PASSWORD)
    return customer_headers(api, tokens["access_token"])


# --- The token ------------------------------------------------------------------------------


def test_a_signed_in_customer_gets_a_token_the_app_verifies_with_its_secret(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    customer: Customer,
    storefront: Storefront,
) -> None:
    # given Ada, signed in at the storefront, and the loyalty app of her shop
    before = int(time.time())

    # when the storefront asks for a current-customer token for the app
    answer = current_jwt(api, ada_headers, loyalty_app.client_id)

    # then it is plain text, never cached, and verifies with the app's own secret
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer["Cache-Control"] == "no-store"
    token = answer.content.decode()
    claims = verify(token, loyalty_app)
    assert claims == {
        "iss": settings.TOKEN_ISSUER,
        "aud": loyalty_app.client_id,
        "iat": claims["iat"],
        "exp": claims["iat"] + LIFETIME_SECONDS,
        "jti": claims["jti"],
        "operation": "current_customer",
        "tenant": "acme",
        "customer": {"id": str(customer.public_id), "email": "ada@example.com", "group": "vip"},
    }
    assert before <= claims["iat"] <= int(time.time())
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert jwt.get_unverified_header(token) == {
        "alg": "HS256",
        "kid": kid_of(loyalty_app.secret),
        "typ": "JWT",
    }
    assert storefront.tenant.slug == "acme"


def test_each_token_has_its_own_jti(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
) -> None:
    # given two tokens for the same customer and app
    first = verify(token_for(api, ada_headers, loyalty_app), loyalty_app)
    second = verify(token_for(api, ada_headers, loyalty_app), loyalty_app)

    # then they are told apart by jti
    assert first["jti"] != second["jti"]


@pytest.mark.parametrize("accept", ["text/plain", "application/json", "*/*"])
def test_any_accept_header_gets_the_plain_text_token(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    accept: str,
) -> None:
    # when the storefront sends this Accept header
    answer = current_jwt(api, ada_headers, loyalty_app.client_id, HTTP_ACCEPT=accept)

    # then the token, as text/plain
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    verify(answer.content.decode(), loyalty_app)


def test_during_a_rotation_the_old_secret_signs_until_its_overlap_ends(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    example: ModuleType,
) -> None:
    # given a token signed before the rotation
    old_token = token_for(api, ada_headers, loyalty_app)

    # when the operator rotates the app's secret with an hour of overlap
    new_secret = client_secret_rotate(client=loyalty_app.client, overlap=timedelta(hours=1))
    during = token_for(api, ada_headers, loyalty_app)

    # then the old secret keeps signing, so an app not yet given the new one still works
    assert jwt.get_unverified_header(during)["kid"] == kid_of(loyalty_app.secret)
    assert verify(during, loyalty_app, loyalty_app.secret)["operation"] == "current_customer"
    # and once the overlap has ended the new secret signs, and the old one no longer verifies
    OAuthClientSecret.objects.filter(client=loyalty_app.client).exclude(
        expires_at__isnull=True
    ).update(expires_at=timezone.now() - timedelta(seconds=1))
    after = token_for(api, ada_headers, loyalty_app)
    assert jwt.get_unverified_header(after)["kid"] == kid_of(new_secret)
    assert verify(after, loyalty_app, new_secret)["operation"] == "current_customer"
    with pytest.raises(jwt.InvalidSignatureError):
        verify(after, loyalty_app, loyalty_app.secret)
    # and an app holding both secrets accepts every one of these tokens
    both = [new_secret, loyalty_app.secret]
    for token in (old_token, during, after):
        claims = example.verify_current_customer_token(
            token,
            client_id=loyalty_app.client_id,
            client_secret=both,
            issuer=settings.TOKEN_ISSUER,
        )
        assert claims["operation"] == "current_customer"


def test_a_rotation_without_overlap_signs_with_the_new_secret_at_once(
    api: APIClient, ada_headers: dict[str, str], loyalty_app: Client
) -> None:
    # when the operator rotates a leaked secret with no overlap
    new_secret = client_secret_rotate(client=loyalty_app.client, overlap=timedelta(0))

    # then
    token = token_for(api, ada_headers, loyalty_app)
    assert jwt.get_unverified_header(token)["kid"] == kid_of(new_secret)
    assert verify(token, loyalty_app, new_secret)["operation"] == "current_customer"


def test_the_token_grants_nothing_at_this_api(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
) -> None:
    # given a current-customer token, which the storefront hands to an app
    token = token_for(api, ada_headers, loyalty_app)

    # when someone sends it to this API as a bearer
    answers = [
        api.get(
            "/commerceapi/authentication/customercontext", HTTP_AUTHORIZATION=f"Bearer {token}"
        ),
        api.get(
            URL, {"app_client_id": loyalty_app.client_id}, HTTP_AUTHORIZATION=f"Bearer {token}"
        ),
    ]

    # then it is refused: it is signed with the app's secret, not by the keyring
    for answer in answers:
        assert answer.status_code == 401, answer.content
        assert answer.json()["code"] == 2010


# --- The example app's verification ---------------------------------------------------------


def test_the_example_accepts_a_real_token(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    customer: Customer,
    example: ModuleType,
) -> None:
    # given a real current-customer token
    token = token_for(api, ada_headers, loyalty_app)

    # when the example app verifies it
    claims = example.verify_current_customer_token(
        token,
        client_id=loyalty_app.client_id,
        client_secret=loyalty_app.secret,
        issuer=settings.TOKEN_ISSUER,
    )

    # then it gets the same claims as PyJWT, naming Ada
    assert claims == verify(token, loyalty_app)
    assert claims["customer"]["id"] == str(customer.public_id)


def _forge(secret: str, *, algorithm: str = "HS256", **changes: Any) -> str:
    """A token like the API's, signed with ``secret``, with ``changes`` to its claims."""
    now = int(time.time())
    claims = {
        "iss": settings.TOKEN_ISSUER,
        "aud": "",
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": "forged-jti-0000000000",
        "operation": "current_customer",
        "tenant": "acme",
        "customer": {"id": "00000000-0000-0000-0000-000000000001", "email": "", "group": ""},
    }
    claims.update(changes)
    key = secret if algorithm != "none" else None
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid_of(secret)})


def _tampered(token: str) -> str:
    """The token with its payload rewritten to name another customer, signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["customer"]["id"] = "00000000-0000-0000-0000-000000000002"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{forged}.{signature}"


def _forge_without(secret: str, claim: str, **changes: Any) -> str:
    payload = jwt.decode(_forge(secret, **changes), options={"verify_signature": False})
    del payload[claim]
    return jwt.encode(payload, secret, algorithm="HS256", headers={"kid": kid_of(secret)})


@pytest.mark.parametrize(
    "case",
    [
        "another app's token",
        "another app's secret",
        "tampered payload",
        "expired",
        "alg none",
        "another operation",
        "another issuer",
        "no jti",
        "garbage",
    ],
)
def test_the_example_refuses_tokens_not_for_it(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    storefront: Storefront,
    example: ModuleType,
    case: str,
) -> None:
    # given a token that is not a valid current-customer token for the loyalty app
    other_app = make_client(storefront, OAuthClientKind.THIRD_PARTY_APP, name="Reviews")
    secret, aud, now = loyalty_app.secret, loyalty_app.client_id, int(time.time())
    token = {
        "another app's token": lambda: token_for(api, ada_headers, other_app),
        "another app's secret": lambda: _forge(other_app.secret, aud=aud),
        "tampered payload": lambda: _tampered(token_for(api, ada_headers, loyalty_app)),
        "expired": lambda: _forge(secret, aud=aud, iat=now - 3600, exp=now - 120),
        "alg none": lambda: _forge(secret, algorithm="none", aud=aud),
        "another operation": lambda: _forge(secret, aud=aud, operation="customer_profile"),
        "another issuer": lambda: _forge(secret, aud=aud, iss="https://evil.example"),
        "no jti": lambda: _forge_without(secret, "jti", aud=aud),
        "garbage": lambda: "not.a.jwt",
    }[case]()

    # when the example app verifies it, then it refuses it
    with pytest.raises(example.TokenRefused):
        example.verify_current_customer_token(
            token, client_id=aud, client_secret=secret, issuer=settings.TOKEN_ISSUER
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
