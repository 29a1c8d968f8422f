"""POST /commerceapi/customer/sign-out-everywhere: a customer ends every token and sign-in they
hold now, at every client; a sign-in afterwards works.

Tokens carry ``iat`` in whole seconds and sign-out refuses what was issued at or before its
second, so the one test that signs in again first waits for the next second (under a second).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from identity import errors
from identity.customers.accounts import local_account_create
from identity.models import Customer, GrantType, OAuthGrant
from tests.conftest import Shopper, Storefront, bearer_headers, problem, tables_snapshot
from tests.identity.oauth_helpers import (
    PASSWORD,
    Client,
    customer_headers,
    oauth_post,
    password_tokens,
    token_request,
)
from tests.identity.provider_fixtures import (
    CONTEXT_URL,
    CustomerSession,
    StaticKeyProvider,
    customer_session,
)
from tests.identity.tokens_helpers import assert_unauthorized

SIGN_OUT_URL = "/commerceapi/customer/sign-out-everywhere"
CART_URL = "/commerceapi/cart"
PROFILE_URL = "/commerceapi/customer"
EXCHANGE = GrantType.TOKEN_EXCHANGE.value
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
CUSTOMER_ID_TYPE = "urn:commerceapi:params:oauth:token-type:customer-id"
REVOKED_REFRESH = {
    "error": "invalid_grant",
    "error_description": "The refresh token has been revoked.",
}

CaptureOnCommit = Callable[..., Any]


# --- Helpers --------------------------------------------------------------------------------


def sign_out_everywhere(api: APIClient, capture: CaptureOnCommit, headers: dict[str, str]) -> Any:
    """Sign out, with the after-commit cache writes run as they run outside a test transaction."""
    with capture(execute=True):
        return api.post(SIGN_OUT_URL, **headers)


def exchange(api: APIClient, client: Client, subject: str, subject_type: str) -> str:
    answer = token_request(
        api,
        client.basic(),
        grant_type=EXCHANGE,
        subject_token=subject,
        subject_token_type=subject_type,
    )
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def refresh(api: APIClient, client: Client, refresh_token: str) -> Any:
    if client.secret:
        return token_request(
            api, client.basic(), grant_type="refresh_token", refresh_token=refresh_token
        )
    return token_request(
        api, grant_type="refresh_token", client_id=client.client_id, refresh_token=refresh_token
    )


def statuses(api: APIClient, sessions: dict[str, dict[str, str]], url: str) -> dict[str, int]:
    return {name: api.get(url, **headers).status_code for name, headers in sessions.items()}


def wait_for_the_next_second() -> None:
    """Tokens minted from now on carry a later ``iat`` second than anything before."""
    now = time.time()
    time.sleep(math.floor(now) + 1 - now + 0.01)


# --- Signing out ------------------------------------------------------------------------------


def test_sign_out_everywhere_ends_every_token_and_sign_in_of_the_customer(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given Ada signed in twice at the web shop (once refreshed) and once through the ERP,
    # and holding tokens the ERP got by exchange, from her token and from her id
    web = password_tokens(api, sales_channel)
    phone = password_tokens(api, sales_channel)
    phone_rotated = refresh(api, sales_channel, phone["refresh_token"]).json()
    erp = token_request(
        api, integration.basic(), grant_type="password", username=customer.email, password=PASSWORD
    ).json()
    by_token = exchange(api, integration, web["access_token"], ACCESS_TOKEN_TYPE)
    by_id = exchange(api, integration, str(customer.public_id), CUSTOMER_ID_TYPE)
    ada = {
        "web": customer_headers(api, web["access_token"]),
        "phone (refreshed)": customer_headers(api, phone_rotated["access_token"]),
        "phone (first)": customer_headers(api, phone["access_token"]),
        "erp": customer_headers(api, erp["access_token"]),
        "exchanged from a token": customer_headers(api, by_token),
        "exchanged from her id": customer_headers(api, by_id),
    }
    # and Bob signed in
    local_account_create(tenant=storefront.tenant, email="bob@example.com", password="x9 long !")
    bob_tokens = password_tokens(api, sales_channel, "bob@example.com", "x9 long !")
    bob = {"bob": customer_headers(api, bob_tokens["access_token"])}
    # all working (the answers of the revocation checks now cached)
    assert set(statuses(api, ada | bob, CART_URL).values()) == {200}
    assert set(statuses(api, ada | bob, PROFILE_URL).values()) == {200}

    # when Ada signs out everywhere from the web shop
    answer = sign_out_everywhere(api, django_capture_on_commit_callbacks, ada["web"])

    # then her three sign-ins are ended, and the answer is not cached
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"endedSignIns": 3}
    assert answer["Cache-Control"] == "no-store"
    assert OAuthGrant.objects.filter(customer=customer, revoked_at__isnull=True).count() == 0
    # and every token she held is refused on the cart and the profile, as revoked
    assert statuses(api, ada, CART_URL) == dict.fromkeys(ada, 401)
    assert statuses(api, ada, PROFILE_URL) == dict.fromkeys(ada, 401)
    assert_unauthorized(api.get(CART_URL, **ada["exchanged from her id"]), 2012)
    # and no new context can be minted with them
    for token in (web["access_token"], by_id):
        assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(token)), 2012)
    # and her refresh tokens are refused
    for client, refresh_token in (
        (sales_channel, web["refresh_token"]),
        (sales_channel, phone_rotated["refresh_token"]),
        (integration, erp["refresh_token"]),
    ):
        refused = refresh(api, client, refresh_token)
        assert (refused.status_code, refused.json()) == (400, REVOKED_REFRESH)
    # and the introspection agrees
    for token in (by_id, erp["refresh_token"]):
        described = oauth_post(api, "/oauth/introspect", integration.basic(), token=token)
        assert described.json() == {"active": False}

    # while Bob's token and refresh token still work
    assert statuses(api, bob, CART_URL) == {"bob": 200}
    assert refresh(api, sales_channel, bob_tokens["refresh_token"]).status_code == 200


def test_a_new_sign_in_after_signing_out_everywhere_works(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given Ada signed out everywhere
    old = password_tokens(api, sales_channel)
    old_headers = customer_headers(api, old["access_token"])
    signed_out = sign_out_everywhere(api, django_capture_on_commit_callbacks, old_headers)
    assert signed_out.json() == {"endedSignIns": 1}

    # when she signs in again, a second later, and the ERP acts for her by id
    wait_for_the_next_second()
    new = password_tokens(api, sales_channel)
    new_headers = customer_headers(api, new["access_token"])
    by_id = exchange(api, integration, str(customer.public_id), CUSTOMER_ID_TYPE)

    # then the new tokens work, and the new refresh token refreshes
    assert api.get(CART_URL, **new_headers).status_code == 200
    assert api.get(PROFILE_URL, **new_headers).json()["id"] == str(customer.public_id)
    assert api.get(CART_URL, **customer_headers(api, by_id)).status_code == 200
    assert refresh(api, sales_channel, new["refresh_token"]).status_code == 200
    # while the old ones stay refused
    assert_unauthorized(api.get(CART_URL, **old_headers), 2012)
    assert refresh(api, sales_channel, old["refresh_token"]).json() == REVOKED_REFRESH

    # and signing out again ends only the live sign-in
    again = sign_out_everywhere(api, django_capture_on_commit_callbacks, new_headers)
    assert again.json() == {"endedSignIns": 1}


def test_sign_out_everywhere_ends_an_identity_providers_tokens(
    api: APIClient,
    integration: Client,
    static_provider: StaticKeyProvider,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer of the identity provider with two tokens (one issued a while ago) and a
    # token the ERP got by exchanging one of them, all working
    now = int(time.time())
    earlier = customer_session(api, static_provider.token("auth0|carol", iat=now - 30))
    current = customer_session(api, static_provider.token("auth0|carol"))
    exchanged = exchange(api, integration, current.token, ACCESS_TOKEN_TYPE)
    sessions = {
        "earlier": earlier.headers(),
        "current": current.headers(),
        "exchanged": customer_headers(api, exchanged),
    }
    # and another customer of the provider
    dave: CustomerSession = customer_session(api, static_provider.token("auth0|dave"))
    assert set(statuses(api, sessions, CART_URL).values()) == {200}

    # when the customer signs out everywhere
    answer = sign_out_everywhere(api, django_capture_on_commit_callbacks, current.headers())

    # then no sign-in of the token service ended (there was none), but every token is refused
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"endedSignIns": 0}
    assert statuses(api, sessions, CART_URL) == dict.fromkeys(sessions, 401)
    assert statuses(api, sessions, PROFILE_URL) == dict.fromkeys(sessions, 401)
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(current.token)), 2012)
    # and the provider's token can no longer be exchanged
    refused = token_request(
        api,
        integration.basic(),
        grant_type=EXCHANGE,
        subject_token=current.token,
        subject_token_type=ACCESS_TOKEN_TYPE,
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    # while the other customer's session still works
    assert api.get(CART_URL, **dave.headers()).status_code == 200


# --- Who may sign out -------------------------------------------------------------------------


def test_anonymous_shopper_cannot_sign_out_everywhere(
    api: APIClient,
    shopper: Shopper,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given an anonymous shopper (and a customer with a sign-in)
    before = tables_snapshot()

    # when the shopper asks to sign out everywhere
    answer = sign_out_everywhere(api, django_capture_on_commit_callbacks, shopper.headers())

    # then 403 customer required, nothing changed, and the shopper's token still works
    assert answer.status_code == 403
    assert answer.json() == problem(
        "customer_required",
        "Customer required",
        403,
        errors.CUSTOMER_REQUIRED.description,
        2042,
    )
    assert tables_snapshot() == before
    assert api.get(CART_URL, **shopper.headers()).status_code == 200


def test_sign_out_everywhere_needs_the_customer_context(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer's bearer sent without its context
    signed_in = password_tokens(api, sales_channel)
    before = tables_snapshot()

    # when it asks to sign out everywhere
    answer = sign_out_everywhere(
        api, django_capture_on_commit_callbacks, bearer_headers(signed_in["access_token"])
    )

    # then 401 context missing, and nothing was ended
    assert_unauthorized(answer, 2030)
    assert tables_snapshot() == before
    assert refresh(api, sales_channel, signed_in["refresh_token"]).status_code == 200


def test_sign_out_everywhere_without_credentials_is_unauthorized(
    api: APIClient, storefront: Storefront
) -> None:
    answer = api.post(SIGN_OUT_URL)

    assert_unauthorized(answer, 2000)
