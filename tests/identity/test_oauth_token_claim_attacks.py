"""Required claims, times, crit, typ, token kinds; Every claim set to every kind of nonsense;
Injected scopes and privileges; Shapes that are not a compact JWS. Part of the
test_oauth_token_attacks suite (see its docstring)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from identity.models import Customer, SigningKeyPurpose
from tests.conftest import (
    HEADERS_TOO_LARGE,
    OVER_THE_HEADER_LIMIT,
    Storefront,
    assert_problem,
    bearer_headers,
    shopper_headers,
    tables_snapshot,
)
from tests.identity.oauth_token_attacks_common import (
    INSUFFICIENT_SCOPE_CODE,
    MIGRATE_URL,
    PROFILE_URL,
    REGISTER_URL,
    SHOPPER_REQUIRED_CODE,
    Kind,
    access_sign,
    assert_accepted,
    assert_catalog_unauthorized,
    assert_refused_everywhere,
    context_of,
    products_of,
)
from tests.identity.tokens_helpers import (
    CART_URL,
    ECHO_MARKER,
    MALFORMED_SHAPES,
    NOT_YET_VALID,
    ODD_CLAIM_VALUES,
    PROBLEMS,
    add_to_cart,
    assert_refused_unchanged,
    assert_unauthorized,
    header_for,
    key_signed,
    malformed_shapes,
    real_key,
    segments,
    without,
)

pytestmark = pytest.mark.django_db


# --- Required claims, times, crit, typ, token kinds -----------------------------------------


@pytest.mark.parametrize(
    "claim",
    ["exp", "jti", "iat", "iss", "aud", "sub", "token_type", "tenant", "client_id", "scope"],
)
def test_a_token_missing_a_required_claim_is_refused(
    api: APIClient, kind: Kind, claim: str
) -> None:
    claims = kind.claims()
    assert_accepted(api, kind, access_sign(claims))
    forged = access_sign(without(claims, claim))
    if claim != "iss":
        assert_refused_everywhere(api, kind, forged, 2010)
        return
    # Without our issuer the token is no longer ours: it is judged as a provider's, and on the
    # cart the context (read first for a provider's token) is not this bearer's.
    assert_unauthorized(context_of(api, forged), 2010)
    assert_catalog_unauthorized(products_of(api, forged), 2010)
    assert_unauthorized(api.get(CART_URL, **shopper_headers(forged, kind.context)), 2032)
    assert_refused_unchanged(api, shopper_headers(forged, kind.context), 2032)


@pytest.mark.parametrize("seconds_ago", [1, 61, 3600, 10**9])
def test_an_expired_token_is_refused_as_expired(
    api: APIClient, kind: Kind, seconds_ago: int
) -> None:
    now = int(time.time())
    expired = access_sign(kind.claims(iat=now - seconds_ago - 60, exp=now - seconds_ago))
    assert_refused_everywhere(api, kind, expired, 2011)


@pytest.mark.parametrize("changes", NOT_YET_VALID)
def test_a_token_not_yet_valid_is_refused(
    api: APIClient, kind: Kind, changes: dict[str, int]
) -> None:
    now = int(time.time())
    future = access_sign(kind.claims(**{name: now + delta for name, delta in changes.items()}))
    assert_refused_everywhere(api, kind, future, 2010)


@pytest.mark.parametrize(
    "crit",
    [
        pytest.param({"crit": ["x-must-understand"], "x-must-understand": True}, id="unknown"),
        pytest.param({"crit": ["exp"]}, id="registered-claim"),
        pytest.param({"crit": ["b64"], "b64": False}, id="unencoded-payload"),
        pytest.param({"crit": []}, id="empty"),
    ],
)
def test_a_crit_header_is_refused(api: APIClient, kind: Kind, crit: dict[str, Any]) -> None:
    header, claims, _ = segments(kind.token)
    forged = key_signed({**header, **crit}, claims, real_key("access"))
    assert_refused_everywhere(api, kind, forged, 2010)


@pytest.mark.parametrize(
    "typ", ["customer-context+jwt", "JWT", "jwt", "AT+JWT", "", 1, ["at+jwt"], None]
)
def test_a_wrong_typ_header_is_refused(api: APIClient, kind: Kind, typ: Any) -> None:
    # given the kind's claims signed for real under another typ (None: no typ)
    header = header_for("access", real_key("access"), typ=typ)
    if typ is None:
        header = without(header, "typ")
    forged = key_signed(header, kind.claims(), real_key("access"))

    # when / then
    assert_refused_everywhere(api, kind, forged, 2010)


@pytest.mark.parametrize(
    "token_type",
    [
        "anonymous",
        "customer_context",
        "access",
        "refresh",
        "Customer_Access",
        "CLIENT_ACCESS",
        "the-other-token-service-kind",
    ],
)
def test_a_token_claiming_another_kind_is_refused(
    api: APIClient, kind: Kind, token_type: str
) -> None:
    # given the kind's claims under another kind's name, signed for real
    if token_type == "the-other-token-service-kind":
        token_type = "client_access" if kind.name == "customer" else "customer_access"
    forged = access_sign(kind.claims(token_type=token_type))

    # when / then
    assert_refused_everywhere(api, kind, forged, 2010)


def test_a_customer_token_typed_as_a_context_and_signed_by_the_context_key_is_refused(
    api: APIClient, kind: Kind
) -> None:
    # given the kind's claims as a context would be signed: context key and context typ
    forged = access_sign(kind.claims(), purpose=SigningKeyPurpose.CONTEXT)

    # when / then
    assert_refused_everywhere(api, kind, forged, 2010)


def test_a_client_token_naming_a_customer_as_subject_is_refused(api: APIClient, kind: Kind) -> None:
    # given a client token whose sub is a customer's, not the client's
    forged = access_sign(
        kind.claims(token_type="client_access", sub=str(kind.customer.public_id)),
    )

    # when / then: a client token's subject is its client
    assert_refused_everywhere(api, kind, forged, 2010)


# --- Every claim set to every kind of nonsense ----------------------------------------------

ODD_CLAIMS = [
    "token_type",
    "exp",
    "iat",
    "nbf",
    "jti",
    "sub",
    "iss",
    "aud",
    "tenant",
    "client_id",
    "scope",
    "grant",
    "act",
    "urn:commerceapi:claims",
]
KNOWN_PROBLEMS = [*PROBLEMS.values()]


def assert_refused_or_ignored(response: Any, forged: str, *, allowed: tuple[int, ...]) -> None:
    """A known 401, a 403 of kind or scope, or a success; never a 5xx, never an echo."""
    assert response.status_code in (*allowed, 401, 403), response.content
    assert forged.encode() not in response.content
    assert ECHO_MARKER.encode() not in response.content
    if response.status_code == 401:
        assert 'Bearer realm="commerceapi"' in response["WWW-Authenticate"]
        assert response.json() in KNOWN_PROBLEMS
    if response.status_code == 403:
        assert response.json()["code"] in (SHOPPER_REQUIRED_CODE, INSUFFICIENT_SCOPE_CODE)


@pytest.mark.parametrize("value", ODD_CLAIM_VALUES)
@pytest.mark.parametrize("claim", ODD_CLAIMS)
def test_any_claim_set_to_nonsense_is_refused_or_ignored(
    api: APIClient, kind: Kind, claim: str, value: Any
) -> None:
    # given the kind's claims with one set to an odd value, signed with the real key
    forged = access_sign(kind.claims(**{claim: value}))
    before = tables_snapshot()

    # when it asks for a context, and reads the catalog
    minted = context_of(api, forged)
    catalog = products_of(api, forged)

    # then each is refused, or works like any other token of its kind
    assert_refused_or_ignored(minted, forged, allowed=(200,))
    assert_refused_or_ignored(catalog, forged, allowed=(200,))
    if minted.status_code == 200:
        headers = shopper_headers(forged, minted.json()["customerContext"])
        assert_refused_or_ignored(api.get(CART_URL, **headers), forged, allowed=(200,))
        assert_refused_or_ignored(api.get(PROFILE_URL, **headers), forged, allowed=(200,))
        changed = add_to_cart(api, headers)
        assert_refused_or_ignored(changed, forged, allowed=(200, 400))
    else:
        assert tables_snapshot() == before


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("x" * 64, id="64-characters"),
        pytest.param("\u202e", id="right-to-left-override"),
        pytest.param(ECHO_MARKER + "ä", id="marker-non-ascii"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a b", id="space"),
        pytest.param("\n", id="newline"),
    ],
)
@pytest.mark.parametrize("claim", ["jti", "client_id"])
def test_control_characters_and_long_values_in_key_claims_are_refused_or_ignored(
    api: APIClient, kind: Kind, claim: str, value: str
) -> None:
    # given the ids that name revocation keys, with awkward characters, signed for real
    changes = {claim: value}
    if kind.name == "client" and claim == "client_id":
        changes["sub"] = value
    forged = access_sign(kind.claims(**changes))

    # when it asks for a context and reads the catalog
    minted = context_of(api, forged)
    catalog = products_of(api, forged)

    # then never a 5xx
    assert_refused_or_ignored(minted, forged, allowed=(200,))
    assert_refused_or_ignored(catalog, forged, allowed=(200,))


# --- Injected scopes and privileges ---------------------------------------------------------


def test_unknown_and_privileged_scopes_grant_nothing(
    api: APIClient, kind: Kind, storefront: Storefront
) -> None:
    # given a token of the kind, signed for real, whose scope names only unknown privileges
    # (and known ones spelled otherwise) besides cart:read
    scope = "admin is_staff * cart:write:all CART:WRITE catalog:* customers:create:all cart:read"
    token = access_sign(kind.claims(scope=scope))
    anonymous = api.post("/commerceapi/authentication/", None, HTTP_X_AUTH_KEY=storefront.key)
    assert anonymous.status_code == 200
    before = tables_snapshot()

    # when it uses the catalog, registration, and (for a customer) the cart, profile, migrate
    catalog = products_of(api, token)
    register = api.post(
        REGISTER_URL,
        {"email": "mallory@example.com", "password": "a long passphrase 456"},
        format="json",
        **bearer_headers(token),
    )

    # then nothing beyond the known scopes it holds is allowed
    for answer in (catalog, register):
        assert answer.status_code == 403, answer.content
        assert answer.json()["code"] == INSUFFICIENT_SCOPE_CODE
    if kind.name == "customer":
        headers = shopper_headers(token, context_of(api, token).json()["customerContext"])
        read = api.get(CART_URL, **headers)
        assert read.status_code == 200, read.content
        refused = [
            add_to_cart(api, headers),
            api.get(PROFILE_URL, **headers),
            api.post(
                MIGRATE_URL,
                {
                    "anonymousId": anonymous.json()["anonymousId"],
                    "anonymousToken": anonymous.json()["accessToken"],
                },
                format="json",
                **headers,
            ),
        ]
        for answer in refused:
            assert answer.status_code == 403, answer.content
            assert answer.json()["code"] == INSUFFICIENT_SCOPE_CODE
    assert tables_snapshot() == before
    assert not Customer.objects.filter(email="mallory@example.com").exists()


def test_extra_claims_in_a_validly_signed_token_are_ignored(
    api: APIClient, kind: Kind, other_storefront: Storefront
) -> None:
    # given a token of the kind, signed for real, also claiming privileges and another identity
    extras = {
        "scp": ["admin"],
        "roles": ["admin"],
        "is_staff": True,
        "is_superuser": True,
        "tenant_id": other_storefront.tenant.pk,
        "customer_id": str(kind.other_customer.public_id),
        "isAnonymous": True,
        "idp": str(uuid.uuid4()),
        "app": str(other_storefront.app.public_id),
        "email": kind.other_customer.email,
    }
    token = access_sign(kind.claims(**extras))

    # when / then: it is exactly the token without them
    assert_accepted(api, kind, token)
    if kind.name == "customer":
        minted = context_of(api, token).json()
        assert minted == {
            "isAnonymous": False,
            "customerContext": minted["customerContext"],
            "customerId": str(kind.customer.public_id),
        }
        _, context_claims, _ = segments(minted["customerContext"])
        assert context_claims["tenant"] == kind.storefront.tenant.pk
        assert context_claims["sub"] == str(kind.customer.public_id)
        assert context_claims["isAnonymous"] is False
        assert "idp" not in context_claims
        profile = api.get(PROFILE_URL, **shopper_headers(token, minted["customerContext"]))
        assert profile.json()["id"] == str(kind.customer.public_id)


# --- Shapes that are not a compact JWS ------------------------------------------------------


def canonical_with_dash_or_underscore(kind: Kind) -> str:
    while True:
        token = access_sign(kind.claims())
        if set(token.rsplit(".", 1)[1]) & {"-", "_"}:
            return token


@pytest.mark.parametrize("shape", MALFORMED_SHAPES)
def test_anything_but_a_canonical_compact_jws_is_refused_fast(
    api: APIClient, kind: Kind, shape: str
) -> None:
    # given the kind's real token in another shape
    forged = malformed_shapes(kind.token, canonical_with_dash_or_underscore(kind))[shape]
    before = tables_snapshot()

    # when it is presented alone, to the catalog, with a context and on a change
    started = time.perf_counter()
    answers = [
        context_of(api, forged),
        api.get(CART_URL, **shopper_headers(forged, kind.context)),
        add_to_cart(api, shopper_headers(forged, kind.context)),
    ]
    catalog = products_of(api, forged)
    elapsed = time.perf_counter() - started

    # then each is a 401 (or a 400; a 431 past the header limit), never a 5xx, quickly, and
    # nothing changed
    for answer in answers:
        if shape in OVER_THE_HEADER_LIMIT:
            assert_problem(answer, HEADERS_TOO_LARGE)
            continue
        assert answer.status_code in (400, 401), answer.content
        if answer.status_code == 401:
            assert_unauthorized(answer, 2010)
    assert catalog.status_code in ((431,) if shape in OVER_THE_HEADER_LIMIT else (400, 401))
    assert tables_snapshot() == before
    assert elapsed < 1.0
