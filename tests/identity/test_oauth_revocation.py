"""RFC 7009 revocation (POST /oauth/revoke) and RFC 7662 introspection (POST /oauth/introspect).

A client revokes only its own tokens: anything else (unknown, garbage, another client's) is a
200 that changes nothing. Revoking an access token ends it on its next use; revoking a refresh
token ends its whole sign-in, access tokens included. Introspection is for confidential clients
and says ``{"active": false}`` and nothing more about a token that does not work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.accounts import local_account_create
from identity.customers import customer_set_active
from identity.models import Customer, GrantType
from identity.tokens import CustomerAccessToken, token_decode
from tests.conftest import Storefront, assert_problem, bearer_headers, tables_snapshot
from tests.identity.oauth_helpers import (
    PASSWORD,
    Client,
    customer_headers,
    make_client,
    oauth_post,
    password_tokens,
    token_request,
)
from tests.identity.tokens_helpers import PROBLEMS, assert_unauthorized, sign
from tests.servers import suite_database_url

CART_URL = "/commerceapi/cart"
PRODUCTS_URL = "/commerceapi/products"
REVOKE_URL = "/oauth/revoke"
INTROSPECT_URL = "/oauth/introspect"
EXCHANGE = GrantType.TOKEN_EXCHANGE.value
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ALL_CUSTOMER_SCOPES = "cart:read cart:write catalog:read customer:read"
INACTIVE = {"active": False}
CATALOG_CHALLENGES = 'X-Auth-Key realm="commerceapi", Bearer realm="commerceapi"'

CaptureOnCommit = Callable[..., Any]


# --- Helpers --------------------------------------------------------------------------------


def revoke(api: APIClient, client: Client, token: str, **form: str) -> Any:
    """Revoke ``token`` as ``client``: Basic for a confidential client, client_id for a public
    one."""
    if client.secret:
        return oauth_post(api, REVOKE_URL, client.basic(), token=token, **form)
    return oauth_post(api, REVOKE_URL, client_id=client.client_id, token=token, **form)


def revoke_committed(
    api: APIClient, capture: CaptureOnCommit, client: Client, token: str, **form: str
) -> Any:
    """Revoke, with the after-commit cache writes run as they run outside a test transaction."""
    with capture(execute=True):
        answer = revoke(api, client, token, **form)
    assert answer.status_code == 200, answer.content
    assert answer.content == b""
    assert answer["Cache-Control"] == "no-store"
    return answer


def introspect(api: APIClient, client: Client, token: str) -> Any:
    answer = oauth_post(api, INTROSPECT_URL, client.basic(), token=token)
    assert answer["Cache-Control"] == "no-store"
    return answer


def introspection(api: APIClient, client: Client, token: str) -> dict[str, Any]:
    answer = introspect(api, client, token)
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def claims_of(raw_token: str) -> dict[str, Any]:
    return dict(token_decode(CustomerAccessToken, raw_token).payload)


def cart_status(api: APIClient, access_token: str, context_headers: dict[str, str]) -> int:
    """The status of reading the cart with ``access_token`` and its (earlier minted) context."""
    assert context_headers["HTTP_AUTHORIZATION"] == f"Bearer {access_token}"
    return int(api.get(CART_URL, **context_headers).status_code)


def refresh(api: APIClient, client: Client, refresh_token: str) -> Any:
    if client.secret:
        return token_request(
            api, client.basic(), grant_type="refresh_token", refresh_token=refresh_token
        )
    return token_request(
        api, grant_type="refresh_token", client_id=client.client_id, refresh_token=refresh_token
    )


def client_token(api: APIClient, client: Client) -> str:
    answer = token_request(api, client.basic(), grant_type="client_credentials")
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def integration_sign_in(api: APIClient, client: Client) -> dict[str, Any]:
    """A password sign-in through the confidential client (it holds every grant)."""
    answer = token_request(
        api,
        client.basic(),
        grant_type="password",
        username="ada@example.com",
        password=PASSWORD,
    )
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def expired_customer_token(storefront: Storefront, customer: Customer, client: Client) -> str:
    now = int(time.time())
    return sign(
        {
            "token_type": "customer_access",
            "exp": now - 60,
            "iat": now - 960,
            "jti": uuid.uuid4().hex,
            "sub": str(customer.public_id),
            "tenant": storefront.tenant.pk,
            "client_id": client.client_id,
            "scope": "cart:read",
            "iss": settings.TOKEN_ISSUER,
            "aud": settings.TOKEN_AUDIENCE,
        }
    )


# --- Revoking access tokens -----------------------------------------------------------------


def test_revoking_a_customer_token_ends_it_on_its_next_use(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer token that works on the cart (its answer now cached), and another
    # sign-in of the same customer
    signed_in = password_tokens(api, sales_channel)
    token = signed_in["access_token"]
    headers = customer_headers(api, token)
    assert cart_status(api, token, headers) == 200
    other = password_tokens(api, sales_channel)["access_token"]
    other_headers = customer_headers(api, other)

    # when the web shop revokes the first token with its client_id
    revoke_committed(api, django_capture_on_commit_callbacks, sales_channel, token)

    # then that token is refused on its next use, as revoked
    assert_unauthorized(api.get(CART_URL, **headers), 2012)
    # and the other sign-in's token, and the sign-in's refresh token, still work
    assert cart_status(api, other, other_headers) == 200
    assert refresh(api, sales_channel, signed_in["refresh_token"]).status_code == 200


def test_revoking_a_client_token_with_basic_auth_ends_it(
    api: APIClient,
    integration: Client,
    products: dict[str, Any],
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given the ERP's own token, reading the catalog
    token = client_token(api, integration)
    assert api.get(PRODUCTS_URL, **bearer_headers(token)).status_code == 200
    later = client_token(api, integration)

    # when the ERP revokes it (client_secret_basic), with a hint
    revoke_committed(
        api, django_capture_on_commit_callbacks, integration, token, token_type_hint="access_token"
    )

    # then the token is refused on the catalog, while the ERP's other token still reads it
    refused = api.get(PRODUCTS_URL, **bearer_headers(token))
    assert_problem(refused, PROBLEMS[2012])
    assert refused["WWW-Authenticate"] == CATALOG_CHALLENGES
    assert api.get(PRODUCTS_URL, **bearer_headers(later)).status_code == 200


def test_revoking_a_token_twice_is_still_200(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a revoked token
    token = password_tokens(api, sales_channel)["access_token"]
    revoke_committed(api, django_capture_on_commit_callbacks, sales_channel, token)

    # when it is revoked again, then 200 again
    revoke_committed(api, django_capture_on_commit_callbacks, sales_channel, token)


# --- Revoking refresh tokens ----------------------------------------------------------------


def test_revoking_a_refresh_token_ends_the_whole_sign_in(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a sign-in with two access tokens (the second from a refresh), a token the ERP got
    # by exchanging one of them, and another sign-in of the same customer, all working
    first = password_tokens(api, sales_channel)
    rotated = refresh(api, sales_channel, first["refresh_token"]).json()
    exchanged = token_request(
        api,
        integration.basic(),
        grant_type=EXCHANGE,
        subject_token=rotated["access_token"],
        subject_token_type=ACCESS_TOKEN_TYPE,
    ).json()["access_token"]
    other = password_tokens(api, sales_channel)
    sessions = {
        name: (token, customer_headers(api, token))
        for name, token in {
            "first": first["access_token"],
            "rotated": rotated["access_token"],
            "exchanged": exchanged,
            "other": other["access_token"],
        }.items()
    }
    assert {name: cart_status(api, *session) for name, session in sessions.items()} == {
        "first": 200,
        "rotated": 200,
        "exchanged": 200,
        "other": 200,
    }

    # when the web shop revokes the sign-in's current refresh token
    revoke_committed(
        api,
        django_capture_on_commit_callbacks,
        sales_channel,
        rotated["refresh_token"],
        token_type_hint="refresh_token",
    )

    # then the refresh token is refused
    refused = refresh(api, sales_channel, rotated["refresh_token"])
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "The refresh token has been revoked.",
    }
    # and every access token of that sign-in is refused, the other sign-in's is not
    assert {name: cart_status(api, *session) for name, session in sessions.items()} == {
        "first": 401,
        "rotated": 401,
        "exchanged": 401,
        "other": 200,
    }
    assert_unauthorized(api.get(CART_URL, **sessions["first"][1]), 2012)
    assert refresh(api, sales_channel, other["refresh_token"]).status_code == 200


# --- What a client may not revoke -------------------------------------------------------------


@dataclass
class Tokens:
    """One of each kind of token, held by the web shop and by the ERP."""

    shop_customer: str
    shop_refresh: str
    erp_client: str
    erp_customer: str
    erp_refresh: str


@pytest.fixture
def tokens(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> Tokens:
    shop = password_tokens(api, sales_channel)
    erp = integration_sign_in(api, integration)
    return Tokens(
        shop_customer=shop["access_token"],
        shop_refresh=shop["refresh_token"],
        erp_client=client_token(api, integration),
        erp_customer=erp["access_token"],
        erp_refresh=erp["refresh_token"],
    )


def assert_all_tokens_work(
    api: APIClient, tokens: Tokens, sales_channel: Client, integration: Client
) -> None:
    """Every access token still works, and every refresh token still refreshes (each check
    uses a refresh token once, so this is the last thing a test does)."""
    assert api.get(CART_URL, **customer_headers(api, tokens.shop_customer)).status_code == 200
    assert api.get(CART_URL, **customer_headers(api, tokens.erp_customer)).status_code == 200
    assert api.get(PRODUCTS_URL, **bearer_headers(tokens.erp_client)).status_code == 200
    assert refresh(api, sales_channel, tokens.shop_refresh).status_code == 200
    assert refresh(api, integration, tokens.erp_refresh).status_code == 200


@pytest.mark.parametrize(
    ("revoker", "token"),
    [
        pytest.param("shop", "unknown-refresh", id="unknown refresh token"),
        pytest.param("shop", "garbage", id="garbage"),
        pytest.param("shop", "erp_client", id="the ERP's client token, by the web shop"),
        pytest.param("shop", "erp_customer", id="the ERP's customer token, by the web shop"),
        pytest.param("shop", "erp_refresh", id="the ERP's refresh token, by the web shop"),
        pytest.param("erp", "shop_customer", id="the web shop's customer token, by the ERP"),
        pytest.param("erp", "shop_refresh", id="the web shop's refresh token, by the ERP"),
    ],
)
def test_revoking_what_is_not_the_clients_own_is_200_and_changes_nothing(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    tokens: Tokens,
    products: dict[str, Any],
    django_capture_on_commit_callbacks: CaptureOnCommit,
    revoker: str,
    token: str,
) -> None:
    # given a token the revoking client was not issued (the others all working)
    raw_token = {
        "unknown-refresh": "rt_0123456789ab_" + "A" * 43,
        "garbage": "this is not a token",
    }.get(token) or getattr(tokens, token)
    client = sales_channel if revoker == "shop" else integration
    before = tables_snapshot()

    # when the client revokes it
    revoke_committed(api, django_capture_on_commit_callbacks, client, raw_token)

    # then nothing was revoked: no row written, and every token still works
    assert tables_snapshot() == before
    assert_all_tokens_work(api, tokens, sales_channel, integration)


def test_revoking_a_token_of_another_tenants_client_changes_nothing(
    api: APIClient,
    other_storefront: Storefront,
    integration: Client,
    tokens: Tokens,
    sales_channel: Client,
    products: dict[str, Any],
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a client of another tenant
    globex = make_client(other_storefront, name="Globex shop")
    before = tables_snapshot()

    # when it revokes this tenant's tokens
    for raw_token in (tokens.shop_customer, tokens.erp_client, tokens.shop_refresh):
        revoke_committed(api, django_capture_on_commit_callbacks, globex, raw_token)

    # then they all still work
    assert tables_snapshot() == before
    assert_all_tokens_work(api, tokens, sales_channel, integration)


def test_revocation_without_a_token_is_invalid_request(
    api: APIClient, sales_channel: Client, integration: Client
) -> None:
    for answer in (
        oauth_post(api, REVOKE_URL, client_id=sales_channel.client_id),
        oauth_post(api, REVOKE_URL, integration.basic(), token=""),
    ):
        assert answer.status_code == 400, answer.content
        assert answer.json() == {
            "error": "invalid_request",
            "error_description": "The token parameter is required.",
        }
        assert answer["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param("wrong secret", id="wrong secret"),
        pytest.param("unknown client", id="unknown client"),
        pytest.param("no client", id="no client"),
        pytest.param("confidential without secret", id="confidential client without secret"),
        pytest.param("public with secret", id="public client with a secret"),
    ],
)
def test_revocation_with_bad_client_authentication_is_invalid_client(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    tokens: Tokens,
    products: dict[str, Any],
    django_capture_on_commit_callbacks: CaptureOnCommit,
    credentials: str,
) -> None:
    # given a request for the ERP's client token with bad client credentials
    form: dict[str, str] = {"token": tokens.erp_client}
    headers: dict[str, str] = {}
    if credentials == "wrong secret":
        headers = Client(integration.client, integration.secret[:-3] + "abc").basic()
    elif credentials == "unknown client":
        form["client_id"] = "ci_" + "0" * 20
    elif credentials == "confidential without secret":
        form["client_id"] = integration.client_id
    elif credentials == "public with secret":
        form |= {"client_id": sales_channel.client_id, "client_secret": "cs_x"}
    before = tables_snapshot()

    # when it is sent
    with django_capture_on_commit_callbacks(execute=True):
        answer = oauth_post(api, REVOKE_URL, headers, **form)

    # then 401 invalid_client with the Basic challenge, and the token still works
    assert answer.status_code == 401, answer.content
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'
    assert answer["Cache-Control"] == "no-store"
    assert tables_snapshot() == before
    assert api.get(PRODUCTS_URL, **bearer_headers(tokens.erp_client)).status_code == 200


# --- Introspection: who may ask -----------------------------------------------------------------


def test_introspection_by_a_public_client_is_invalid_client(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # given the web shop's own active customer token
    token = password_tokens(api, sales_channel)["access_token"]

    # when the public web shop asks about it
    answer = oauth_post(api, INTROSPECT_URL, client_id=sales_channel.client_id, token=token)

    # then 401 invalid_client
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    assert answer["Cache-Control"] == "no-store"


def test_introspection_with_a_wrong_secret_is_invalid_client(
    api: APIClient, integration: Client
) -> None:
    token = client_token(api, integration)
    impostor = Client(integration.client, integration.secret[:-3] + "abc")

    answer = introspect(api, impostor, token)

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_introspection_without_a_token_is_invalid_request(
    api: APIClient, integration: Client
) -> None:
    answer = introspect(api, integration, "")

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "The token parameter is required.",
    }


# --- Introspection: active tokens -------------------------------------------------------------


def test_active_customer_token_is_described(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given a customer token of the web shop
    token = password_tokens(api, sales_channel)["access_token"]
    claims = claims_of(token)

    # when the ERP introspects it
    answer = introspection(api, integration, token)

    # then it is active, described by its claims
    assert answer == {
        "active": True,
        "token_type": "Bearer",
        "scope": ALL_CUSTOMER_SCOPES,
        "client_id": sales_channel.client_id,
        "sub": str(customer.public_id),
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
        "exp": claims["exp"],
        "iat": int(claims["iat"]),
        "jti": claims["jti"],
        "kind": "customer",
    }


def test_active_exchanged_token_shows_its_actor_and_custom_claims(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given a token the ERP got by exchange, narrowed, with custom claims
    subject = password_tokens(api, sales_channel)["access_token"]
    token = token_request(
        api,
        integration.basic(),
        grant_type=EXCHANGE,
        subject_token=subject,
        subject_token_type=ACCESS_TOKEN_TYPE,
        scope="cart:read",
        custom_claims='{"tier": "gold"}',
    ).json()["access_token"]
    claims = claims_of(token)

    # when the ERP introspects it
    answer = introspection(api, integration, token)

    # then act and the custom claims are shown too
    assert answer == {
        "active": True,
        "token_type": "Bearer",
        "scope": "cart:read",
        "client_id": integration.client_id,
        "sub": str(customer.public_id),
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
        "exp": claims["exp"],
        "iat": int(claims["iat"]),
        "jti": claims["jti"],
        "kind": "customer",
        "act": {"sub": integration.client_id},
        "urn:commerceapi:claims": {"tier": "gold"},
    }


def test_active_client_token_is_described(api: APIClient, integration: Client) -> None:
    # given the ERP's own token, narrowed to catalog:read
    answer = token_request(
        api, integration.basic(), grant_type="client_credentials", scope="catalog:read"
    )
    token = answer.json()["access_token"]

    # when the ERP introspects it
    described = introspection(api, integration, token)

    # then it is the ERP's client token
    assert described == {
        "active": True,
        "token_type": "Bearer",
        "scope": "catalog:read",
        "client_id": integration.client_id,
        "sub": integration.client_id,
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
        "exp": described["exp"],
        "iat": described["iat"],
        "jti": described["jti"],
        "kind": "client",
    }
    assert described["exp"] - described["iat"] == integration.client.access_token_lifetime_seconds


# --- Introspection: tokens that do not work -------------------------------------------------------


def _revoked(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    customer: Customer,
    capture: CaptureOnCommit,
) -> str:
    token = password_tokens(api, sales_channel)["access_token"]
    revoke_committed(api, capture, sales_channel, token)
    return str(token)


def _expired(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    customer: Customer,
    capture: CaptureOnCommit,
) -> str:
    return expired_customer_token(storefront, customer, sales_channel)


def _garbage(*_: Any) -> str:
    return "eyJhbGciOiJIUzI1NiJ9.garbage.garbage"


def _other_tenant(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    customer: Customer,
    capture: CaptureOnCommit,
) -> str:
    globex = make_client(other_storefront, name="Globex shop")
    local_account_create(
        tenant=other_storefront.tenant, email="bob@example.com", password="x9 long phrase!"
    )
    return str(password_tokens(api, globex, "bob@example.com", "x9 long phrase!")["access_token"])


def _deactivated_customer(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    customer: Customer,
    capture: CaptureOnCommit,
) -> str:
    token = password_tokens(api, sales_channel)["access_token"]
    with capture(execute=True):
        customer_set_active(customer=customer, is_active=False)
    return str(token)


def _revoked_sign_in(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    customer: Customer,
    capture: CaptureOnCommit,
) -> str:
    signed_in = password_tokens(api, sales_channel)
    revoke_committed(api, capture, sales_channel, signed_in["refresh_token"])
    return str(signed_in["access_token"])


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(_revoked, id="revoked"),
        pytest.param(_revoked_sign_in, id="its sign-in revoked"),
        pytest.param(_expired, id="expired"),
        pytest.param(_garbage, id="garbage"),
        pytest.param(_other_tenant, id="another tenant's"),
        pytest.param(_deactivated_customer, id="customer deactivated"),
    ],
)
def test_token_that_does_not_work_is_only_inactive(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
    make_token: Callable[..., str],
) -> None:
    # given a token that does not (or no longer) work here
    capture = django_capture_on_commit_callbacks
    token = make_token(api, storefront, other_storefront, sales_channel, customer, capture)

    # when the ERP introspects it
    answer = introspection(api, integration, token)

    # then the answer is exactly {"active": false}
    assert answer == INACTIVE


def test_token_is_active_until_it_is_revoked(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given an active token, introspected once (the answer of the revocation check cached)
    token = password_tokens(api, sales_channel)["access_token"]
    assert introspection(api, integration, token)["active"] is True

    # when the web shop revokes it
    revoke_committed(api, django_capture_on_commit_callbacks, sales_channel, token)

    # then it is inactive at once
    assert introspection(api, integration, token) == INACTIVE


# --- Introspection: refresh tokens ----------------------------------------------------------------


def test_own_active_refresh_token_is_described(
    api: APIClient, integration: Client, customer: Customer
) -> None:
    # given a sign-in through the ERP
    signed_in = integration_sign_in(api, integration)

    # when the ERP introspects its refresh token
    answer = introspection(api, integration, signed_in["refresh_token"])

    # then it is an active refresh token of Ada's, with the sign-in's scope
    assert answer == {
        "active": True,
        "token_type": "refresh_token",
        "scope": ALL_CUSTOMER_SCOPES,
        "client_id": integration.client_id,
        "sub": str(customer.public_id),
        "iss": settings.TOKEN_ISSUER,
        "exp": answer["exp"],
        "iat": answer["iat"],
        "kind": "customer",
    }
    assert abs(answer["iat"] - time.time()) < 60
    idle = integration.client.refresh_token_idle_seconds
    assert answer["exp"] - answer["iat"] in (idle, idle - 1, idle + 1)


def test_used_refresh_token_is_inactive_and_its_successor_active(
    api: APIClient, integration: Client, customer: Customer
) -> None:
    # given a refresh token that has been used once
    signed_in = integration_sign_in(api, integration)
    rotated = refresh(api, integration, signed_in["refresh_token"])
    assert rotated.status_code == 200, rotated.content

    # when the ERP introspects the used one and the new one
    used = introspection(api, integration, signed_in["refresh_token"])
    successor = introspection(api, integration, rotated.json()["refresh_token"])

    # then the used one is inactive, the new one active
    assert used == INACTIVE
    assert successor["active"] is True


def test_revoked_refresh_token_is_inactive(
    api: APIClient,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a refresh token the ERP revoked
    signed_in = integration_sign_in(api, integration)
    revoke_committed(
        api, django_capture_on_commit_callbacks, integration, signed_in["refresh_token"]
    )

    # when it is introspected, then it is inactive, as is the sign-in's access token
    assert introspection(api, integration, signed_in["refresh_token"]) == INACTIVE
    assert introspection(api, integration, signed_in["access_token"]) == INACTIVE


def test_another_clients_refresh_token_is_inactive(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # given the web shop's live refresh token
    signed_in = password_tokens(api, sales_channel)

    # when the ERP introspects it, then it is inactive to the ERP
    assert introspection(api, integration, signed_in["refresh_token"]) == INACTIVE
    # and it was not used up by being asked about
    assert refresh(api, sales_channel, signed_in["refresh_token"]).status_code == 200


def test_unknown_refresh_token_is_inactive(api: APIClient, integration: Client) -> None:
    assert introspection(api, integration, "rt_0123456789ab_" + "A" * 43) == INACTIVE


def test_refresh_token_of_a_deactivated_customer_is_inactive(
    api: APIClient,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a sign-in of a customer who is then deactivated
    signed_in = integration_sign_in(api, integration)
    with django_capture_on_commit_callbacks(execute=True):
        customer_set_active(customer=customer, is_active=False)
    # (the token service itself refuses that refresh token)
    assert introspection(api, integration, signed_in["access_token"]) == INACTIVE

    # when the refresh token is introspected
    answer = introspection(api, integration, signed_in["refresh_token"])

    # then it is inactive like the sign-in's access token
    assert answer == INACTIVE
    assert refresh(api, integration, signed_in["refresh_token"]).json()["error"] == (
        "invalid_grant"
    )


# --- Across processes: PostgreSQL and Redis -------------------------------------------------------

CHILD_CHECK = """
import json
import sys
import time

import django

django.setup()

from commerceapi.errors import DomainError
from identity.bearer import bearer_principal


def outcome(token):
    try:
        bearer_principal(token)
    except DomainError as error:
        return error.code.slug
    return "accepted"


token = sys.stdin.readline().strip()
print(json.dumps({"before": outcome(token)}), flush=True)
sys.stdin.readline()  # the parent has revoked the token
started = time.monotonic()
answer = outcome(token)
while answer == "accepted" and time.monotonic() - started < 1.0:
    time.sleep(0.02)
    answer = outcome(token)
print(json.dumps({"after": answer, "seconds": time.monotonic() - started}), flush=True)
"""


@pytest.fixture
def api_process() -> Iterator[subprocess.Popen[str]]:
    """Another API process on the same database and Redis, reading tokens from its stdin."""
    environment = {
        **os.environ,
        "DATABASE_URL": suite_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "commerceapi.settings",
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", CHILD_CHECK],
        env=environment,
        cwd=settings.BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _read_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout: IO[str] | None = process.stdout
    assert stdout is not None
    line = stdout.readline()
    if not line:
        process.wait(timeout=30)
        raise AssertionError(process.stderr.read() if process.stderr else "no output")
    return dict(json.loads(line))


def _send(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["access token", "refresh token"])
def test_revocation_reaches_another_process_within_a_second(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    api_process: subprocess.Popen[str],
    kind: str,
) -> None:
    # given a customer token that another API process accepts (its answer cached in Redis)
    assert settings.REDIS_URL, "this test needs the shared cache"
    signed_in = password_tokens(api, sales_channel)
    token = signed_in["access_token"]
    _send(api_process, token)
    assert _read_line(api_process) == {"before": "accepted"}

    # when this process revokes the token, or its sign-in's refresh token
    revoked = revoke(
        api, sales_channel, token if kind == "access token" else signed_in["refresh_token"]
    )
    assert revoked.status_code == 200
    _send(api_process, "revoked")

    # then the other process refuses it as revoked within a second
    after = _read_line(api_process)
    assert after["after"] == "token_revoked", after
    assert after["seconds"] < 1.0
