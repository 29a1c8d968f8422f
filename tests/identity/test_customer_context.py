"""The customer context under attack: SECURITY.md "context" rows.

A context is minted by GET /commerceapi/authentication/customercontext for one bearer and is
sent with it on every cart call. Here it is mixed with other bearers, edited, expired, signed
with other keys and outlived by its bearer; every refusal is a 401 that changes nothing.

Here: The control; Bound to one bearer; Expiry; Missing; Rotation. The other parts of the suite:
test_customer_context_attacks.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from identity.credentials.keyring import signing_key_rotate
from identity.credentials.kinds import CustomerContextToken
from identity.credentials.tokens import (
    CLAIM_BEARER_HASH,
    CLAIM_IS_ANONYMOUS,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    bearer_hash,
    token_encode,
)
from identity.models import SigningKeyPurpose
from identity.tenancy.storefront import storefront_app_save
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    bearer_headers,
)
from tests.identity.customer_context_common import (
    CONTEXT,
    assert_context_refused,
    cart_of,
    resigned,
)
from tests.identity.tokens_helpers import (
    CART_URL,
    CONTEXT_URL,
    NOT_YET_VALID,
    add_to_cart,
    anonymous_claims,
    assemble,
    assert_refused_unchanged,
    assert_unauthorized,
    clock_at,
    context_claims,
    header_for,
    real_key,
    segments,
    sign,
    without,
)

pytestmark = pytest.mark.django_db


# --- The control ----------------------------------------------------------------------------


def test_a_context_with_the_bearer_it_was_minted_for_is_accepted(
    api: APIClient, carted: Shopper
) -> None:
    # given the shopper's bearer and the context minted for it

    # when
    response = cart_of(api, carted.token, carted.context)

    # then
    assert response.status_code == 200, response.content
    assert [line["sku"] for line in response.json()["lines"]] == ["MUG"]


def test_a_context_signed_here_with_the_real_key_is_accepted(
    api: APIClient, carted: Shopper
) -> None:
    # given a context written out here for the shopper's bearer and signed with the real key
    _, bearer, _ = segments(carted.token)
    context = sign(
        context_claims(carted.token, tenant_id=bearer["tenant"], subject=bearer["jti"]),
        purpose=CONTEXT,
    )

    # when / then: the forgeries below differ from it only by what they forge
    response = cart_of(api, carted.token, context)
    assert response.status_code == 200, response.content
    assert [line["sku"] for line in response.json()["lines"]] == ["MUG"]


# --- Bound to one bearer --------------------------------------------------------------------


def test_a_context_with_another_shoppers_bearer_is_refused(
    api: APIClient, storefront: Storefront, carted: Shopper
) -> None:
    # given shopper B of the same storefront, with a cart of its own
    other = anonymous_shopper(api, storefront.key)
    assert add_to_cart(api, other.headers(), sku="TEE").status_code == 200

    # when / then: A's context with B's bearer, and B's context with A's bearer
    assert_context_refused(api, other.token, carted.context, 2032)
    assert_context_refused(api, carted.token, other.context, 2032)
    assert [line["sku"] for line in cart_of(api, other.token, other.context).json()["lines"]] == [
        "TEE"
    ]


def test_a_context_is_refused_with_the_reissued_bearer_of_the_same_anonymous_id(
    api: APIClient, storefront: Storefront, products: dict[str, Any]
) -> None:
    # given a shopper whose session began a minute ago, with a cart
    with clock_at(datetime.now(UTC) - timedelta(minutes=1)):
        first = anonymous_shopper(api, storefront.key)
    assert add_to_cart(api, first.headers()).status_code == 200

    # when its bearer is re-issued for the same anonymous id (the old token proves it)
    reissued = api.post(
        "/commerceapi/authentication/",
        {"anonymousAuthenticationRequest": first.anonymous_id},
        format="json",
        HTTP_X_AUTH_KEY=storefront.key,
        **bearer_headers(first.token),
    )
    assert reissued.status_code == 200, reissued.content
    new_bearer = reissued.json()["accessToken"]
    assert reissued.json()["anonymousId"] == first.anonymous_id
    assert new_bearer != first.token

    # then the old context does not go with the new bearer; a context minted for it does
    assert_context_refused(api, new_bearer, first.context, 2032)
    new_context = api.get(CONTEXT_URL, **bearer_headers(new_bearer)).json()["customerContext"]
    response = cart_of(api, new_bearer, new_context)
    assert response.status_code == 200
    assert [line["sku"] for line in response.json()["lines"]] == ["MUG"]


def test_contexts_stop_working_when_the_storefront_app_is_deactivated(
    api: APIClient,
    storefront: Storefront,
    carted: Shopper,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a shopper whose session works (and whose good standing is cached)
    assert cart_of(api, carted.token, carted.context).status_code == 200

    # when the storefront app that issued its bearer is deactivated
    storefront.app.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        storefront_app_save(app=storefront.app)

    # then its bearer and context are refused as revoked, and it cannot mint a new context
    assert_context_refused(api, carted.token, carted.context, 2012)
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(carted.token)), 2012)


def test_a_context_sent_as_the_bearer_is_refused(api: APIClient, carted: Shopper) -> None:
    # given the shopper's context in the place of its bearer

    # when / then
    assert_context_refused(api, carted.context, carted.context, 2010)
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(carted.context)), 2010)


def test_a_bearer_sent_as_the_context_is_refused(api: APIClient, carted: Shopper) -> None:
    # given the shopper's bearer in the place of its context

    # when / then
    assert_context_refused(api, carted.token, carted.token, 2031)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda claims, other: {**claims, CLAIM_SUBJECT: other}, id="subject"),
        pytest.param(lambda claims, other: {**claims, CLAIM_TENANT: 999}, id="tenant"),
        pytest.param(lambda claims, other: {**claims, CLAIM_IS_ANONYMOUS: False}, id="customer"),
        pytest.param(lambda claims, other: {**claims, "idp": other}, id="provider"),
        pytest.param(
            lambda claims, other: {**claims, CLAIM_BEARER_HASH: bearer_hash(other)}, id="bearer"
        ),
        pytest.param(lambda claims, other: {**claims, "exp": claims["exp"] + 86400}, id="exp"),
    ],
)
def test_an_edited_context_is_refused(api: APIClient, carted: Shopper, edit: Any) -> None:
    # given the shopper's context with an edited payload and its original signature
    header, claims, signature = segments(carted.context)
    edited = assemble(header, edit(claims, str(uuid.uuid4())), signature)

    # when / then
    assert_context_refused(api, carted.token, edited, 2031)


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_a_context_with_a_flipped_signature_is_refused(
    api: APIClient, carted: Shopper, bits: int
) -> None:
    # given the shopper's context with its last signature character changed (1-3: unused bits)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    head, signature = carted.context.rsplit(".", 1)
    last = alphabet[alphabet.index(signature[-1]) ^ bits]
    flipped = f"{head}.{signature[:-1]}{last}"

    # when / then
    assert_context_refused(api, carted.token, flipped, 2031)


# --- Expiry ---------------------------------------------------------------------------------


def test_an_expired_context_minted_by_the_token_class_is_refused_as_expired(
    api: APIClient, carted: Shopper
) -> None:
    # given a context for the shopper's bearer, minted by the context token class, expired
    _, bearer, _ = segments(carted.token)
    token = CustomerContextToken()
    token.set_exp(from_time=datetime.now(UTC) - timedelta(seconds=1), lifetime=timedelta(0))
    token.set_iat(at_time=datetime.now(UTC) - timedelta(minutes=5))
    token[CLAIM_TENANT] = bearer["tenant"]
    token[CLAIM_SUBJECT] = bearer["jti"]
    token[CLAIM_IS_ANONYMOUS] = True
    token[CLAIM_BEARER_HASH] = bearer_hash(carted.token)
    expired = token_encode(token)

    # when / then
    assert_context_refused(api, carted.token, expired, 2033)


@pytest.mark.parametrize("seconds_ago", [1, 61, 10**9])
def test_an_expired_context_is_refused_as_expired(
    api: APIClient, carted: Shopper, seconds_ago: int
) -> None:
    # given the shopper's context, expired (no leeway), signed with the real key
    now = int(time.time())
    expired = resigned(carted.context, iat=now - seconds_ago - 60, exp=now - seconds_ago)

    # when / then
    assert_context_refused(api, carted.token, expired, 2033)


def test_a_context_expires_with_its_bearer(api: APIClient, storefront: Storefront) -> None:
    # given a bearer with two minutes left
    claims = anonymous_claims(storefront, lifetime=120)
    bearer = sign(claims)

    # when a context is minted for it
    context = api.get(CONTEXT_URL, **bearer_headers(bearer)).json()["customerContext"]

    # then the context expires when the bearer does
    _, context_payload, _ = segments(context)
    assert context_payload["exp"] == claims["exp"]


@pytest.mark.parametrize("changes", NOT_YET_VALID)
def test_a_context_not_yet_valid_is_refused(
    api: APIClient, carted: Shopper, changes: dict[str, int]
) -> None:
    # given the shopper's context made valid only in the future, signed with the real key
    now = int(time.time())
    future = resigned(carted.context, **{name: now + delta for name, delta in changes.items()})

    # when / then
    assert_context_refused(api, carted.token, future, 2031)


@pytest.mark.parametrize(
    "claim",
    ["exp", "jti", "iat", "iss", "aud", "token_type", "tenant", "sub", "isAnonymous", "ath"],
)
def test_a_context_missing_a_required_claim_is_refused(
    api: APIClient, carted: Shopper, claim: str
) -> None:
    # given the shopper's context without one of its claims, signed with the real key
    _, claims, _ = segments(carted.context)
    forged = sign(without(claims, claim), purpose=CONTEXT)

    # when / then
    assert_context_refused(api, carted.token, forged, 2031)


# --- Missing --------------------------------------------------------------------------------


@pytest.mark.parametrize("context", [None, ""])
def test_a_missing_context_is_refused(api: APIClient, carted: Shopper, context: str | None) -> None:
    # given the shopper's bearer with no context (or an empty one)
    headers = bearer_headers(carted.token)
    if context is not None:
        headers["HTTP_X_CUSTOMER_CONTEXT"] = context

    # when / then
    assert_unauthorized(api.get(CART_URL, **headers), 2030)
    assert_refused_unchanged(api, headers, 2030)


# --- Rotation -------------------------------------------------------------------------------


def test_a_key_rotation_keeps_bearers_and_contexts_minted_before_it(
    api: APIClient, storefront: Storefront, carted: Shopper
) -> None:
    # given a session minted with the keys active now
    old_access_kid = segments(carted.token)[0]["kid"]
    old_context_kid = segments(carted.context)[0]["kid"]

    # when both keys are rotated
    new_access = signing_key_rotate(purpose=SigningKeyPurpose.ANONYMOUS)
    new_context = signing_key_rotate(purpose=CONTEXT)

    # then the old bearer and context still work, and new ones are signed with the new keys
    assert {new_access.kid, new_context.kid}.isdisjoint({old_access_kid, old_context_kid})
    response = cart_of(api, carted.token, carted.context)
    assert response.status_code == 200, response.content
    assert [line["sku"] for line in response.json()["lines"]] == ["MUG"]
    remint = api.get(CONTEXT_URL, **bearer_headers(carted.token)).json()["customerContext"]
    assert segments(remint)[0]["kid"] == new_context.kid
    assert cart_of(api, carted.token, remint).status_code == 200
    fresh = anonymous_shopper(api, storefront.key)
    assert segments(fresh.token)[0]["kid"] == new_access.kid
    assert cart_of(api, fresh.token, fresh.context).status_code == 200
    # and a context of the old key still goes only with its own bearer
    assert_context_refused(api, fresh.token, carted.context, 2032)


def test_the_header_written_here_is_the_header_the_api_writes(
    api: APIClient, carted: Shopper
) -> None:
    # given the header of the shopper's real context, minted by the API
    header, _, _ = segments(carted.context)

    # when / then: it is exactly the header the forgeries above depart from
    assert header == header_for(CONTEXT, real_key(CONTEXT))
