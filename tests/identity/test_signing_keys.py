"""The signing keyring: rotation without downtime, retirement, and keys parsed once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

import identity.credentials.keyring
from carts.models import Cart
from identity.models import ACCESS_TOKEN_MAX_SECONDS, SigningKey, SigningKeyPurpose
from tests.conftest import (
    Shopper,
    anonymous_shopper,
    bearer_headers,
    run_command,
    shopper_headers,
)
from tests.factories import StorefrontAppFactory
from tests.identity.oauth_helpers import password_tokens
from tests.identity.tokens_helpers import (
    CART_URL,
    CONTEXT_URL,
    anonymous_claims,
    b64url_json,
    real_key,
    sign,
)

TOKEN_URL = "/commerceapi/authentication/"


def rotate(*args: str) -> str:
    return run_command("signing_key_rotate", *args)


def active_kid(purpose: str) -> str:
    return SigningKey.objects.get(purpose=purpose, is_active=True).kid


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


@pytest.fixture
def parsed_kids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kid of every key the keyring parses from now on, in order."""
    parsed: list[str] = []
    prepare = identity.credentials.keyring._prepare

    def counting_prepare(row: SigningKey) -> Any:
        parsed.append(row.kid)
        return prepare(row)

    monkeypatch.setattr(identity.credentials.keyring, "_prepare", counting_prepare)
    return parsed


# --- the command ----------------------------------------------------------------------------


def test_rotate_makes_a_new_active_key_for_every_purpose(db):
    # given
    before = {purpose: active_kid(purpose) for purpose in SigningKeyPurpose.values}

    # when
    out = rotate()

    # then
    after = {purpose: active_kid(purpose) for purpose in SigningKeyPurpose.values}
    for purpose in SigningKeyPurpose.values:
        assert after[purpose] != before[purpose]
        retired = SigningKey.objects.get(kid=before[purpose])
        assert retired.is_active is False
        assert retired.verify_until is not None
        algorithm = "ES256" if purpose == SigningKeyPurpose.ACCESS else "HS256"
        assert f"{purpose}: new active key {after[purpose]} ({algorithm})" in out
    assert SigningKey.objects.filter(is_active=True).count() == len(SigningKeyPurpose.values)


def test_a_retired_key_verifies_as_long_as_its_tokens_can_be_presented(db, storefront):
    # given two apps, whose anonymous tokens live one and three hours
    storefront.app.anonymous_token_lifetime_seconds = 10800
    storefront.app.save()
    StorefrontAppFactory(anonymous_token_lifetime_seconds=3600)
    before = {purpose: active_kid(purpose) for purpose in SigningKeyPurpose.values}
    started = timezone.now()

    # when
    rotate()

    # then anonymous tokens: the longest lifetime plus the renewal window
    anonymous = SigningKey.objects.get(kid=before[SigningKeyPurpose.ANONYMOUS])
    expected = timedelta(seconds=10800 + settings.ANONYMOUS_RENEWAL_WINDOW_SECONDS)
    assert started + expected <= anonymous.verify_until <= timezone.now() + expected
    # and the token service's access tokens: the longest an access token lives
    access = SigningKey.objects.get(kid=before[SigningKeyPurpose.ACCESS])
    expected = timedelta(seconds=ACCESS_TOKEN_MAX_SECONDS)
    assert started + expected <= access.verify_until <= timezone.now() + expected
    # and contexts: their longest lifetime
    context = SigningKey.objects.get(kid=before[SigningKeyPurpose.CONTEXT])
    expected = timedelta(seconds=settings.CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS)
    assert started + expected <= context.verify_until <= timezone.now() + expected


def test_rotate_one_purpose_leaves_the_other(db):
    # given
    context_kid = active_kid(SigningKeyPurpose.CONTEXT)
    access_kid = active_kid(SigningKeyPurpose.ACCESS)

    # when
    rotate("--purpose", "access")

    # then
    assert active_kid(SigningKeyPurpose.CONTEXT) == context_kid
    assert active_kid(SigningKeyPurpose.ACCESS) != access_kid


def test_rotate_refuses_an_unknown_purpose_or_algorithm(db):
    # given
    kids = set(SigningKey.objects.values_list("kid", flat=True))

    # when / then
    with pytest.raises(CommandError):
        rotate("--purpose", "everything")
    with pytest.raises(CommandError):
        rotate("--algorithm", "none")
    assert set(SigningKey.objects.values_list("kid", flat=True)) == kids


# --- no downtime ----------------------------------------------------------------------------


def test_a_token_and_context_minted_before_rotation_stay_valid_after_it(
    api, storefront, carted: Shopper
):
    # given a shopper with a cart, holding a token and a context of the old keys
    shopper = carted
    old_kids = (kid_of(shopper.token), kid_of(shopper.context))

    # when the keys are rotated
    rotate()

    # then the old token and context still work, for reading the cart and minting a context
    assert (active_kid("anonymous"), active_kid("context")) != old_kids
    cart = api.get(CART_URL, **shopper.headers())
    assert cart.status_code == 200, cart.content
    assert [line["sku"] for line in cart.json()["lines"]] == ["MUG"]
    assert api.get(CONTEXT_URL, **bearer_headers(shopper.token)).status_code == 200
    # and the old token still proves the anonymous id
    renewed = api.post(
        TOKEN_URL,
        {"anonymousAuthenticationRequest": shopper.anonymous_id},
        format="json",
        HTTP_X_AUTH_KEY=storefront.key,
        **bearer_headers(shopper.token),
    )
    assert renewed.json()["anonymousId"] == shopper.anonymous_id


def test_new_tokens_carry_the_new_kid(api, storefront):
    # given
    rotate()

    # when
    shopper = anonymous_shopper(api, storefront.key)

    # then
    assert kid_of(shopper.token) == active_kid(SigningKeyPurpose.ANONYMOUS)
    assert kid_of(shopper.context) == active_kid(SigningKeyPurpose.CONTEXT)
    assert api.get(CART_URL, **shopper.headers()).status_code == 200


def test_tokens_of_a_key_past_its_verify_until_are_refused(api, storefront, shopper, monkeypatch):
    # given the keys were rotated (the old ones still verify), then their verify_until passed
    rotate()
    assert api.get(CONTEXT_URL, **bearer_headers(shopper.token)).status_code == 200
    SigningKey.objects.filter(is_active=False).update(
        verify_until=timezone.now() - timedelta(seconds=1)
    )

    # when the keyring is due for its periodic reload
    assert identity.credentials.keyring._cache._keyring is not None
    monkeypatch.setattr(
        identity.credentials.keyring._cache,
        "_loaded_at",
        time.monotonic() - identity.credentials.keyring.RELOAD_SECONDS - 1,
    )
    context = api.get(CONTEXT_URL, **bearer_headers(shopper.token))
    fresh = anonymous_shopper(api, storefront.key)
    cart_with_old_context = api.get(CART_URL, **shopper_headers(fresh.token, shopper.context))

    # then
    assert context.status_code == 401
    assert context.json()["code"] == 2010
    assert context["WWW-Authenticate"] == 'Bearer realm="commerceapi"'
    assert cart_with_old_context.status_code == 401
    assert cart_with_old_context.json()["code"] == 2031


def test_an_expired_proof_of_a_retired_key_keeps_the_id_no_longer(api, storefront, shopper):
    # given the token's key is past its verify_until, and the id has a cart
    Cart.objects.create(tenant=storefront.tenant, anonymous_id=shopper.anonymous_id)
    rotate()
    SigningKey.objects.filter(is_active=False).update(
        verify_until=timezone.now() - timedelta(seconds=1)
    )
    identity.credentials.keyring.keyring_clear_cache()

    # when
    answer = api.post(
        TOKEN_URL,
        {"anonymousAuthenticationRequest": shopper.anonymous_id},
        format="json",
        HTTP_X_AUTH_KEY=storefront.key,
        **bearer_headers(shopper.token),
    )

    # then
    assert answer.status_code == 200
    assert answer.json()["anonymousId"] != shopper.anonymous_id


def test_a_process_that_has_not_reloaded_learns_a_new_kid_on_first_sight(
    api, storefront, monkeypatch
):
    # given this process loaded its keyring, then another process rotated the keys
    assert api.post(TOKEN_URL, HTTP_X_AUTH_KEY=storefront.key).status_code == 200
    monkeypatch.setattr(identity.credentials.keyring, "keyring_clear_cache", lambda: None)
    monkeypatch.setattr(
        identity.credentials.keyring._cache, "_last_unknown_kid_reload", float("-inf")
    )
    rotate("--purpose", "anonymous")
    new_key = real_key(SigningKeyPurpose.ANONYMOUS)

    # when a token of the new key arrives
    token = sign(anonymous_claims(storefront, lifetime=600), key=new_key)
    answer = api.get(CONTEXT_URL, **bearer_headers(token))

    # then
    assert answer.status_code == 200, answer.content


def test_access_keys_are_es256_by_default_and_another_asymmetric_one_can_be_rotated_in(
    api, storefront, sales_channel, customer
):
    # given the default keyring: an ES256 access key
    assert jwt.get_unverified_header(password_tokens(api, sales_channel)["access_token"]) == {
        "alg": "ES256",
        "kid": active_kid("access"),
        "typ": "at+jwt",
    }

    # when an RS256 access key is rotated in
    out = rotate("--purpose", "access", "--algorithm", "RS256")

    # then customer tokens are RS256 and work; anonymous tokens stay HS256
    assert f"access: new active key {active_kid('access')} (RS256)" in out
    token = password_tokens(api, sales_channel)["access_token"]
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "kid": active_kid("access"),
        "typ": "at+jwt",
    }
    assert api.get(CONTEXT_URL, **bearer_headers(token)).status_code == 200
    shopper = anonymous_shopper(api, storefront.key)
    assert jwt.get_unverified_header(shopper.token)["alg"] == "HS256"


@pytest.mark.parametrize(
    "arguments",
    [
        ("--purpose", "anonymous", "--algorithm", "ES256"),
        ("--purpose", "context", "--algorithm", "RS256"),
        ("--purpose", "access", "--algorithm", "HS256"),
    ],
)
def test_each_purpose_keeps_its_kind_of_algorithm(db, arguments):
    # given
    kids = set(SigningKey.objects.values_list("kid", flat=True))

    # when / then: only the access keys are asymmetric, and always
    with pytest.raises(CommandError):
        rotate(*arguments)
    assert set(SigningKey.objects.values_list("kid", flat=True)) == kids


# --- keys are parsed once -------------------------------------------------------------------


def test_keys_are_parsed_once_not_per_request(api, storefront, parsed_kids):
    # given a count of key parsing
    client = APIClient()

    # when several requests sign and verify tokens and contexts
    shoppers = [anonymous_shopper(client, storefront.key) for _ in range(3)]
    for shopper in shoppers:
        assert client.get(CART_URL, **shopper.headers()).status_code == 200
        assert client.get(CONTEXT_URL, **bearer_headers(shopper.token)).status_code == 200

    # then every key was parsed exactly once
    assert sorted(parsed_kids) == sorted(SigningKey.objects.values_list("kid", flat=True))


def test_an_unknown_kid_does_not_reload_the_keyring_per_request(api, storefront, parsed_kids):
    # given the keyring is loaded, and a count of key parsing from then on
    shopper = anonymous_shopper(api, storefront.key)
    parsed_kids.clear()
    _, payload, signature = shopper.token.split(".")
    keys = SigningKey.objects.count()

    # when twenty tokens name kids nobody has
    for n in range(20):
        forged_header = b64url_json({"alg": "HS256", "kid": f"unknown-{n}", "typ": "at+jwt"})
        answer = api.get(CONTEXT_URL, **bearer_headers(f"{forged_header}.{payload}.{signature}"))
        assert answer.status_code == 401

    # then the keyring was reloaded at most once
    assert len(parsed_kids) <= keys
