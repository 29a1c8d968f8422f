"""Introspection: who may ask; Introspection: active tokens; Introspection: tokens that do not
work; Introspection: refresh tokens. Part of the test_oauth_revocation suite, whose docstring
says what it covers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.customers.accounts import local_account_create
from identity.customers.customers import customer_set_active
from identity.models import Customer
from tests.conftest import Storefront
from tests.identity.oauth_helpers import (
    Client,
    make_client,
    oauth_post,
    password_tokens,
    token_request,
)
from tests.identity.oauth_revocation_common import (
    ACCESS_TOKEN_TYPE,
    ALL_CUSTOMER_SCOPES,
    EXCHANGE,
    INACTIVE,
    INTROSPECT_URL,
    CaptureOnCommit,
    claims_of,
    client_token,
    expired_customer_token,
    integration_sign_in,
    introspect,
    introspection,
    refresh,
    revoke_committed,
)

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
