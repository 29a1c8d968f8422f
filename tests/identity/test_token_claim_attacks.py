"""Required claims, times, crit, typ, token kinds; Every claim set to every kind of nonsense;
Shapes that are not a compact JWS; The Authorization header. Part of the test_token_attacks
suite (see its docstring)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.conftest import (
    HEADERS_TOO_LARGE,
    OVER_THE_HEADER_LIMIT,
    Shopper,
    Storefront,
    assert_problem,
    shopper_headers,
    tables_snapshot,
)
from tests.identity.token_attacks_common import (
    assert_refused_everywhere,
    context_of,
)
from tests.identity.tokens_helpers import (
    CART_URL,
    CONTEXT_URL,
    ECHO_MARKER,
    MALFORMED_SHAPES,
    NOT_YET_VALID,
    ODD_CLAIM_VALUES,
    add_to_cart,
    anonymous_claims,
    assemble,
    assert_refused_or_ignored,
    assert_refused_unchanged,
    assert_unauthorized,
    hmac_signed,
    malformed_shapes,
    real_key,
    segments,
    sign,
    without,
)

pytestmark = pytest.mark.django_db


# --- Required claims, times, crit, typ, token kinds -----------------------------------------


@pytest.mark.parametrize(
    "claim", ["exp", "jti", "iat", "iss", "aud", "sub", "token_type", "tenant", "app"]
)
def test_a_token_missing_a_required_claim_is_refused(
    api: APIClient, storefront: Storefront, claim: str
) -> None:
    # given claims without one of the required ones, signed with the real key
    claims = anonymous_claims(storefront)
    assert context_of(api, sign(claims)).status_code == 200
    forged = sign(without(claims, claim))

    # when / then
    assert_unauthorized(context_of(api, forged), 2010)


@pytest.mark.parametrize("seconds_ago", [1, 61, 3600, 10**9])
def test_an_expired_token_is_refused_as_expired(
    api: APIClient, storefront: Storefront, carted: Shopper, seconds_ago: int
) -> None:
    # given the shopper's claims, expired (no leeway: one second is enough), signed for real
    _, claims, _ = segments(carted.token)
    now = int(time.time())
    expired = sign({**claims, "iat": now - seconds_ago - 60, "exp": now - seconds_ago})

    # when / then
    assert_refused_everywhere(api, expired, carted.context, 2011)


@pytest.mark.parametrize("changes", NOT_YET_VALID)
def test_a_token_not_yet_valid_is_refused(
    api: APIClient, carted: Shopper, changes: dict[str, int]
) -> None:
    # given the shopper's claims made valid only in the future, signed for real
    _, claims, _ = segments(carted.token)
    now = int(time.time())
    future = sign({**claims, **{name: now + delta for name, delta in changes.items()}})

    # when / then
    assert_refused_everywhere(api, future, carted.context, 2010)


@pytest.mark.parametrize(
    "crit",
    [
        pytest.param({"crit": ["x-must-understand"], "x-must-understand": True}, id="unknown"),
        pytest.param({"crit": ["exp"]}, id="registered-claim"),
        pytest.param({"crit": ["b64"], "b64": False}, id="unencoded-payload"),
        pytest.param({"crit": []}, id="empty"),
    ],
)
def test_a_crit_header_is_refused(api: APIClient, carted: Shopper, crit: dict[str, Any]) -> None:
    # given the shopper's claims signed for real under a header with crit
    header, claims, _ = segments(carted.token)
    forged = hmac_signed({**header, **crit}, claims, real_key("anonymous").secret)

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "customer-context+jwt", "", 1, ["at+jwt"], None])
def test_a_wrong_typ_header_is_refused(api: APIClient, carted: Shopper, typ: Any) -> None:
    # given the shopper's claims signed for real under another typ (None: no typ)
    header, claims, _ = segments(carted.token)
    forged = hmac_signed(
        without({**header, "typ": typ}, *(["typ"] if typ is None else [])),
        claims,
        real_key("anonymous").secret,
    )

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


def test_a_customer_context_sent_as_the_bearer_is_refused(api: APIClient, carted: Shopper) -> None:
    # given the shopper's real context, in the place of its bearer
    # when / then
    assert_refused_everywhere(api, carted.context, carted.context, 2010)


@pytest.mark.parametrize(
    ("token_type", "purpose", "typ"),
    [
        pytest.param("customer_context", "access", "at+jwt", id="context-kind-access-key"),
        pytest.param("anonymous", "context", "at+jwt", id="context-key"),
        pytest.param("anonymous", "context", "customer-context+jwt", id="context-key-and-typ"),
        pytest.param("access", "access", "at+jwt", id="simplejwt-access"),
        pytest.param("refresh", "access", "at+jwt", id="simplejwt-refresh"),
        pytest.param("Anonymous", "access", "at+jwt", id="kind-casing"),
    ],
)
def test_a_token_of_another_kind_is_refused_as_bearer(
    api: APIClient, carted: Shopper, token_type: str, purpose: str, typ: str
) -> None:
    # given the shopper's claims as another kind, or signed by the context key, signed for real
    header, claims, _ = segments(carted.token)
    key = real_key(purpose)
    forged = hmac_signed(
        {**header, "kid": key.kid, "typ": typ}, {**claims, "token_type": token_type}, key.secret
    )

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


# --- Every claim set to every kind of nonsense ----------------------------------------------

BEARER_CLAIMS = ["token_type", "exp", "iat", "nbf", "jti", "sub", "iss", "aud", "tenant", "app"]


@pytest.mark.parametrize("value", ODD_CLAIM_VALUES)
@pytest.mark.parametrize("claim", BEARER_CLAIMS)
def test_any_bearer_claim_set_to_nonsense_is_refused_or_ignored(
    api: APIClient, storefront: Storefront, products: dict[str, Any], claim: str, value: Any
) -> None:
    # given a bearer with one claim set to an odd value, signed with the real key
    forged = sign({**anonymous_claims(storefront), claim: value})

    # when it asks for a context
    minted = context_of(api, forged)

    # then it is refused, or the context it gets works like any other, on a read and a change
    assert_refused_or_ignored(minted, forged)
    if minted.status_code == 200:
        headers = shopper_headers(forged, minted.json()["customerContext"])
        assert_refused_or_ignored(api.get(CART_URL, **headers), forged)
        changed = add_to_cart(api, headers)
        assert changed.status_code in (200, 400, 401), changed.content


@pytest.mark.parametrize(
    "injected",
    [
        pytest.param({"scope": "admin catalog:write"}, id="scope"),
        pytest.param({"is_staff": True, "is_superuser": True}, id="is_staff"),
        pytest.param("tenant", id="tenant-of-another-tenant"),
    ],
)
@pytest.mark.parametrize("forgery", ["original-signature", "blank-secret"])
def test_claims_injected_under_a_forged_signature_are_refused(
    api: APIClient, carted: Shopper, other_storefront: Storefront, injected: Any, forgery: str
) -> None:
    # given the shopper's real token with claims injected, the signature forged
    header, claims, signature = segments(carted.token)
    changes = {"tenant": other_storefront.tenant.pk} if injected == "tenant" else injected
    if forgery == "original-signature":
        forged = assemble(header, {**claims, **changes}, signature)
    else:
        forged = hmac_signed(header, {**claims, **changes}, b"")

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


def test_extra_claims_in_a_validly_signed_token_are_ignored(
    api: APIClient, storefront: Storefront, other_storefront: Storefront, products: dict[str, Any]
) -> None:
    # given a bearer signed with the real key that also claims privileges and another tenant
    claims = anonymous_claims(storefront)
    extras = {
        "scope": "admin catalog:write",
        "scp": ["admin"],
        "roles": ["admin"],
        "is_staff": True,
        "is_superuser": True,
        "tenant_id": other_storefront.tenant.pk,
        "customer_id": str(uuid.uuid4()),
        "isAnonymous": False,
        "idp": str(uuid.uuid4()),
    }
    bearer = sign({**claims, **extras})

    # when it asks for a context and uses it
    minted = context_of(api, bearer)
    context = minted.json()["customerContext"]
    added = add_to_cart(api, shopper_headers(bearer, context))

    # then it is the anonymous shopper of its own tenant and nothing more
    assert minted.status_code == 200
    assert minted.json() == {"isAnonymous": True, "customerContext": context}
    _, context_payload, _ = segments(context)
    assert set(context_payload) == {
        "token_type",
        "exp",
        "iat",
        "jti",
        "tenant",
        "sub",
        "isAnonymous",
        "ath",
        "iss",
        "aud",
    }
    assert context_payload["tenant"] == storefront.tenant.pk
    assert context_payload["sub"] == claims["jti"]
    assert context_payload["isAnonymous"] is True
    assert added.status_code == 200, added.content
    assert added.json()["isAnonymous"] is True
    assert added.json()["currency"] == storefront.tenant.currency
    assert [line["sku"] for line in added.json()["lines"]] == ["MUG"]


# --- Shapes that are not a compact JWS ------------------------------------------------------


def canonical_with_dash_or_underscore(storefront: Storefront) -> str:
    """A real token whose signature holds '-' or '_' (about three in four do)."""
    while True:
        token = sign(anonymous_claims(storefront))
        if set(token.rsplit(".", 1)[1]) & {"-", "_"}:
            return token


@pytest.mark.parametrize("shape", MALFORMED_SHAPES)
def test_anything_but_a_canonical_compact_jws_is_refused_fast(
    api: APIClient, storefront: Storefront, carted: Shopper, shape: str
) -> None:
    # given a token in a shape other than canonical compact JWS
    forged = malformed_shapes(carted.token, canonical_with_dash_or_underscore(storefront))[shape]

    # when it is presented alone, with the context, and on a change
    before = tables_snapshot()
    started = time.perf_counter()
    alone = context_of(api, forged)
    with_context = api.get(CART_URL, **shopper_headers(forged, carted.context))
    changed = add_to_cart(api, shopper_headers(forged, carted.context))
    elapsed = time.perf_counter() - started

    # then each is a 401 (a 431 past the header limit; never a 5xx), quickly, and nothing
    # changed
    for response in (alone, with_context, changed):
        if shape in OVER_THE_HEADER_LIMIT:
            assert_problem(response, HEADERS_TOO_LARGE)
        else:
            assert_unauthorized(response, 2010)
    assert tables_snapshot() == before
    assert elapsed < 1.0


# --- The Authorization header ---------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "{token}",
        "Token {token}",
        "JWT {token}",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer",
        "Bearer    ",
        "Bearer,{token}",
        "Bearer\t{token}",
        "",
    ],
)
def test_a_token_without_the_bearer_scheme_is_refused(
    api: APIClient, carted: Shopper, authorization: str
) -> None:
    # given the shopper's real token, not sent as "Bearer <token>"
    headers = {"HTTP_AUTHORIZATION": authorization.format(token=carted.token)}
    with_context = {**headers, "HTTP_X_CUSTOMER_CONTEXT": carted.context}

    # when / then
    assert_unauthorized(api.get(CONTEXT_URL, **headers), 2002)
    assert_unauthorized(api.get(CART_URL, **with_context), 2002)
    assert_refused_unchanged(api, with_context, 2002)


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_scheme_name_is_case_insensitive(api: APIClient, carted: Shopper, scheme: str) -> None:
    # given the shopper's token sent with the scheme name in another case (RFC 9110, 11.1)
    headers = {
        "HTTP_AUTHORIZATION": f"{scheme} {carted.token}",
        "HTTP_X_CUSTOMER_CONTEXT": carted.context,
    }

    # when the cart is read
    answer = api.get(CART_URL, **headers)

    # then it is the shopper's cart
    assert answer.status_code == 200, answer.content
    assert answer.json()["lines"]


def test_no_authorization_at_all_is_a_401_with_www_authenticate(
    api: APIClient, carted: Shopper
) -> None:
    # given only the context, no bearer
    headers = {"HTTP_X_CUSTOMER_CONTEXT": carted.context}

    # when / then
    assert_unauthorized(api.get(CONTEXT_URL), 2000)
    assert_unauthorized(api.get(CART_URL, **headers), 2000)
    assert_refused_unchanged(api, headers, 2000)


def test_a_refused_token_is_never_echoed(api: APIClient, carted: Shopper) -> None:
    # given a forged token carrying a recognisable value
    header, claims, signature = segments(carted.token)
    forged = assemble(header, {**claims, "sub": ECHO_MARKER}, signature)

    # when it is refused
    responses = [
        context_of(api, forged),
        api.get(CART_URL, **shopper_headers(forged, carted.context)),
    ]

    # then neither the token nor anything in it is in the answer
    for response in responses:
        assert_unauthorized(response, 2010)
        assert forged.encode() not in response.content
        assert ECHO_MARKER.encode() not in response.content
        assert claims["jti"].encode() not in response.content


def test_tokens_without_our_issuer_are_left_to_the_identity_providers(
    api: APIClient, storefront: Storefront
) -> None:
    # given our claims signed with our real key but naming another issuer
    forged = sign({**anonymous_claims(storefront), "iss": settings.TOKEN_ISSUER + "/"})

    # when / then: no provider trusts that issuer, and our key is not used for it
    assert_unauthorized(context_of(api, forged), 2060)
