"""Operators manage the token service in the admin: clients, local accounts, sign-ins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.messages import get_messages
from django.test import Client as DjangoClient
from rest_framework.test import APIClient

from identity.models import Customer, LocalAccount, OAuthClient, OAuthGrant
from tests.conftest import Storefront
from tests.identity.oauth_helpers import (
    PASSWORD,
    Client,
    customer_headers,
    password_tokens,
    token_request,
)


def _messages(answer: Any) -> list[str]:
    return [str(message) for message in get_messages(answer.wsgi_request)]


def test_an_operator_creates_a_local_account_that_signs_in(
    operator: DjangoClient, api: APIClient, storefront: Storefront, sales_channel: Client
) -> None:
    # when an operator adds an account with a password
    answer = operator.post(
        "/admin/identity/localaccount/add/",
        {
            "tenant": storefront.tenant.pk,
            "email": "Grace@Example.com",
            "name": "Grace",
            "group": "wholesale",
            "new_password": PASSWORD,
        },
        follow=True,
    )

    # then the customer exists and signs in with the password grant
    assert answer.status_code == 200
    account = LocalAccount.objects.get(email="grace@example.com")
    assert account.customer.group == "wholesale"
    assert password_tokens(api, sales_channel, email="grace@example.com")["scope"]


def test_a_weak_password_in_the_admin_saves_nothing(
    operator: DjangoClient, storefront: Storefront
) -> None:
    answer = operator.post(
        "/admin/identity/localaccount/add/",
        {"tenant": storefront.tenant.pk, "email": "weak@example.com", "new_password": "1234"},
        follow=True,
    )

    assert any("Not saved" in message for message in _messages(answer))
    assert not Customer.objects.filter(email="weak@example.com").exists()
    assert not LocalAccount.objects.exists()


def test_an_operator_creates_a_client_and_sees_its_secret_once(
    operator: DjangoClient, storefront: Storefront
) -> None:
    answer = operator.post(
        "/admin/identity/oauthclient/add/",
        {
            "tenant": storefront.tenant.pk,
            "name": "ERP",
            "kind": "integration",
            "grant_types": ["client_credentials"],
            "scopes": ["catalog:read"],
            "access_token_lifetime_seconds": 900,
            "refresh_token_idle_seconds": 86400,
            "refresh_token_absolute_seconds": 864000,
            "is_active": "on",
            "secrets-TOTAL_FORMS": 0,
            "secrets-INITIAL_FORMS": 0,
        },
        follow=True,
    )

    client = OAuthClient.objects.get(name="ERP")
    shown = [message for message in _messages(answer) if "client_secret=cs_" in message]
    assert len(shown) == 1
    secret = shown[0].split("client_secret=")[1].split()[0]
    assert client.secrets.get().secret_hash != secret
    assert secret not in str(list(client.secrets.values()))


def test_an_operator_signs_a_customer_out_everywhere(
    operator: DjangoClient,
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    tokens = password_tokens(api, sales_channel)
    headers = customer_headers(api, tokens["access_token"])

    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            "/admin/identity/customer/",
            {"action": "sign_out_everywhere", "_selected_action": [customer.pk]},
        )

    assert api.get("/commerceapi/cart", **headers).status_code == 401
    refreshed = token_request(
        api,
        grant_type="refresh_token",
        client_id=sales_channel.client_id,
        refresh_token=tokens["refresh_token"],
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_an_operator_revokes_a_sign_in(
    operator: DjangoClient,
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    tokens = password_tokens(api, sales_channel)
    headers = customer_headers(api, tokens["access_token"])
    grant = OAuthGrant.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            "/admin/identity/oauthgrant/", {"action": "revoke", "_selected_action": [grant.pk]}
        )

    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert api.get("/commerceapi/cart", **headers).status_code == 401
