"""The token service at its edges: odd input that must not be a 500, settings that must end
sessions, and who may see what."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework.test import APIClient

from identity.customers.accounts import (
    customer_sign_out_everywhere,
    local_account_create,
    local_account_set_password,
)
from identity.customers.customers import _profile
from identity.models import Customer, LocalAccount, OAuthClientKind
from identity.oauth.clients import client_secret_rotate, client_set_active
from identity.tenancy.storefront import storefront_app_save, tenant_save
from tests.conftest import Storefront, tables_snapshot
from tests.identity.oauth_helpers import (
    EMAIL,
    PASSWORD,
    Client,
    customer_headers,
    make_client,
    oauth_post,
    password_tokens,
    token_request,
)

CART_URL = "/commerceapi/cart"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
CaptureOnCommit = Callable[..., Any]


def test_a_nul_in_the_e_mail_is_a_wrong_password_not_a_500(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # when (PostgreSQL refuses a NUL in any text it is asked to compare)
    answer = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username="ada\x00@example.com",
        password=PASSWORD,
    )

    # then
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "The e-mail or password is wrong.",
    }


def _exchange(api: APIClient, integration: Client, subject: str, custom_claims: str) -> Any:
    return oauth_post(
        api,
        "/oauth/token",
        integration.basic(),
        grant_type=TOKEN_EXCHANGE,
        subject_token=subject,
        subject_token_type=ACCESS_TOKEN_TYPE,
        custom_claims=custom_claims,
    )


@pytest.mark.parametrize(
    ("custom_claims", "description"),
    [
        pytest.param('{"x": 1e400}', "custom_claims is not JSON.", id="infinite number"),
        pytest.param(
            json.dumps({"x": "\N{GRINNING FACE}" * 400}, ensure_ascii=False),
            "custom_claims is larger than 2048 bytes.",
            id="escaped larger than the limit",
        ),
        pytest.param(
            "[" * 11 + "]" * 11,
            "custom_claims must be a JSON object.",
            id="not an object",
        ),
        pytest.param(
            '{"a": ' + "[" * 10 + "]" * 10 + "}",
            "custom_claims nests deeper than 10.",
            id="too deep",
        ),
        pytest.param('{"a": "\\ud800"}', "custom_claims is not JSON.", id="lone surrogate"),
    ],
)
def test_custom_claims_a_token_could_not_carry_are_refused(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    custom_claims: str,
    description: str,
) -> None:
    # given a customer token, and custom claims within the raw byte limit
    subject = password_tokens(api, sales_channel)["access_token"]
    assert len(custom_claims.encode()) <= 2048
    before = tables_snapshot()

    # when
    answer = _exchange(api, integration, subject, custom_claims)

    # then
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_request", "error_description": description}
    assert tables_snapshot() == before


def test_deactivating_a_storefront_app_ends_its_sales_channels_customer_sessions(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer signed in through the storefront's sales channel
    tokens = password_tokens(api, sales_channel)
    headers = customer_headers(api, tokens["access_token"])

    # when the storefront app is deactivated
    storefront.app.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        storefront_app_save(app=storefront.app)

    # then the customer's token, a new sign-in and a refresh are all refused
    assert api.get(CART_URL, **headers).status_code == 401
    signed_in = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password=PASSWORD,
    )
    refreshed = token_request(
        api,
        grant_type="refresh_token",
        client_id=sales_channel.client_id,
        refresh_token=tokens["refresh_token"],
    )
    assert (signed_in.status_code, signed_in.json()["error"]) == (401, "invalid_client")
    assert (refreshed.status_code, refreshed.json()["error"]) == (401, "invalid_client")


def test_a_third_party_app_learns_nothing_of_other_clients_tokens(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    loyalty_app: Client,
    customer: Customer,
) -> None:
    # given a shopper's token from the sales channel
    access_token = password_tokens(api, sales_channel)["access_token"]

    # when the shop's integration and a third-party app introspect it
    by_integration = oauth_post(api, "/oauth/introspect", integration.basic(), token=access_token)
    by_app = oauth_post(api, "/oauth/introspect", loyalty_app.basic(), token=access_token)

    # then only the shop's own server sees it
    assert by_integration.json()["active"] is True
    assert by_app.status_code == 200
    assert by_app.json() == {"active": False}


def test_signing_in_right_after_signing_out_everywhere_works(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a token issued just before the customer signs out everywhere
    before = password_tokens(api, sales_channel)["access_token"]
    before_headers = customer_headers(api, before)
    with django_capture_on_commit_callbacks(execute=True):
        customer_sign_out_everywhere(customer=customer)

    # when the customer signs in again at once, within the same second
    after = password_tokens(api, sales_channel)["access_token"]

    # then the new token works and the old one does not
    assert api.get(CART_URL, **customer_headers(api, after)).status_code == 200
    assert api.get(CART_URL, **before_headers).status_code == 401


def test_head_needs_the_scope_get_needs(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # given a customer token without cart:read
    tokens = password_tokens(api, sales_channel)
    narrow = token_request(
        api,
        grant_type="refresh_token",
        client_id=sales_channel.client_id,
        refresh_token=tokens["refresh_token"],
        scope="catalog:read",
    ).json()["access_token"]
    headers = customer_headers(api, narrow)

    # when / then
    assert api.get(CART_URL, **headers).status_code == 403
    assert api.head(CART_URL, **headers).status_code == 403


def test_a_new_password_ends_the_customers_sessions(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a session started with the old password
    tokens = password_tokens(api, sales_channel)
    headers = customer_headers(api, tokens["access_token"])

    # when an operator sets a new password
    with django_capture_on_commit_callbacks(execute=True):
        local_account_set_password(
            account=LocalAccount.objects.get(customer=customer),
            password="a brand new passphrase 42",
        )

    # then the old session is over, and the new password signs in
    assert api.get(CART_URL, **headers).status_code == 401
    refreshed = token_request(
        api,
        grant_type="refresh_token",
        client_id=sales_channel.client_id,
        refresh_token=tokens["refresh_token"],
    )
    assert refreshed.json()["error"] == "invalid_grant"
    assert password_tokens(api, sales_channel, password="a brand new passphrase 42")


class StrongerHasher(MD5PasswordHasher):
    """Stands in for a hasher with stronger settings than the one a hash was made with."""

    algorithm = "md5-stronger"


def test_a_hash_made_with_older_settings_is_upgraded_at_sign_in(
    api: APIClient, sales_channel: Client, customer: Customer, settings: Any
) -> None:
    # given a hash made with MD5, and a preferred hasher that is stronger now
    settings.PASSWORD_HASHERS = [
        f"{__name__}.StrongerHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert LocalAccount.objects.get(customer=customer).password.startswith("md5$")

    # when the customer signs in
    password_tokens(api, sales_channel)

    # then the hash is stored anew with the preferred hasher, and still signs in
    assert LocalAccount.objects.get(customer=customer).password.startswith("md5-stronger$")
    assert password_tokens(api, sales_channel)


def test_a_client_keeps_its_tenant_and_kind_in_the_admin(
    operator: Any, storefront: Storefront, other_storefront: Storefront
) -> None:
    # given an integration of one tenant
    client = make_client(storefront, OAuthClientKind.INTEGRATION, name="ERP").client

    # when an operator edits it
    page = operator.get(f"/admin/identity/oauthclient/{client.pk}/change/")

    # then tenant and kind are shown, not editable
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "tenant" not in form.fields
    assert "kind" not in form.fields


@pytest.mark.parametrize("switch_off", ["client", "tenant"])
def test_a_client_already_looked_up_is_refused_as_soon_as_it_is_switched_off(
    api: APIClient,
    storefront: Storefront,
    integration: Client,
    switch_off: str,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a client whose lookup the API has cached
    assert (
        token_request(api, integration.basic(), grant_type="client_credentials").status_code == 200
    )

    # when it, or its tenant, is deactivated
    with django_capture_on_commit_callbacks(execute=True):
        if switch_off == "client":
            client_set_active(client=integration.client, is_active=False)
        else:
            storefront.tenant.is_active = False
            tenant_save(tenant=storefront.tenant)

    # then the next request is refused
    answer = token_request(api, integration.basic(), grant_type="client_credentials")
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_a_rotated_secret_works_at_once_where_the_client_was_cached(
    api: APIClient, integration: Client, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    # given a client whose lookup the API has cached
    assert (
        token_request(api, integration.basic(), grant_type="client_credentials").status_code == 200
    )

    # when its secret is rotated without overlap
    with django_capture_on_commit_callbacks(execute=True):
        new_secret = client_secret_rotate(client=integration.client, overlap=timedelta(0))

    # then the new secret works and the old one no longer does
    fresh = Client(client=integration.client, secret=new_secret)
    assert token_request(api, fresh.basic(), grant_type="client_credentials").status_code == 200
    stale = token_request(api, integration.basic(), grant_type="client_credentials")
    assert (stale.status_code, stale.json()["error"]) == (401, "invalid_client")


def test_refusals_of_the_token_service_are_logged_without_any_secret(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a refresh token, and the logging of refusals
    refresh_token = password_tokens(api, sales_channel)["refresh_token"]
    caplog.set_level(logging.DEBUG)

    # when a wrong client secret, a wrong password and a reused refresh token are refused (its
    # first use and the one retry the grace allows succeed)
    wrong_secret = Client(client=integration.client, secret=integration.secret[:-4] + "AAAA")
    token_request(api, wrong_secret.basic(), grant_type="client_credentials")
    token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password="the wrong passphrase",
    )
    for _ in range(3):
        token_request(
            api,
            grant_type="refresh_token",
            client_id=sales_channel.client_id,
            refresh_token=refresh_token,
        )

    # then each refusal is logged, and no secret, password or token is in the log
    security = [r.getMessage() for r in caplog.records if r.name == "commerceapi.security"]
    assert len(security) == 3
    assert all("refused POST /oauth/token" in message for message in security)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (wrong_secret.secret, integration.secret, "the wrong passphrase", refresh_token):
        assert secret not in logged


@pytest.mark.parametrize("scope", [" ", "cart:read  catalog:read", "cart:read\tcatalog:read"])
def test_a_scope_not_separated_by_single_spaces_is_invalid_scope(
    api: APIClient, sales_channel: Client, customer: Customer, scope: str
) -> None:
    answer = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password=PASSWORD,
        scope=scope,
    )

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_scope",
        "error_description": "The scope parameter is malformed.",
    }


def test_a_password_longer_than_any_is_refused_not_cut(
    api: APIClient, sales_channel: Client, storefront: Storefront
) -> None:
    # given an account whose password is exactly as long as a password may be
    longest = "a long passphrase " * 56 + "ab12345678"
    assert len(longest) == 1018
    longest += "xyz123"
    local_account_create(tenant=storefront.tenant, email="long@example.com", password=longest)

    # when it is sent with more characters after it
    answer = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username="long@example.com",
        password=longest + "!",
    )

    # then it is a wrong password, not the right one cut to length
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "The e-mail or password is wrong.",
    }


@pytest.mark.parametrize("claim", ["name", "given_name", "email"])
def test_provider_profile_claims_that_no_database_can_store_are_dropped(claim: str) -> None:
    profile = _profile({claim: "Ada\ud800", "family_name": "Lovelace"})

    assert profile["email"] == ""
    assert profile["name"] in ("", "Lovelace")
