"""Which id: (a) unknown ids are kept; (b) an id with a cart needs its previous token; (c) compat,
and retired ids. Part of the test_anonymous_token suite (see its docstring)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from carts.models import Cart, CartStatus
from identity.models import AnonymousIdPolicy, SigningKeyPurpose
from tests.conftest import (
    Storefront,
    anonymous_shopper,
    anonymous_shopper_from,
    bearer_headers,
    make_storefront,
)
from tests.identity.anonymous_token_common import (
    _migrated_to_a_customer,
    is_uuid4,
    issue,
    open_cart,
    requested,
    verified,
)
from tests.identity.tokens_helpers import (
    CONTEXT_URL,
    RealKey,
    anonymous_claims,
    clock_at,
    real_key,
    sign,
)

# --- which id: (a) unknown ids are kept -------------------------------------------------------


def test_an_unknown_id_is_kept(api, storefront):
    # given an id the server holds nothing for
    anonymous_id = str(uuid.uuid4())

    # when
    body = issue(api, storefront.key, requested(anonymous_id)).json()

    # then
    assert body["anonymousId"] == anonymous_id
    _, claims = verified(body["accessToken"])
    assert claims["jti"] == claims["sub"] == anonymous_id


def test_an_id_is_answered_in_canonical_form(api, storefront):
    # given an id in upper case
    anonymous_id = str(uuid.uuid4())

    # when
    body = issue(api, storefront.key, requested(anonymous_id.upper())).json()

    # then
    assert body["anonymousId"] == anonymous_id


def test_an_id_with_a_cart_in_another_tenant_is_unknown_here(api, storefront):
    # given the id has a cart, but in another tenant
    other = make_storefront()
    anonymous_id = str(uuid.uuid4())
    open_cart(other, anonymous_id)

    # when
    body = issue(api, storefront.key, requested(anonymous_id)).json()

    # then
    assert body["anonymousId"] == anonymous_id


# --- (b) an id with a cart needs its previous token -------------------------------------------


def test_an_id_with_a_cart_is_refused_without_proof(api, storefront):
    # given
    anonymous_id = str(uuid.uuid4())
    open_cart(storefront, anonymous_id)

    # when
    body = issue(api, storefront.key, requested(anonymous_id)).json()

    # then
    assert body["anonymousId"] != anonymous_id
    assert is_uuid4(body["anonymousId"])
    assert verified(body["accessToken"])[1]["jti"] == body["anonymousId"]


def test_an_id_with_a_cart_is_kept_with_its_previous_token(api, storefront, products):
    # given a shopper who filled a cart through the API
    shopper = anonymous_shopper(api, storefront.key)
    added = api.post(
        "/commerceapi/cart/lines", {"sku": "MUG", "quantity": 2}, format="json", **shopper.headers()
    )
    assert added.status_code in (200, 201), added.content

    # when they come back with their id and their previous token
    body = issue(
        api, storefront.key, requested(shopper.anonymous_id), **bearer_headers(shopper.token)
    ).json()

    # then they keep the id, and the new token finds the same cart
    assert body["anonymousId"] == shopper.anonymous_id
    again = anonymous_shopper_from(api, body["accessToken"], shopper.anonymous_id)
    cart = api.get("/commerceapi/cart", **again.headers()).json()
    assert [(line["sku"], line["quantity"]) for line in cart["lines"]] == [("MUG", 2)]


def test_an_expired_previous_token_within_the_renewal_window_proves_the_id(api, storefront):
    # given a token minted long enough ago to have expired, but inside the renewal window
    window = settings.ANONYMOUS_RENEWAL_WINDOW_SECONDS
    minted_at = datetime.now(UTC) - timedelta(seconds=7200 + window - 3600)
    with clock_at(minted_at):
        old = issue(api, storefront.key).json()
    open_cart(storefront, old["anonymousId"])
    # (as a bearer it is expired)
    expired = api.get(CONTEXT_URL, **bearer_headers(old["accessToken"]))
    assert expired.status_code == 401
    assert expired.json()["code"] == 2011

    # when
    body = issue(
        api, storefront.key, requested(old["anonymousId"]), **bearer_headers(old["accessToken"])
    ).json()

    # then
    assert body["anonymousId"] == old["anonymousId"]


def test_a_previous_token_beyond_the_renewal_window_does_not_prove_the_id(api, storefront):
    # given a token that expired more than the renewal window ago
    window = settings.ANONYMOUS_RENEWAL_WINDOW_SECONDS
    minted_at = datetime.now(UTC) - timedelta(seconds=7200 + window + 3600)
    with clock_at(minted_at):
        old = issue(api, storefront.key).json()
    open_cart(storefront, old["anonymousId"])

    # when
    body = issue(
        api, storefront.key, requested(old["anonymousId"]), **bearer_headers(old["accessToken"])
    ).json()

    # then
    assert body["anonymousId"] != old["anonymousId"]
    assert is_uuid4(body["anonymousId"])


def test_the_renewal_window_is_a_setting(api, storefront, settings):
    # given a one-hour window and a token that expired two hours ago
    settings.ANONYMOUS_RENEWAL_WINDOW_SECONDS = 3600
    with clock_at(datetime.now(UTC) - timedelta(seconds=7200 + 7200)):
        old = issue(api, storefront.key).json()
    open_cart(storefront, old["anonymousId"])

    # when
    body = issue(
        api, storefront.key, requested(old["anonymousId"]), **bearer_headers(old["accessToken"])
    ).json()

    # then
    assert body["anonymousId"] != old["anonymousId"]


def _token_of_another_id(api: APIClient, storefront: Storefront, anonymous_id: str) -> str:
    return str(issue(api, storefront.key).json()["accessToken"])


def _token_of_another_tenant(api: APIClient, storefront: Storefront, anonymous_id: str) -> str:
    other = make_storefront()
    answer = issue(api, other.key, requested(anonymous_id)).json()
    assert answer["anonymousId"] == anonymous_id
    return str(answer["accessToken"])


def _garbage(api: APIClient, storefront: Storefront, anonymous_id: str) -> str:
    return "not.a.token"


def _context_token(api: APIClient, storefront: Storefront, anonymous_id: str) -> str:
    # a customer context minted for a token of this very id: the wrong kind of token
    token = issue(api, storefront.key, requested(anonymous_id)).json()["accessToken"]
    context = api.get(CONTEXT_URL, **bearer_headers(token))
    return str(context.json()["customerContext"])


def _wrongly_signed(api: APIClient, storefront: Storefront, anonymous_id: str) -> str:
    # the real kid, a guessed secret
    guessed = RealKey(kid=real_key(SigningKeyPurpose.ANONYMOUS).kid, secret=b"guessed-secret")
    claims = anonymous_claims(storefront, anonymous_id=anonymous_id, lifetime=600)
    return sign(claims, key=guessed, typ="JWT")


@pytest.mark.parametrize(
    "forge",
    [_token_of_another_id, _token_of_another_tenant, _garbage, _context_token, _wrongly_signed],
    ids=["another-anonymous-id", "another-tenant", "garbage", "context-token", "wrong-signature"],
)
def test_an_id_with_a_cart_is_refused_with_a_bad_proof(api, storefront, forge):
    # given an id with a cart, and a bearer that is not that id's previous token
    anonymous_id = str(uuid.uuid4())
    proof = forge(api, storefront, anonymous_id)
    open_cart(storefront, anonymous_id)

    # when
    answer = issue(api, storefront.key, requested(anonymous_id), **bearer_headers(proof))

    # then a new id, not an error
    assert answer.status_code == 200
    assert answer.json()["anonymousId"] != anonymous_id
    assert is_uuid4(answer.json()["anonymousId"])


def test_a_previous_token_without_the_bearer_scheme_proves_nothing(api, storefront):
    # given
    old = issue(api, storefront.key).json()
    open_cart(storefront, old["anonymousId"])

    # when the token is sent bare
    answer = issue(
        api,
        storefront.key,
        requested(old["anonymousId"]),
        HTTP_AUTHORIZATION=old["accessToken"],
    )

    # then
    assert answer.status_code == 200
    assert answer.json()["anonymousId"] != old["anonymousId"]


def test_a_token_of_another_app_of_the_same_tenant_proves_the_id(api, storefront):
    # given the tenant's second storefront app minted the id's previous token
    second = make_storefront(tenant=storefront.tenant)
    old = issue(api, second.key).json()
    open_cart(storefront, old["anonymousId"])

    # when
    body = issue(
        api, storefront.key, requested(old["anonymousId"]), **bearer_headers(old["accessToken"])
    ).json()

    # then the id belongs to the tenant's shopper
    assert body["anonymousId"] == old["anonymousId"]


# --- (c) compat, and retired ids -------------------------------------------------------------


def test_compat_keeps_a_bare_id_that_has_a_cart(api, db):
    # given
    storefront = make_storefront(anonymous_id_policy=AnonymousIdPolicy.COMPAT)
    anonymous_id = str(uuid.uuid4())
    open_cart(storefront, anonymous_id)

    # when
    body = issue(api, storefront.key, requested(anonymous_id)).json()

    # then
    assert body["anonymousId"] == anonymous_id


def _merged(storefront: Storefront, anonymous_id: str) -> None:
    target = Cart.objects.create(tenant=storefront.tenant, customer_id=uuid.uuid4())
    Cart.objects.create(
        tenant=storefront.tenant,
        anonymous_id=anonymous_id,
        status=CartStatus.MERGED,
        merged_into=target,
    )


@pytest.mark.parametrize("retire", [_migrated_to_a_customer, _merged], ids=["customer", "merged"])
@pytest.mark.parametrize("policy", AnonymousIdPolicy.values)
@pytest.mark.parametrize("with_proof", [False, True], ids=["bare", "with-proof"])
def test_a_retired_id_always_gets_a_new_id(api, db, retire, policy, with_proof):
    # given an id that was migrated to a customer, and possibly its previous token
    storefront = make_storefront(anonymous_id_policy=policy)
    old = issue(api, storefront.key).json()
    retire(storefront, old["anonymousId"])
    headers = bearer_headers(old["accessToken"]) if with_proof else {}

    # when
    body = issue(api, storefront.key, requested(old["anonymousId"]), **headers).json()

    # then
    assert body["anonymousId"] != old["anonymousId"]
    assert is_uuid4(body["anonymousId"])
    assert verified(body["accessToken"])[1]["jti"] == body["anonymousId"]
