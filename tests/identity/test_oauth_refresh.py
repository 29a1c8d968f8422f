"""Refresh_token. Part of the test_oauth_token suite (see its docstring)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from identity.customers.customers import customer_set_active
from identity.models import (
    OAuthGrant,
    RefreshToken,
)
from tests.conftest import Storefront
from tests.identity.oauth_helpers import (
    EMAIL,
    PASSWORD,
    Client,
    customer_headers,
    make_client,
    password_tokens,
    token_request,
)
from tests.identity.oauth_token_common import (
    CART_URL,
    CUSTOMER_SCOPE,
    INVALID_REFRESH_TOKEN,
    assert_error_code,
    assert_no_store,
    assert_oauth_error,
    claims_of,
    refresh,
    row_of,
    token_state,
)

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
    api: APIClient,
    sales_channel: Client,
    customer: Any,
    django_capture_on_commit_callbacks: Any,
    clock: Any,
) -> None:
    # given a sign-in rotated once, with both access tokens in use
    first = password_tokens(api, sales_channel)
    second = refresh(api, sales_channel, first["refresh_token"]).json()
    first_headers = customer_headers(api, first["access_token"])
    second_headers = customer_headers(api, second["access_token"])
    assert api.get(CART_URL, **first_headers).status_code == 200
    assert api.get(CART_URL, **second_headers).status_code == 200

    # when the used refresh token comes again after the reuse grace (the revocation reaches
    # the cache on commit)
    clock(settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS + 1)
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
