"""SECURITY.md "own JWTs" for the reseller token (``reseller_access``, typ ``reseller+jwt``,
HS256 with the keyring's reseller key): alg none, empty, blank-secret, flipped and edited
signatures; other algorithms and key confusion; hostile kids; headers that would choose the
key; missing, expired and not-yet-valid claims; odd and injected claims; malformed shapes; and
the tokens of every other kind presented on the Reseller surface.

A forged token is sent to GET /reseller/orders and POST /reseller/orders (with a body that
would place an order) and must be refused there, 401 with ``WWW-Authenticate``, changing
nothing. The real token, and its claims signed here with the real key, are first shown to be
accepted.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import jwt
import pytest
from rest_framework.test import APIClient

from identity.credentials.keyring import keyring_get
from identity.models import OAuthClientKind, SigningKey, SigningKeyPurpose
from tests.conftest import (
    OVER_THE_HEADER_LIMIT,
    Storefront,
    anonymous_shopper,
    assert_problem,
    tables_snapshot,
)
from tests.identity.jwks_server import provider_key_generate
from tests.identity.oauth_helpers import make_client, password_tokens, token_request
from tests.identity.reseller_helpers import (
    RESELLER_ORDERS_URL,
    RESELLER_TYP,
    Partner,
    generate_token,
    partner_headers,
    reseller_claims,
    reseller_order_body,
    reseller_sign,
)
from tests.identity.tokens_helpers import (
    ECHO_MARKER,
    MALFORMED_KIDS,
    MALFORMED_SHAPES,
    MARKER,
    NOT_YET_VALID,
    ODD_CLAIM_VALUES,
    PROBLEMS,
    assemble,
    assert_nothing_fetched,
    b64url,
    flip,
    header_for,
    hmac_signed,
    loopback_server,
    malformed_shapes,
    public_key_forms,
    real_key,
    recorded_side_effects,
    segments,
    sign,
    without,
)

pytestmark = pytest.mark.django_db

RESELLER = SigningKeyPurpose.RESELLER
WWW_AUTHENTICATE = 'Bearer realm="commerceapi"'
RESELLER_TOKEN_REQUIRED = {
    "type": "urn:commerceapi:problem:reseller_token_required",
    "title": "Reseller token required",
    "status": 401,
    "detail": "The Reseller surface (/reseller/) takes only a partner's reseller token from "
    "Generate Token (POST /reseller/token), as Authorization: Bearer; shopper and client "
    "tokens, X-Auth-Keys and API keys are refused.",
    "code": 2130,
}
REFUSALS = {**PROBLEMS, 2130: RESELLER_TOKEN_REQUIRED}


@pytest.fixture
def token(api: APIClient, partner: Partner, products: dict[str, Any]) -> str:
    """The partner's real token, and a catalog its orders could buy from."""
    return generate_token(api, partner)


def _place(api: APIClient, raw: str) -> Any:
    return api.post(
        RESELLER_ORDERS_URL,
        reseller_order_body(),
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )


def assert_accepted(api: APIClient, raw: str) -> None:
    answer = api.get(RESELLER_ORDERS_URL, **partner_headers(raw))
    assert answer.status_code == 200, answer.content


def assert_refused(api: APIClient, raw: str, code: int) -> None:
    """Listing and placing with ``raw`` are both a 401 ``code``; nothing changes."""
    before = tables_snapshot()
    for answer in (api.get(RESELLER_ORDERS_URL, **partner_headers(raw)), _place(api, raw)):
        assert_problem(answer, REFUSALS[code])
        assert answer["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert tables_snapshot() == before


# --- The controls ---------------------------------------------------------------------------


def test_the_real_token_is_accepted_and_places_an_order(api: APIClient, token: str) -> None:
    header, _, _ = segments(token)
    assert header["typ"] == RESELLER_TYP
    assert header["alg"] == "HS256"
    assert_accepted(api, token)
    assert _place(api, token).status_code == 201


def test_claims_signed_here_with_the_real_key_are_accepted(
    api: APIClient, token: str, partner: Partner
) -> None:
    assert_accepted(api, reseller_sign(reseller_claims(partner)))


def test_the_real_key_with_pyjwts_default_typ_is_refused(
    api: APIClient, token: str, partner: Partner
) -> None:
    key = keyring_get().active(RESELLER)
    forged = jwt.encode(
        reseller_claims(partner), key.signing_key, algorithm="HS256", headers={"kid": key.kid}
    )
    assert_refused(api, forged, 2010)


# --- alg none, empty, blank-secret, flipped and edited signatures ---------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["empty", "original"])
def test_alg_none_in_any_casing_is_refused(
    api: APIClient, token: str, alg: str, signature: str
) -> None:
    header, claims, original = segments(token)
    forged = assemble({**header, "alg": alg}, claims, original if signature == "original" else "")
    assert_refused(api, forged, 2010)


def test_an_empty_signature_is_refused(api: APIClient, token: str) -> None:
    header, claims, _ = segments(token)
    assert_refused(api, assemble(header, claims, ""), 2010)


def test_an_hmac_with_a_blank_secret_is_refused(api: APIClient, token: str) -> None:
    header, claims, _ = segments(token)
    assert_refused(api, hmac_signed(header, claims, b""), 2010)


@pytest.mark.parametrize(("index", "bits"), [(0, 1), (21, 32), (-1, 4), (-1, 1), (-1, 2)])
def test_a_flipped_signature_is_refused(api: APIClient, token: str, index: int, bits: int) -> None:
    header, claims, signature = segments(token)
    forged = assemble(header, claims, flip(signature, index, bits))
    assert forged != token
    assert_refused(api, forged, 2010)


EDITS = {
    "sub-and-client-another-partner": lambda other, claims: {
        **claims,
        "sub": other.client_id,
        "client_id": other.client_id,
    },
    "tenant": lambda other, claims: {**claims, "tenant": claims["tenant"] + 1},
    "exp": lambda other, claims: {**claims, "exp": claims["exp"] + 86400},
    "scope-widened": lambda other, claims: {**claims, "scope": claims["scope"] + " cart:write"},
    "token_type-client": lambda other, claims: {**claims, "token_type": "client_access"},
    "is_staff-added": lambda other, claims: {**claims, "is_staff": True},
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_payload_is_refused(
    api: APIClient, token: str, second_partner: Partner, edit: str
) -> None:
    header, claims, signature = segments(token)
    assert_refused(api, assemble(header, EDITS[edit](second_partner, claims), signature), 2010)


# --- Algorithms and key confusion -----------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "digest"),
    [("HS384", "sha384"), ("HS512", "sha512"), ("hs256", "sha256"), ("RS256", "sha256")],
)
def test_an_algorithm_other_than_the_keys_own_is_refused(
    api: APIClient, token: str, alg: str, digest: str
) -> None:
    header, claims, _ = segments(token)
    forged = hmac_signed({**header, "alg": alg}, claims, real_key(RESELLER).secret, digest)
    assert_refused(api, forged, 2010)


def test_an_hmac_keyed_with_the_published_access_key_is_refused(
    api: APIClient, token: str, partner: Partner
) -> None:
    access = real_key(SigningKeyPurpose.ACCESS)
    claims = reseller_claims(partner)
    for public_key in public_key_forms(access):
        for kid in (access.kid, real_key(RESELLER).kid):
            header = {"alg": "HS256", "kid": kid, "typ": RESELLER_TYP}
            assert_refused(api, hmac_signed(header, claims, public_key), 2010)


@pytest.mark.parametrize(
    "purpose", [SigningKeyPurpose.ANONYMOUS, SigningKeyPurpose.CONTEXT, SigningKeyPurpose.ACCESS]
)
def test_the_claims_signed_with_another_purposes_key_are_refused(
    api: APIClient, token: str, partner: Partner, purpose: str
) -> None:
    key = real_key(purpose)
    forged = sign(reseller_claims(partner), purpose=purpose, key=key, typ=RESELLER_TYP)
    assert_refused(api, forged, 2010)


def test_an_rs256_token_of_an_attackers_key_is_refused(api: APIClient, token: str) -> None:
    header, claims, _ = segments(token)
    attacker = provider_key_generate("RS256")
    forged = jwt.encode(
        claims, attacker.private_key, algorithm="RS256", headers=without(header, "alg")
    )
    assert_refused(api, forged, 2010)


# --- kid ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kid", "secret"), MALFORMED_KIDS)
def test_a_malformed_kid_is_refused_without_a_query_a_file_or_a_process(
    api: APIClient,
    token: str,
    partner: Partner,
    tmp_path: Path,
    django_assert_num_queries: Any,
    kid: str,
    secret: bytes,
) -> None:
    marker = tmp_path / "pwned"
    kid = kid.replace(MARKER, str(marker))
    assert_accepted(api, token)  # the keyring is loaded
    header = header_for(RESELLER, real_key(RESELLER), kid=kid, typ=RESELLER_TYP)
    forged = hmac_signed(header, reseller_claims(partner), secret)
    keys_before = list(SigningKey.objects.order_by("pk").values())

    with django_assert_num_queries(0), recorded_side_effects() as side_effects:
        answer = api.get(RESELLER_ORDERS_URL, **partner_headers(forged))

    assert_problem(answer, PROBLEMS[2010])
    assert side_effects == []
    assert not marker.exists()
    assert list(SigningKey.objects.order_by("pk").values()) == keys_before


# --- Headers that would choose the key ------------------------------------------------------


def _fail_outbound(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("an outbound request was made because of a token")


@pytest.mark.parametrize("attack", ["jku", "x5u", "jwk", "real-key-jku"])
def test_a_header_choosing_the_key_is_refused_without_an_outbound_request(
    api: APIClient, token: str, attack: str
) -> None:
    oct_secret = secrets.token_bytes(32)
    header, claims, _ = segments(token)
    published = {"keys": [{"kty": "oct", "kid": "attacker", "k": b64url(oct_secret)}]}
    with loopback_server(json.dumps(published).encode()) as server:
        forged = {
            "jku": lambda: hmac_signed(
                {**header, "kid": "attacker", "jku": f"{server.url}/jwks.json"}, claims, oct_secret
            ),
            "x5u": lambda: hmac_signed(
                {**header, "kid": "attacker", "x5u": f"{server.url}/cert.pem"}, claims, oct_secret
            ),
            "jwk": lambda: hmac_signed(
                {**header, "jwk": {"kty": "oct", "k": b64url(oct_secret)}}, claims, oct_secret
            ),
            "real-key-jku": lambda: hmac_signed(
                {**header, "jku": f"{server.url}/jwks.json"}, claims, real_key(RESELLER).secret
            ),
        }[attack]()
        with (
            recorded_side_effects() as side_effects,
            mock.patch("urllib.request.urlopen", side_effect=_fail_outbound) as urlopen,
        ):
            assert_refused(api, forged, 2010)
        assert urlopen.call_count == 0
        assert_nothing_fetched(server, side_effects)


# --- Claims: missing, expired, not yet valid, odd, injected ---------------------------------


@pytest.mark.parametrize(
    "claim",
    ["exp", "jti", "iat", "iss", "aud", "sub", "tenant", "client_id", "scope", "token_type"],
)
def test_a_missing_claim_is_refused(
    api: APIClient, token: str, partner: Partner, claim: str
) -> None:
    # without our issuer it is not one of our tokens at all: no reseller token
    code = 2130 if claim == "iss" else 2010
    assert_refused(api, reseller_sign(without(reseller_claims(partner), claim)), code)


def test_an_expired_token_is_refused_as_expired(
    api: APIClient, token: str, partner: Partner
) -> None:
    now = int(time.time())
    forged = reseller_sign(reseller_claims(partner, iat=now - 1000, exp=now - 100))
    assert_refused(api, forged, 2011)


@pytest.mark.parametrize("change", NOT_YET_VALID)
def test_a_token_not_yet_valid_is_refused(
    api: APIClient, token: str, partner: Partner, change: dict[str, int]
) -> None:
    now = int(time.time())
    moments = {name: now + seconds for name, seconds in change.items()}
    forged = reseller_sign(reseller_claims(partner, **moments))
    assert_refused(api, forged, 2010)


def test_an_unknown_crit_header_is_refused(api: APIClient, token: str, partner: Partner) -> None:
    forged = reseller_sign({**reseller_claims(partner), "x-critical": 1}, crit=["x-critical"])
    assert_refused(api, forged, 2010)


def test_another_issuer_or_audience_is_refused(
    api: APIClient, token: str, partner: Partner
) -> None:
    assert_refused(api, reseller_sign(reseller_claims(partner, iss="https://evil.example")), 2130)
    assert_refused(api, reseller_sign(reseller_claims(partner, aud="commerceapi:other")), 2010)


@pytest.mark.parametrize("value", ODD_CLAIM_VALUES)
@pytest.mark.parametrize("claim", ["sub", "client_id", "tenant", "scope", "jti", "exp", "iat"])
def test_odd_claim_values_are_refused_or_ignored(
    api: APIClient, token: str, partner: Partner, claim: str, value: Any
) -> None:
    forged = reseller_sign({**reseller_claims(partner), claim: value})

    before = tables_snapshot()
    answer = api.get(RESELLER_ORDERS_URL, **partner_headers(forged))

    # a scope that names no reseller scope holds none: 403
    assert answer.status_code in (200, 401, 403), answer.content
    assert ECHO_MARKER.encode() not in answer.content
    assert tables_snapshot() == before


def test_injected_scopes_mean_nothing(api: APIClient, token: str, partner: Partner) -> None:
    # a token signed by us carrying scopes no partner holds gains nothing from them
    scope = "reseller:orders:read cart:write is_staff"
    forged = reseller_sign(reseller_claims(partner, scope=scope))

    assert_accepted(api, forged)
    answer = _place(api, forged)
    assert answer.status_code == 403
    assert answer.json()["code"] == 2041


# --- Shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", MALFORMED_SHAPES)
def test_malformed_shapes_are_refused(
    api: APIClient, token: str, partner: Partner, shape: str
) -> None:
    dashed = next(
        candidate
        for candidate in (reseller_sign(reseller_claims(partner)) for _ in range(200))
        if set(candidate.rsplit(".", 1)[1]) & {"-", "_"}
    )
    raw = malformed_shapes(token, dashed)[shape]

    before = tables_snapshot()
    answer = api.get(RESELLER_ORDERS_URL, **partner_headers(raw))

    if shape in OVER_THE_HEADER_LIMIT:
        # the test client has no header limit; the server's is tested with real servers
        assert answer.status_code in (401, 431), answer.content
    else:
        assert_problem(answer, PROBLEMS[2010])
    assert tables_snapshot() == before


# --- Another kind's token -------------------------------------------------------------------


def test_another_kinds_token_is_refused(
    api: APIClient, token: str, storefront: Storefront, customer: Any
) -> None:
    # the storefront's credentials, each valid where it belongs, are all refused here
    anonymous = anonymous_shopper(api, storefront.key)
    sales_channel = make_client(storefront, name="Web shop")
    integration = make_client(storefront, OAuthClientKind.INTEGRATION, name="ERP")
    customer_token = password_tokens(api, sales_channel)["access_token"]
    guest_token = token_request(
        api, grant_type="client_credentials", client_id=sales_channel.client_id
    ).json()["access_token"]
    client_token = token_request(api, integration.basic(), grant_type="client_credentials").json()[
        "access_token"
    ]

    for raw in (anonymous.token, customer_token, guest_token, client_token):
        assert_refused(api, raw, 2130)
    # a context is no bearer anywhere; a refresh token is no JWT
    assert_refused(api, anonymous.context, 2010)
    refresh = password_tokens(api, sales_channel)["refresh_token"]
    assert_refused(api, refresh, 2010)


def test_another_kinds_claims_under_the_reseller_typ_are_refused(
    api: APIClient, token: str, storefront: Storefront, partner: Partner
) -> None:
    # an anonymous token's claims, typed and signed as a reseller token
    anonymous_id = str(uuid.uuid4())
    claims = {
        **reseller_claims(partner),
        "token_type": "anonymous",
        "jti": anonymous_id,
        "sub": anonymous_id,
        "app": str(storefront.app.public_id),
    }
    assert_refused(api, reseller_sign(claims), 2010)


def test_a_providers_token_is_refused(api: APIClient, token: str) -> None:
    attacker = provider_key_generate("RS256")
    now = int(time.time())
    foreign = jwt.encode(
        {
            "iss": "https://idp.example/",
            "sub": "alice",
            "aud": "shop",
            "exp": now + 600,
            "iat": now,
        },
        attacker.private_key,
        algorithm="RS256",
    )
    assert_refused(api, foreign, 2130)
