"""Operators manage the token service in the admin: clients, local accounts, sign-ins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
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


@pytest.mark.parametrize(
    ("password", "messages"),
    [
        (
            "1234",
            [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ],
        ),
        ("weak@example.com", ["The password is too similar to the username."]),
    ],
)
def test_a_refused_password_in_the_admin_is_explained_on_the_field_and_keeps_the_form(
    operator: DjangoClient, storefront: Storefront, password: str, messages: list[str]
) -> None:
    # when an operator adds an account with a password the validators refuse
    answer = operator.post(
        "/admin/identity/localaccount/add/",
        {
            "tenant": storefront.tenant.pk,
            "email": "weak@example.com",
            "name": "Weak",
            "new_password": password,
        },
    )

    # then the form comes back as typed, the validators' messages on the password field
    assert answer.status_code == 200
    form = answer.context["adminform"].form
    assert form.errors == {"new_password": messages}
    page = answer.content.decode()
    assert 'value="weak@example.com"' in page
    assert 'value="Weak"' in page
    assert "{'password'" not in page and "ValidationError" not in page
    # and nothing is saved
    assert not Customer.objects.filter(email="weak@example.com").exists()
    assert not LocalAccount.objects.exists()


def test_a_new_account_without_a_password_is_refused_on_the_field(
    operator: DjangoClient, storefront: Storefront
) -> None:
    answer = operator.post(
        "/admin/identity/localaccount/add/",
        {"tenant": storefront.tenant.pk, "email": "nopass@example.com", "new_password": ""},
    )

    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors == {
        "new_password": ["A new account needs a password."]
    }
    assert not LocalAccount.objects.exists()


def test_a_refused_new_password_keeps_the_old_one(
    operator: DjangoClient, customer: Customer, api: APIClient, sales_channel: Client
) -> None:
    account = customer.local_account

    answer = operator.post(
        f"/admin/identity/localaccount/{account.pk}/change/", {"new_password": "password"}
    )

    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors == {
        "new_password": ["This password is too common."]
    }
    assert password_tokens(api, sales_channel)["scope"]


@pytest.mark.parametrize(
    ("model", "singular", "plural"),
    [
        ("oauthgrant", "OAuth grant", "OAuth grants"),
        ("oauthclient", "OAuth client", "OAuth clients"),
        ("oauthclientsecret", "OAuth client secret", "OAuth client secrets"),
    ],
)
def test_the_oauth_models_are_named_as_written(model: str, singular: str, plural: str) -> None:
    from django.apps import apps

    options = apps.get_model("identity", model)._meta
    assert (options.verbose_name, options.verbose_name_plural) == (singular, plural)


def test_the_admin_index_names_the_oauth_grants(operator: DjangoClient) -> None:
    page = operator.get("/admin/").content.decode()

    assert "OAuth grants" in page
    assert "O auth" not in page


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
