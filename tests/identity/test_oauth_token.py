"""POST /oauth/token: client authentication, and the client_credentials, password and
refresh_token grants (RFC 6749), with the answers clients branch on and the state they leave."""

from __future__ import annotations

import base64
import secrets
import threading
import types
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from identity.customers.customers import customer_set_active
from identity.http.throttles import OAuthPasswordAddressThrottle, OAuthPasswordClientThrottle
from identity.models import (
    GrantType,
    OAuthClientKind,
    OAuthGrant,
    RefreshToken,
    StorefrontApp,
)
from identity.oauth.clients import client_set_active
from tests.carts.migration_fixtures import EMPTY_ANONYMOUS_CART, EMPTY_CUSTOMER_CART
from tests.conftest import Storefront, anonymous_shopper, bearer_headers, tables_snapshot
from tests.identity.oauth_helpers import (
    EMAIL,
    FORM,
    PASSWORD,
    Client,
    client_token_request,
    customer_headers,
    make_client,
    password_tokens,
    token_request,
)

TOKEN_URL = "/oauth/token"
CART_URL = "/commerceapi/cart"
LINES_URL = "/commerceapi/cart/lines"
CONTEXT_URL = "/commerceapi/authentication/customercontext"
PRODUCTS_URL = "/commerceapi/products"

GUEST_SCOPE = "cart:read cart:write catalog:read customers:create"
CUSTOMER_SCOPE = "cart:read cart:write catalog:read customer:read"
CLIENT_AUTHENTICATION_FAILED = {
    "error": "invalid_client",
    "error_description": "Client authentication failed.",
}
WRONG_PASSWORD = {"error": "invalid_grant", "error_description": "The e-mail or password is wrong."}
LOCKED = {
    "error": "invalid_grant",
    "error_description": "Too many failed sign-ins for this e-mail; try again later.",
}
INVALID_REFRESH_TOKEN = {
    "error": "invalid_grant",
    "error_description": "The refresh token is invalid.",
}


# --- Helpers ----------------------------------------------------------------------------------


def assert_no_store(answer: Any) -> None:
    assert answer["Cache-Control"] == "no-store"
    assert answer["Pragma"] == "no-cache"


def assert_oauth_error(answer: Any, status: int, body: dict[str, str]) -> None:
    """The answer is exactly the RFC 6749 error ``body``, never cached; a 401 names Basic."""
    assert answer.status_code == status, answer.content
    assert answer.json() == body
    assert_no_store(answer)
    if status == 401:
        assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'
    else:
        assert not answer.has_header("WWW-Authenticate")


def assert_error_code(answer: Any, status: int, error: str) -> None:
    """The status and ``error`` code, for answers whose description is not the point."""
    assert answer.status_code == status, answer.content
    assert set(answer.json()) == {"error", "error_description"}
    assert answer.json()["error"] == error
    assert_no_store(answer)


def claims_of(raw_token: str) -> dict[str, Any]:
    """The payload of one of our tokens (its signature is checked by the API calls)."""
    return jwt.decode(raw_token, options={"verify_signature": False})


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def refresh(api: APIClient, client: Client, refresh_token: str, **form: str) -> Any:
    return token_request(
        api,
        grant_type="refresh_token",
        client_id=client.client_id,
        refresh_token=refresh_token,
        **form,
    )


def sign_in(api: APIClient, client: Client, email: str, password: str, **headers: str) -> Any:
    return token_request(
        api,
        headers,
        grant_type="password",
        client_id=client.client_id,
        username=email,
        password=password,
    )


def token_state() -> dict[str, list[dict[str, Any]]]:
    """The tables plus the token service's own rows."""
    return {
        **tables_snapshot(),
        "grants": list(OAuthGrant.objects.order_by("pk").values()),
        "refresh_tokens": list(RefreshToken.objects.order_by("pk").values()),
    }


def row_of(raw_refresh_token: str) -> RefreshToken:
    return RefreshToken.objects.get(prefix=raw_refresh_token.split("_")[1])


# --- Client authentication --------------------------------------------------------------------


def test_client_secret_basic_authenticates_a_confidential_client(
    api: APIClient, integration: Client
) -> None:
    # when
    answer = token_request(api, integration.basic(), grant_type="client_credentials")

    # then
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    assert claims_of(answer.json()["access_token"])["sub"] == integration.client_id


def test_client_secret_post_authenticates_a_confidential_client(
    api: APIClient, integration: Client
) -> None:
    # when
    answer = token_request(
        api,
        grant_type="client_credentials",
        client_id=integration.client_id,
        client_secret=integration.secret,
    )

    # then
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    assert claims_of(answer.json()["access_token"])["sub"] == integration.client_id


def test_both_basic_and_form_secret_at_once_is_invalid_request(
    api: APIClient, integration: Client
) -> None:
    # when the secret comes both ways
    answer = token_request(
        api,
        integration.basic(),
        grant_type="client_credentials",
        client_id=integration.client_id,
        client_secret=integration.secret,
    )

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_request",
            "error_description": "Send the client's credentials one way: header or form.",
        },
    )


def _wrong_secret(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api, basic(integration.client_id, integration.secret + "x"), grant_type="client_credentials"
    )


def _secret_of_another_form(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    # The right shape (cs_<prefix>_<secret>) and the client's own prefix, another secret.
    kind, prefix, _ = integration.secret.split("_", 2)
    forged = f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    return token_request(api, basic(integration.client_id, forged), grant_type="client_credentials")


def _unknown_client_id(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api,
        basic("ci_" + secrets.token_hex(10), integration.secret),
        grant_type="client_credentials",
    )


def _unknown_public_client_id(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(api, grant_type="client_credentials", client_id="ci_" + "0" * 20)


def _malformed_basic(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api, {"HTTP_AUTHORIZATION": "Basic !!not-base64!!"}, grant_type="client_credentials"
    )


def _basic_without_colon(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    encoded = base64.b64encode(integration.client_id.encode()).decode()
    return token_request(
        api, {"HTTP_AUTHORIZATION": f"Basic {encoded}"}, grant_type="client_credentials"
    )


def _other_scheme(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api, {"HTTP_AUTHORIZATION": f"Bearer {integration.secret}"}, grant_type="client_credentials"
    )


def _secret_missing(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(api, grant_type="client_credentials", client_id=integration.client_id)


def _empty_basic_secret(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(api, basic(integration.client_id, ""), grant_type="client_credentials")


def _no_client_at_all(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(api, grant_type="client_credentials")


def _public_client_sends_a_secret(
    api: APIClient, integration: Client, sales_channel: Client
) -> Any:
    return token_request(
        api,
        grant_type="client_credentials",
        client_id=sales_channel.client_id,
        client_secret=integration.secret,
    )


def _public_client_by_basic(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api, basic(sales_channel.client_id, "anything"), grant_type="client_credentials"
    )


def _inactive_client(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    client_set_active(client=integration.client, is_active=False)
    return token_request(api, integration.basic(), grant_type="client_credentials")


def _inactive_public_client(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    client_set_active(client=sales_channel.client, is_active=False)
    return token_request(api, grant_type="client_credentials", client_id=sales_channel.client_id)


def _inactive_tenant(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    tenant = integration.client.tenant
    tenant.is_active = False
    tenant.save()
    return token_request(api, integration.basic(), grant_type="client_credentials")


@pytest.mark.parametrize(
    "attempt",
    [
        pytest.param(_wrong_secret, id="wrong secret"),
        pytest.param(_secret_of_another_form, id="right prefix, wrong secret"),
        pytest.param(_unknown_client_id, id="unknown client_id"),
        pytest.param(_unknown_public_client_id, id="unknown client_id without secret"),
        pytest.param(_malformed_basic, id="malformed Basic header"),
        pytest.param(_basic_without_colon, id="Basic header without colon"),
        pytest.param(_other_scheme, id="Authorization scheme other than Basic"),
        pytest.param(_secret_missing, id="confidential client without its secret"),
        pytest.param(_empty_basic_secret, id="empty secret in Basic"),
        pytest.param(_no_client_at_all, id="no client at all"),
        pytest.param(_public_client_sends_a_secret, id="public client sends a secret"),
        pytest.param(_public_client_by_basic, id="public client by Basic"),
        pytest.param(_inactive_client, id="inactive client"),
        pytest.param(_inactive_public_client, id="inactive public client"),
        pytest.param(_inactive_tenant, id="inactive tenant"),
    ],
)
def test_failed_client_authentication_is_401_invalid_client(
    api: APIClient, integration: Client, sales_channel: Client, attempt: Any
) -> None:
    # when
    answer = attempt(api, integration, sales_channel)

    # then nothing is issued and the answer says only that the client failed
    assert_oauth_error(answer, 401, CLIENT_AUTHENTICATION_FAILED)


def test_a_refused_client_leaves_the_tables_as_they_were(
    api: APIClient, integration: Client, customer: Any
) -> None:
    # given
    before = token_state()

    # when
    answer = token_request(
        api,
        basic(integration.client_id, "wrong"),
        grant_type="password",
        username=EMAIL,
        password=PASSWORD,
    )

    # then
    assert_oauth_error(answer, 401, CLIENT_AUTHENTICATION_FAILED)
    assert token_state() == before


def test_a_json_body_is_invalid_request(api: APIClient, sales_channel: Client) -> None:
    # when the parameters come as JSON
    answer = api.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": sales_channel.client_id},
        format="json",
    )

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_request",
            "error_description": "Send the parameters as application/x-www-form-urlencoded.",
        },
    )


def test_a_repeated_parameter_is_invalid_request(api: APIClient, sales_channel: Client) -> None:
    # when grant_type comes twice
    body = (
        f"grant_type=client_credentials&grant_type=client_credentials"
        f"&client_id={sales_channel.client_id}"
    )
    answer = api.post(TOKEN_URL, body, content_type=FORM)

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_request", "error_description": "The grant_type parameter is repeated."},
    )


@pytest.mark.parametrize("grant_type", [None, ""], ids=["absent", "empty"])
def test_a_missing_grant_type_is_invalid_request(
    api: APIClient, sales_channel: Client, grant_type: str | None
) -> None:
    # given
    form = {"client_id": sales_channel.client_id}
    if grant_type is not None:
        form["grant_type"] = grant_type

    # when
    answer = token_request(api, **form)

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_request", "error_description": "The grant_type parameter is required."},
    )


@pytest.mark.parametrize("grant_type", ["authorization_code", "implicit", "PASSWORD", "x" * 300])
def test_an_unknown_grant_type_is_unsupported_grant_type(
    api: APIClient, sales_channel: Client, grant_type: str
) -> None:
    # when
    answer = token_request(api, grant_type=grant_type, client_id=sales_channel.client_id)

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "unsupported_grant_type", "error_description": "Unknown grant_type."},
    )


@pytest.mark.parametrize(
    ("fixture", "grant_type", "form"),
    [
        pytest.param("loyalty_app", "password", {"username": EMAIL, "password": PASSWORD}),
        pytest.param("loyalty_app", "refresh_token", {"refresh_token": "rt_x"}),
        pytest.param(
            "sales_channel",
            GrantType.TOKEN_EXCHANGE.value,
            {"subject_token": "x", "subject_token_type": "urn:x"},
        ),
    ],
)
def test_a_grant_not_allowed_for_the_client_is_unauthorized_client(
    api: APIClient,
    request: pytest.FixtureRequest,
    customer: Any,
    fixture: str,
    grant_type: str,
    form: dict[str, str],
) -> None:
    # given a client without that grant
    client: Client = request.getfixturevalue(fixture)
    assert grant_type not in client.client.grant_types
    before = token_state()

    # when
    answer = client_token_request(api, client, grant_type=grant_type, **form)

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "unauthorized_client",
            "error_description": f"The client may not use the {grant_type} grant.",
        },
    )
    assert token_state() == before


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
        "scope": CUSTOMER_SCOPE,
    }
    claims = claims_of(body["access_token"])
    assert claims["token_type"] == "client_access"
    assert claims["sub"] == claims["client_id"] == integration.client_id
    assert claims["tenant"] == storefront.tenant.pk
    assert claims["scope"] == CUSTOMER_SCOPE
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


# --- password ---------------------------------------------------------------------------------


def test_password_sign_in_issues_a_customer_token_and_a_refresh_token(
    api: APIClient, storefront: Storefront, sales_channel: Client, customer: Any
) -> None:
    # when
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)

    # then
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": CUSTOMER_SCOPE,
        "refresh_token": body["refresh_token"],
    }
    grant = OAuthGrant.objects.get()
    assert (grant.client_id, grant.customer_id, grant.scope, grant.revoked_at) == (
        sales_channel.client.pk,
        customer.pk,
        CUSTOMER_SCOPE,
        None,
    )
    assert row_of(body["refresh_token"]).grant_id == grant.pk
    claims = claims_of(body["access_token"])
    assert claims["token_type"] == "customer_access"
    assert claims["sub"] == str(customer.public_id)
    assert claims["client_id"] == sales_channel.client_id
    assert claims["tenant"] == storefront.tenant.pk
    assert claims["grant"] == str(grant.public_id)
    assert claims["scope"] == CUSTOMER_SCOPE

    # and the token is the customer's on the cart
    headers = customer_headers(api, body["access_token"])
    cart = api.get(CART_URL, **headers)
    assert cart.status_code == 200, cart.content
    assert cart.json() == EMPTY_CUSTOMER_CART


@pytest.fixture
def hasher_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the test hasher hashes (the tests' PASSWORD_HASHERS is MD5 only)."""
    calls: list[str] = []
    encode = MD5PasswordHasher.encode

    def counting_encode(self: MD5PasswordHasher, password: str, salt: str) -> str:
        calls.append(password)
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting_encode)
    return calls


def test_wrong_password_and_unknown_email_answer_alike_and_both_run_the_hasher(
    api: APIClient, sales_channel: Client, customer: Any, hasher_calls: list[str]
) -> None:
    # given
    before = token_state()

    # when
    wrong_password = sign_in(api, sales_channel, EMAIL, "not the password")
    wrong_password_hashes = len(hasher_calls)
    unknown_email = sign_in(api, sales_channel, "nobody@example.com", "not the password")
    unknown_email_hashes = len(hasher_calls) - wrong_password_hashes

    # then the same answer, and the hasher ran for both
    assert wrong_password.status_code == unknown_email.status_code == 400
    assert wrong_password.json() == unknown_email.json() == WRONG_PASSWORD
    assert_oauth_error(unknown_email, 400, WRONG_PASSWORD)
    assert wrong_password_hashes == unknown_email_hashes == 1
    assert hasher_calls[0] == "not the password"
    assert token_state() == before


@pytest.mark.parametrize(
    "email", ["ADA@EXAMPLE.COM", "Ada@Example.com", "  ada@example.com "], ids=str.strip
)
def test_the_email_is_case_insensitive(
    api: APIClient, sales_channel: Client, customer: Any, email: str
) -> None:
    # when
    answer = sign_in(api, sales_channel, email, PASSWORD)

    # then
    assert answer.status_code == 200, answer.content
    assert claims_of(answer.json()["access_token"])["sub"] == str(customer.public_id)


def test_the_password_is_case_sensitive(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # when
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD.upper())

    # then
    assert_oauth_error(answer, 400, WRONG_PASSWORD)


def test_a_deactivated_customer_cannot_sign_in(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given
    customer_set_active(customer=customer, is_active=False)
    before = token_state()

    # when the right password is sent
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)

    # then it answers as for a wrong password, and no sign-in is recorded
    assert_oauth_error(answer, 400, WRONG_PASSWORD)
    assert token_state() == before


@pytest.mark.parametrize(
    ("form", "missing"),
    [({"password": PASSWORD}, "username"), ({"username": EMAIL}, "password")],
)
def test_password_grant_parameters_are_required(
    api: APIClient, sales_channel: Client, customer: Any, form: dict[str, str], missing: str
) -> None:
    # when
    answer = token_request(api, grant_type="password", client_id=sales_channel.client_id, **form)

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_request", "error_description": f"The {missing} parameter is required."},
    )


def test_the_password_grant_scope_narrows_and_never_widens(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # when
    narrowed = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password=PASSWORD,
        scope="cart:read",
    )
    widened = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password=PASSWORD,
        scope="cart:read customers:create",
    )

    # then
    assert narrowed.status_code == 200, narrowed.content
    assert narrowed.json()["scope"] == "cart:read"
    assert OAuthGrant.objects.get().scope == "cart:read"
    assert_oauth_error(
        widened,
        400,
        {
            "error": "invalid_scope",
            "error_description": "Not granted to this client or subject: customers:create.",
        },
    )
    assert OAuthGrant.objects.count() == 1


@pytest.fixture
def lockout(settings: Any) -> int:
    settings.PASSWORD_LOCKOUT_ATTEMPTS = 3
    settings.PASSWORD_LOCKOUT_SECONDS = 600
    return 3


def test_after_the_allowed_failures_the_right_password_is_refused(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int
) -> None:
    # given as many failures as allowed
    for _ in range(lockout):
        assert_oauth_error(sign_in(api, sales_channel, EMAIL, "guess"), 400, WRONG_PASSWORD)
    before = token_state()

    # when the right password comes
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)

    # then the e-mail is locked, and nothing is issued
    assert_oauth_error(answer, 400, LOCKED)
    assert token_state() == before
    # and another e-mail is not
    assert sign_in(api, sales_channel, "other@example.com", "guess").json() == WRONG_PASSWORD


def test_fewer_failures_than_allowed_do_not_lock_and_a_success_starts_over(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int
) -> None:
    # given one failure short of the lock, then a success
    for _ in range(lockout - 1):
        sign_in(api, sales_channel, EMAIL, "guess")
    assert sign_in(api, sales_channel, EMAIL, PASSWORD).status_code == 200

    # when it fails again, one failure short of the lock
    for _ in range(lockout - 1):
        assert sign_in(api, sales_channel, EMAIL, "guess").json() == WRONG_PASSWORD

    # then the right password still works
    assert sign_in(api, sales_channel, EMAIL, PASSWORD).status_code == 200


def test_an_unknown_email_locks_the_same_way(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int
) -> None:
    # when a known and an unknown e-mail fail the same number of times, then try again
    known = [sign_in(api, sales_channel, EMAIL, "guess") for _ in range(lockout + 1)]
    unknown = [
        sign_in(api, sales_channel, "nobody@example.com", "guess") for _ in range(lockout + 1)
    ]

    # then both answer the same, request by request
    assert [(a.status_code, a.json()) for a in known] == [
        (a.status_code, a.json()) for a in unknown
    ]
    assert [a.json() for a in known] == [WRONG_PASSWORD] * lockout + [LOCKED]
    assert_oauth_error(unknown[-1], 400, LOCKED)


def test_a_locked_email_still_runs_the_hasher(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int, hasher_calls: list[str]
) -> None:
    # given a locked e-mail
    for _ in range(lockout):
        sign_in(api, sales_channel, EMAIL, "guess")
    hashed_before = len(hasher_calls)

    # when
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)

    # then the lock answer takes the hasher's time too
    assert answer.json() == LOCKED
    assert len(hasher_calls) - hashed_before == 1


@pytest.fixture
def cache_clock(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A local-memory cache whose clock the test moves forward (the cache's expiry only)."""
    import django.core.cache.backends.locmem as locmem

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "oauth-token-tests-clock",
        }
    }
    cache.clear()
    offset = {"seconds": 0.0}
    real_time = locmem.time.time
    monkeypatch.setattr(
        locmem, "time", types.SimpleNamespace(time=lambda: real_time() + offset["seconds"])
    )

    def advance(seconds: float) -> None:
        offset["seconds"] += seconds

    return advance


def test_the_lock_ends_after_the_window(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int, cache_clock: Any
) -> None:
    # given a locked e-mail
    for _ in range(lockout):
        sign_in(api, sales_channel, EMAIL, "guess")
    assert sign_in(api, sales_channel, EMAIL, PASSWORD).json() == LOCKED

    # when the window is nearly over, it is still locked
    cache_clock(590)
    assert sign_in(api, sales_channel, EMAIL, PASSWORD).json() == LOCKED

    # then once the window is over the right password works
    cache_clock(11)
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)
    assert answer.status_code == 200, answer.content


@pytest.fixture
def password_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three password sign-ins a minute per address (DRF reads the rates at class definition)."""
    monkeypatch.setattr(
        OAuthPasswordAddressThrottle, "THROTTLE_RATES", {"oauth_password_address": "3/min"}
    )


def test_password_sign_ins_are_throttled_per_address(
    api: APIClient, sales_channel: Client, customer: Any, password_rate: None
) -> None:
    # given an address that used its sign-ins
    for n in range(3):
        answer = sign_in(
            api, sales_channel, f"guess{n}@example.com", "guess", REMOTE_ADDR="198.51.100.7"
        )
        assert answer.json() == WRONG_PASSWORD
    before = token_state()

    # when it tries again, even with the right password
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD, REMOTE_ADDR="198.51.100.7")

    # then
    assert_oauth_error(
        answer,
        429,
        {"error": "slow_down", "error_description": "Too many requests; see Retry-After."},
    )
    assert 1 <= int(answer["Retry-After"]) <= 60
    assert token_state() == before
    # and another address, or another grant from the same address, is not throttled
    other = sign_in(api, sales_channel, EMAIL, PASSWORD, REMOTE_ADDR="198.51.100.8")
    assert other.status_code == 200, other.content
    guest = token_request(
        api,
        {"REMOTE_ADDR": "198.51.100.7"},
        grant_type="client_credentials",
        client_id=sales_channel.client_id,
    )
    assert guest.status_code == 200, guest.content


def test_a_rotating_forwarded_for_does_not_escape_the_password_throttle(
    api: APIClient, sales_channel: Client, customer: Any, password_rate: None, settings: Any
) -> None:
    # given no trusted proxy in front of the API
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    for n in range(3):
        sign_in(
            api,
            sales_channel,
            EMAIL,
            "guess",
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )

    # when the client writes yet another X-Forwarded-For
    answer = sign_in(
        api,
        sales_channel,
        EMAIL,
        PASSWORD,
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )

    # then the socket address decides
    assert_error_code(answer, 429, "slow_down")
    assert answer.has_header("Retry-After")


def test_a_confidential_clients_password_sign_ins_are_throttled_per_client(
    api: APIClient, storefront: Storefront, customer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a web app's server, signing in all its users from one address, and a budget of 3
    monkeypatch.setattr(
        OAuthPasswordClientThrottle, "THROTTLE_RATES", {"oauth_password_client": "3/min"}
    )
    webapp = make_client(storefront, OAuthClientKind.WEBAPP, name="Web app")
    other = make_client(storefront, OAuthClientKind.WEBAPP, name="Other web app")

    def sign_in_through(client: Client) -> Any:
        return token_request(
            api,
            {**client.basic(), "REMOTE_ADDR": "198.51.100.7"},
            grant_type="password",
            username=EMAIL,
            password=PASSWORD,
        )

    # when it signs in more users than its budget
    answers = [sign_in_through(webapp) for _ in range(4)]

    # then the fourth waits, while another client from the same address does not
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"] == "slow_down"
    assert sign_in_through(other).status_code == 200


def test_a_client_without_the_refresh_grant_gets_no_refresh_token(
    api: APIClient, storefront: Storefront, customer: Any
) -> None:
    # given a sales channel that may sign customers in but not refresh
    kiosk = make_client(
        storefront,
        name="Kiosk",
        grant_types=[GrantType.CLIENT_CREDENTIALS, GrantType.PASSWORD],
    )

    # when
    answer = sign_in(api, kiosk, EMAIL, PASSWORD)

    # then an access token alone, belonging to no refresh family
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": CUSTOMER_SCOPE,
    }
    assert "grant" not in claims_of(body["access_token"])
    assert OAuthGrant.objects.count() == RefreshToken.objects.count() == 0
    assert api.get(CART_URL, **customer_headers(api, body["access_token"])).status_code == 200


# --- refresh_token ----------------------------------------------------------------------------


def test_a_refresh_token_rotates(api: APIClient, sales_channel: Client, customer: Any) -> None:
    # given a sign-in
    first = password_tokens(api, sales_channel)

    # when
    answer = refresh(api, sales_channel, first["refresh_token"])

    # then a new refresh token and a new access token of the same sign-in
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": CUSTOMER_SCOPE,
        "refresh_token": body["refresh_token"],
    }
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    grant = OAuthGrant.objects.get()
    assert claims_of(body["access_token"])["grant"] == str(grant.public_id)
    assert claims_of(body["access_token"])["sub"] == str(customer.public_id)
    old, new = row_of(first["refresh_token"]), row_of(body["refresh_token"])
    assert old.used_at is not None
    assert new.used_at is None
    assert old.grant_id == new.grant_id == grant.pk
    assert grant.revoked_at is None
    assert api.get(CART_URL, **customer_headers(api, body["access_token"])).status_code == 200
    # and the new one rotates in turn
    assert refresh(api, sales_channel, body["refresh_token"]).status_code == 200


def test_a_reused_refresh_token_revokes_the_whole_sign_in(
    api: APIClient, sales_channel: Client, customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a sign-in rotated once, with both access tokens in use
    first = password_tokens(api, sales_channel)
    second = refresh(api, sales_channel, first["refresh_token"]).json()
    first_headers = customer_headers(api, first["access_token"])
    second_headers = customer_headers(api, second["access_token"])
    assert api.get(CART_URL, **first_headers).status_code == 200
    assert api.get(CART_URL, **second_headers).status_code == 200

    # when the used refresh token comes again (the revocation reaches the cache on commit)
    with django_capture_on_commit_callbacks(execute=True):
        answer = refresh(api, sales_channel, first["refresh_token"])

    # then it is refused and the whole family is revoked
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_grant",
            "error_description": (
                "The refresh token was used already; the sign-in has been revoked."
            ),
        },
    )
    grant = OAuthGrant.objects.get()
    assert grant.revoked_at is not None
    assert grant.revoked_reason == "refresh token reused"
    assert_oauth_error(
        refresh(api, sales_channel, second["refresh_token"]),
        400,
        {"error": "invalid_grant", "error_description": "The refresh token has been revoked."},
    )
    for headers in (first_headers, second_headers):
        cart = api.get(CART_URL, **headers)
        assert cart.status_code == 401, cart.content
        assert cart.json()["code"] == 2012
    # and a new sign-in is a new family that works
    again = password_tokens(api, sales_channel)
    assert api.get(CART_URL, **customer_headers(api, again["access_token"])).status_code == 200


def test_another_clients_refresh_token_is_invalid_grant_and_changes_nothing(
    api: APIClient, storefront: Storefront, sales_channel: Client, customer: Any
) -> None:
    # given Ada's sign-in through the web shop, and another sales channel
    tokens = password_tokens(api, sales_channel)
    app = make_client(storefront, name="Mobile app")
    before = token_state()

    # when the other client presents the web shop's refresh token
    answer = refresh(api, app, tokens["refresh_token"])

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_grant",
            "error_description": "The refresh token was issued to another client.",
        },
    )
    assert token_state() == before
    assert refresh(api, sales_channel, tokens["refresh_token"]).status_code == 200


def test_an_expired_refresh_token_is_invalid_grant(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given a refresh token left unused past its idle time
    tokens = password_tokens(api, sales_channel)
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    before = token_state()

    # when
    answer = refresh(api, sales_channel, tokens["refresh_token"])

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_grant", "error_description": "The refresh token has expired."},
    )
    assert token_state() == before


def test_a_refresh_token_lives_the_clients_idle_time(
    api: APIClient, storefront: Storefront, customer: Any
) -> None:
    # given a client whose refresh tokens idle out after 10 minutes
    short = make_client(storefront, name="Short")
    short.client.refresh_token_idle_seconds = 600
    short.client.save()

    # when
    tokens = password_tokens(api, short)

    # then
    lifetime = row_of(tokens["refresh_token"]).expires_at - timezone.now()
    assert timedelta(seconds=590) < lifetime <= timedelta(seconds=600)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Moves ``django.utils.timezone.now`` forward (the database timestamps of refresh tokens
    and sign-ins); access tokens keep the real clock."""
    offset = {"seconds": 0}
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(seconds=offset["seconds"]))

    def advance(seconds: int) -> None:
        offset["seconds"] += seconds

    return advance


def test_no_refresh_token_outlives_the_sign_ins_absolute_end(
    api: APIClient, storefront: Storefront, customer: Any, clock: Any
) -> None:
    # given a client: refresh tokens idle out after 300 s, a sign-in ends after 400 s
    short = make_client(storefront, name="Short")
    short.client.refresh_token_idle_seconds = 300
    short.client.refresh_token_absolute_seconds = 400
    short.client.save()
    first = password_tokens(api, short)
    grant = OAuthGrant.objects.get()

    # when it is rotated 250 s later
    clock(250)
    second = refresh(api, short, first["refresh_token"])

    # then the new token ends with the sign-in, not 300 s later; so does the access token
    assert second.status_code == 200, second.content
    assert row_of(second.json()["refresh_token"]).expires_at == grant.expires_at
    assert second.json()["expires_in"] <= 400
    # and after the sign-in's end the last refresh token is refused
    clock(151)
    answer = refresh(api, short, second.json()["refresh_token"])
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_grant", "error_description": "The refresh token has expired."},
    )


def test_a_sign_in_past_its_absolute_end_cannot_refresh(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given a sign-in whose absolute end has passed, its refresh token still within idle time
    tokens = password_tokens(api, sales_channel)
    OAuthGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    # when
    answer = refresh(api, sales_channel, tokens["refresh_token"])

    # then
    assert_error_code(answer, 400, "invalid_grant")


def test_a_deactivated_customer_cannot_refresh(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given
    tokens = password_tokens(api, sales_channel)
    customer_set_active(customer=customer, is_active=False)
    before = token_state()

    # when
    answer = refresh(api, sales_channel, tokens["refresh_token"])

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_grant", "error_description": "The customer is deactivated."},
    )
    assert token_state() == before


def test_refresh_may_narrow_the_scope(api: APIClient, sales_channel: Client, customer: Any) -> None:
    # given
    tokens = password_tokens(api, sales_channel)

    # when
    answer = refresh(api, sales_channel, tokens["refresh_token"], scope="cart:read catalog:read")

    # then
    assert answer.status_code == 200, answer.content
    assert answer.json()["scope"] == "cart:read catalog:read"
    assert claims_of(answer.json()["access_token"])["scope"] == "cart:read catalog:read"


def test_refresh_cannot_widen_the_scope_and_the_token_stays_usable(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given a sign-in that was granted only cart:read
    signed_in = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password=PASSWORD,
        scope="cart:read",
    ).json()
    before = token_state()

    # when a refresh asks for more
    answer = refresh(api, sales_channel, signed_in["refresh_token"], scope="cart:read cart:write")

    # then it is refused, and the refresh token is not consumed
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_scope",
            "error_description": "Not granted to this client or subject: cart:write.",
        },
    )
    assert token_state() == before
    assert row_of(signed_in["refresh_token"]).used_at is None
    again = refresh(api, sales_channel, signed_in["refresh_token"])
    assert again.status_code == 200, again.content
    assert again.json()["scope"] == "cart:read"


def _garbage_of_the_right_shape() -> str:
    return f"rt_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


@pytest.mark.parametrize(
    "raw_token",
    [
        pytest.param("x", id="short"),
        pytest.param("rt_", id="kind only"),
        pytest.param(_garbage_of_the_right_shape(), id="unknown, right shape"),
        pytest.param("cs_0123456789ab_" + "a" * 43, id="another secret kind"),
        pytest.param("rt_0123456789ab_" + "a" * 500, id="too long"),
        pytest.param("rt_0123456789AB_" + "a" * 43, id="upper-case prefix"),
        pytest.param("rt_0123456789ab_" + "é" * 43, id="non-ASCII"),
        pytest.param("rt_0123456789ab_\x00" + "a" * 42, id="NUL"),
        pytest.param("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", id="a JWT"),
        pytest.param("' OR 1=1 --", id="SQL"),
        pytest.param("a" * 16000, id="huge"),
    ],
)
def test_garbage_refresh_tokens_are_invalid_grant(
    api: APIClient, sales_channel: Client, customer: Any, raw_token: str
) -> None:
    # given a live sign-in
    password_tokens(api, sales_channel)
    before = token_state()

    # when
    answer = refresh(api, sales_channel, raw_token)

    # then
    assert_oauth_error(answer, 400, INVALID_REFRESH_TOKEN)
    assert token_state() == before


def test_a_known_prefix_with_a_wrong_secret_is_invalid_and_revokes_nothing(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given a live refresh token, and a guess that shares its lookup prefix
    tokens = password_tokens(api, sales_channel)
    kind, prefix, _ = tokens["refresh_token"].split("_", 2)
    guess = f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    before = token_state()

    # when
    answer = refresh(api, sales_channel, guess)

    # then
    assert_oauth_error(answer, 400, INVALID_REFRESH_TOKEN)
    assert token_state() == before
    assert refresh(api, sales_channel, tokens["refresh_token"]).status_code == 200


def test_a_missing_refresh_token_is_invalid_request(api: APIClient, sales_channel: Client) -> None:
    # when
    answer = token_request(api, grant_type="refresh_token", client_id=sales_channel.client_id)

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_request",
            "error_description": "The refresh_token parameter is required.",
        },
    )


# --- Concurrency (PostgreSQL) -----------------------------------------------------------------

RACERS = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_of_one_token_let_exactly_one_through(
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

    # then one got a new token, the others were refused, and the family is revoked
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [400] * (RACERS - 1), answers
    assert {body["error"] for status, body in answers if status == 400} == {"invalid_grant"}
    winner = next(body for status, body in answers if status == 200)
    grant = OAuthGrant.objects.get()
    assert grant.revoked_at is not None
    assert RefreshToken.objects.filter(grant=grant).count() == 2
    assert RefreshToken.objects.filter(grant=grant, used_at__isnull=False).count() == 1
    assert_error_code(
        refresh(APIClient(), sales_channel, winner["refresh_token"]), 400, "invalid_grant"
    )
