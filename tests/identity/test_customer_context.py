"""The customer context under attack: SECURITY.md "context" rows.

A context is minted by GET /commerceapi/authentication/customercontext for one bearer and is
sent with it on every cart call. Here it is mixed with other bearers, edited, expired, signed
with other keys and outlived by its bearer; every refusal is a 401 that changes nothing.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from identity.keyring import signing_key_material, signing_key_rotate
from identity.models import SigningKey, SigningKeyPurpose
from identity.storefront import storefront_app_save
from identity.tokens import (
    CLAIM_BEARER_HASH,
    CLAIM_IS_ANONYMOUS,
    CLAIM_SUBJECT,
    CLAIM_TENANT,
    CustomerContextToken,
    bearer_hash,
    token_encode,
)
from tests.conftest import (
    HEADERS_TOO_LARGE,
    OVER_THE_HEADER_LIMIT,
    Shopper,
    Storefront,
    anonymous_shopper,
    assert_problem,
    bearer_headers,
    shopper_headers,
    tables_snapshot,
)
from tests.identity.tokens_helpers import (
    CART_URL,
    CONTEXT_URL,
    NOT_YET_VALID,
    ODD_CLAIM_VALUES,
    RealKey,
    add_to_cart,
    anonymous_claims,
    assemble,
    assert_nothing_fetched,
    assert_refused_or_ignored,
    assert_refused_unchanged,
    assert_unauthorized,
    b64url,
    b64url_decode,
    b64url_json,
    clock_at,
    context_claims,
    header_for,
    hmac_signed,
    loopback_server,
    real_key,
    recorded_side_effects,
    segments,
    sign,
    without,
)

pytestmark = pytest.mark.django_db

CONTEXT = SigningKeyPurpose.CONTEXT


def cart_of(api: APIClient, raw_bearer: str, raw_context: str) -> Any:
    return api.get(CART_URL, **shopper_headers(raw_bearer, raw_context))


def assert_context_refused(api: APIClient, raw_bearer: str, raw_context: str, code: int) -> None:
    """Reading and changing the cart with this pair are 401 ``code``; nothing changes."""
    assert_unauthorized(cart_of(api, raw_bearer, raw_context), code)
    assert_refused_unchanged(api, shopper_headers(raw_bearer, raw_context), code)


def resigned(raw_context: str, key: RealKey | None = None, **claim_changes: Any) -> str:
    """``raw_context`` with changed claims, signed again with the real context key."""
    _, claims, _ = segments(raw_context)
    return sign({**claims, **claim_changes}, purpose=CONTEXT, key=key)


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


# --- Keys, algorithms and headers -----------------------------------------------------------


def retired_context_key() -> RealKey:
    """A context key retired so long ago that the keyring no longer verifies with it."""
    secret = signing_key_material("HS256")
    row = SigningKey.objects.create(
        kid=secrets.token_urlsafe(12),
        purpose=CONTEXT,
        algorithm="HS256",
        secret=secret,
        is_active=False,
        verify_until=timezone.now() - timedelta(seconds=1),
    )
    return RealKey(kid=row.kid, secret=b64url_decode(secret))


@pytest.mark.parametrize(
    "signer",
    [
        "access-key",
        "access-secret-under-the-context-kid",
        "unknown-kid",
        "random-secret-under-the-context-kid",
        "retired-key",
        "blank-secret",
        "alg-none",
        "hs512-with-the-real-secret",
    ],
)
def test_a_context_signed_with_another_key_is_refused(
    api: APIClient, carted: Shopper, signer: str
) -> None:
    # given the shopper's context claims signed with some key other than the context key's
    header, claims, _ = segments(carted.context)
    access = real_key("access")
    context_key = real_key(CONTEXT)
    random_secret = secrets.token_bytes(32)
    forged = {
        "access-key": lambda: sign(claims, purpose=CONTEXT, key=access),
        "access-secret-under-the-context-kid": lambda: hmac_signed(header, claims, access.secret),
        "unknown-kid": lambda: hmac_signed(
            {**header, "kid": secrets.token_urlsafe(12)}, claims, random_secret
        ),
        "random-secret-under-the-context-kid": lambda: hmac_signed(header, claims, random_secret),
        "retired-key": lambda: sign(claims, purpose=CONTEXT, key=retired_context_key()),
        "blank-secret": lambda: hmac_signed(header, claims, b""),
        "alg-none": lambda: assemble({**header, "alg": "none"}, claims, ""),
        "hs512-with-the-real-secret": lambda: hmac_signed(
            {**header, "alg": "HS512"}, claims, context_key.secret, "sha512"
        ),
    }[signer]()

    # when / then
    assert_context_refused(api, carted.token, forged, 2031)


@pytest.mark.parametrize(
    "header_changes",
    [
        pytest.param({"typ": "at+jwt"}, id="typ-of-a-bearer"),
        pytest.param({"typ": "JWT"}, id="typ-jwt"),
        pytest.param({"typ": None}, id="no-typ"),
        pytest.param({"crit": ["x-unknown"], "x-unknown": 1}, id="crit"),
        pytest.param({"jku": "http://127.0.0.1:9/jwks.json"}, id="jku"),
        pytest.param({"x5u": "http://127.0.0.1:9/cert.pem"}, id="x5u"),
        pytest.param({"jwk": {"kty": "oct", "k": "c2VjcmV0"}}, id="jwk"),
        pytest.param({"x5c": ["MIIB"]}, id="x5c"),
    ],
)
def test_a_context_with_a_header_we_do_not_write_is_refused(
    api: APIClient, carted: Shopper, header_changes: dict[str, Any]
) -> None:
    # given the shopper's context claims signed with the real key under such a header
    _, claims, _ = segments(carted.context)
    forged = sign(claims, purpose=CONTEXT, **header_changes)

    # when / then
    assert_context_refused(api, carted.token, forged, 2031)


def test_a_context_pointing_at_an_attackers_keys_fetches_nothing(
    api: APIClient, carted: Shopper
) -> None:
    # given a loopback server publishing an attacker's key, and a context signed with it
    attacker_secret = secrets.token_bytes(32)
    header, claims, _ = segments(carted.context)
    published = {"keys": [{"kty": "oct", "kid": "attacker", "k": b64url(attacker_secret)}]}
    with loopback_server(json.dumps(published).encode()) as server:
        forged = hmac_signed(
            {**header, "kid": "attacker", "jku": f"{server.url}/jwks.json"},
            claims,
            attacker_secret,
        )

        # when it is presented
        with recorded_side_effects() as side_effects:
            assert_context_refused(api, carted.token, forged, 2031)

        # then nothing was fetched
        assert_nothing_fetched(server, side_effects)


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../../../dev/null",
        "' OR '1'='1",
        "x' UNION SELECT 'c2VjcmV0' --",
        "$(touch {marker})",
        "| touch {marker}",
        "kid\x00",
        "k" * 65,
    ],
)
def test_a_context_with_a_malformed_kid_is_refused_without_a_query_or_a_file(
    api: APIClient,
    carted: Shopper,
    tmp_path: Path,
    django_assert_num_queries: Any,
    kid: str,
) -> None:
    # given a working session and its context claims under a hostile kid, signed with no key
    marker = tmp_path / "pwned"
    header, claims, _ = segments(carted.context)
    forged = hmac_signed({**header, "kid": kid.format(marker=marker)}, claims, b"")
    # The bearer's revocation check is cached by this first request.
    assert cart_of(api, carted.token, carted.context).status_code == 200

    # when it is presented
    with django_assert_num_queries(0), recorded_side_effects() as side_effects:
        response = cart_of(api, carted.token, forged)

    # then it is refused without the database, a file, a process or the network
    assert_unauthorized(response, 2031)
    assert side_effects == []
    assert not marker.exists()


# --- Tenants --------------------------------------------------------------------------------


def test_a_context_of_another_tenant_is_refused(
    api: APIClient, carted: Shopper, other_storefront: Storefront
) -> None:
    # given a shopper of another tenant
    other = anonymous_shopper(api, other_storefront.key)

    # when / then: either context with the other tenant's bearer
    assert_context_refused(api, carted.token, other.context, 2032)
    assert_context_refused(api, other.token, carted.context, 2032)


def test_a_validly_signed_context_naming_another_tenant_is_refused(
    api: APIClient, carted: Shopper, other_storefront: Storefront
) -> None:
    # given a context bound to the shopper's bearer but naming another tenant, signed for real
    forged = resigned(carted.context, tenant=other_storefront.tenant.pk)

    # when / then
    assert_context_refused(api, carted.token, forged, 2032)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"isAnonymous": False}, id="a-customer"),
        pytest.param({"sub": "00000000-0000-4000-8000-000000000000"}, id="another-anonymous-id"),
        pytest.param({"idp": "00000000-0000-4000-8000-000000000000"}, id="a-provider"),
    ],
)
def test_a_validly_signed_context_naming_someone_else_is_refused(
    api: APIClient, carted: Shopper, changes: dict[str, Any]
) -> None:
    # given a context bound to the shopper's bearer that names another shopper, signed for real
    forged = resigned(carted.context, **changes)

    # when / then
    assert_context_refused(api, carted.token, forged, 2032)


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


# --- Shapes and claim values ----------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        "jwe",
        "json-serialisation",
        "padded-signature",
        "non-ascii",
        "newline",
        "header-of-100-kb",
        "two-segments",
    ],
)
def test_a_context_that_is_not_a_canonical_compact_jws_is_refused_fast(
    api: APIClient, carted: Shopper, shape: str
) -> None:
    # given the shopper's context reshaped
    _, claims, signature = segments(carted.context)
    header_segment, payload_segment, _ = carted.context.split(".")
    forged = {
        "jwe": ".".join(
            [b64url_json({"alg": "dir", "enc": "A256GCM"}), "", "aXY", "Y2lwaGVy", "dGFn"]
        ),
        "json-serialisation": json.dumps(
            {"protected": header_segment, "payload": payload_segment, "signature": signature}
        ),
        "padded-signature": f"{carted.context}=",
        "non-ascii": f"{carted.context[:-3]}é{carted.context[-3:]}",
        "newline": f"{carted.context[:-3]}\n{carted.context[-3:]}",
        "header-of-100-kb": sign(claims, purpose=CONTEXT, pad="A" * 100 * 1024),
        "two-segments": f"{header_segment}.{payload_segment}",
    }[shape]

    # when / then (a context past the header limit is refused before it is decoded)
    started = time.perf_counter()
    if shape in OVER_THE_HEADER_LIMIT:
        assert_problem(cart_of(api, carted.token, forged), HEADERS_TOO_LARGE)
    else:
        assert_context_refused(api, carted.token, forged, 2031)
    assert time.perf_counter() - started < 1.0


CONTEXT_CLAIMS = [
    "token_type",
    "exp",
    "iat",
    "nbf",
    "jti",
    "iss",
    "aud",
    "tenant",
    "sub",
    "isAnonymous",
    "ath",
    "idp",
]


@pytest.mark.parametrize("value", ODD_CLAIM_VALUES)
@pytest.mark.parametrize("claim", CONTEXT_CLAIMS)
def test_any_context_claim_set_to_nonsense_is_refused_or_ignored(
    api: APIClient, carted: Shopper, claim: str, value: Any
) -> None:
    # given the shopper's context with one claim set to an odd value, signed with the real key
    forged = resigned(carted.context, **{claim: value})

    # when it is used to read and to change the cart
    before = tables_snapshot()
    read = cart_of(api, carted.token, forged)
    changed = add_to_cart(api, shopper_headers(carted.token, forged))

    # then it is refused with a known problem (nothing changed), or it is still this shopper's
    for response in (read, changed):
        assert_refused_or_ignored(response, forged)
    if read.status_code == 401:
        assert changed.json() == read.json()
        assert tables_snapshot() == before
    else:
        assert [line["sku"] for line in read.json()["lines"]] == ["MUG"]
        assert changed.json()["itemCount"] == 2


# --- Rotation -------------------------------------------------------------------------------


def test_a_key_rotation_keeps_bearers_and_contexts_minted_before_it(
    api: APIClient, storefront: Storefront, carted: Shopper
) -> None:
    # given a session minted with the keys active now
    old_access_kid = segments(carted.token)[0]["kid"]
    old_context_kid = segments(carted.context)[0]["kid"]

    # when both keys are rotated
    new_access = signing_key_rotate(purpose=SigningKeyPurpose.ACCESS)
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
