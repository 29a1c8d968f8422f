"""Attacks on the token service's own JWTs: SECURITY.md "own JWTs" for the customer token
(``customer_access``, password grant) and the client token (``client_access``,
client_credentials of a confidential client).

Every test runs for both kinds. A forged bearer is sent to GET
/commerceapi/authentication/customercontext (bearer alone), GET /commerceapi/products (bearer
alone, a place where a client token is accepted), GET /commerceapi/cart and POST
/commerceapi/cart/lines (bearer with a customer context), and must be refused there without
changing anything. Each kind's real token, issued by /oauth/token, and its claims signed here
with the keyring's real key, are first shown to be accepted.

Here: The two kinds, honest; The controls; alg none, empty, blank-secret, flipped and edited
signatures; Algorithms and key confusion; kid; Headers that would choose the key. The other
parts of the suite: test_oauth_token_claim_attacks.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import jwt
import pytest
from rest_framework.test import APIClient

from identity.credentials.keyring import keyring_get, signing_key_rotate
from identity.models import SigningKey, SigningKeyPurpose
from tests.conftest import shopper_headers
from tests.identity.jwks_server import provider_key_generate, x5c_certificate
from tests.identity.oauth_token_attacks_common import (
    BASE64URL_ALPHABET,
    Kind,
    access_sign,
    assert_accepted,
    assert_refused_everywhere,
    context_of,
)
from tests.identity.tokens_helpers import (
    CART_URL,
    MALFORMED_KIDS,
    MARKER,
    assemble,
    assert_nothing_fetched,
    assert_unauthorized,
    b64url,
    header_for,
    hmac_signed,
    loopback_server,
    public_key_forms,
    real_key,
    recorded_side_effects,
    segments,
    without,
)

pytestmark = pytest.mark.django_db


# --- The two kinds, honest ------------------------------------------------------------------


# --- The controls ---------------------------------------------------------------------------


def test_the_real_token_of_each_kind_is_accepted(api: APIClient, kind: Kind) -> None:
    header, claims, _ = segments(kind.token)
    assert header["typ"] == "at+jwt"
    assert claims["token_type"] == f"{kind.name}_access"
    assert_accepted(api, kind, kind.token)


def test_claims_signed_here_with_the_real_key_are_accepted(api: APIClient, kind: Kind) -> None:
    # the forgeries below differ from these tokens only by what they forge
    assert_accepted(api, kind, access_sign(kind.claims()))


def test_claims_signed_with_pyjwt_and_the_keyrings_active_key_are_accepted(
    api: APIClient, kind: Kind
) -> None:
    key = keyring_get().active(SigningKeyPurpose.ACCESS)
    token = jwt.encode(
        kind.claims(), key.signing_key, algorithm=key.algorithm, headers={"kid": key.kid}
    )
    # PyJWT writes "typ": "JWT" unless told: refused, for it is not our access token type
    assert_unauthorized(context_of(api, token), 2010)
    token = jwt.encode(
        kind.claims(),
        key.signing_key,
        algorithm=key.algorithm,
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
    assert_accepted(api, kind, token)


# --- alg none, empty, blank-secret, flipped and edited signatures ---------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["empty", "original"])
def test_alg_none_in_any_casing_is_refused(
    api: APIClient, kind: Kind, alg: str, signature: str
) -> None:
    header, claims, original = segments(kind.token)
    forged = assemble({**header, "alg": alg}, claims, original if signature == "original" else "")
    assert_refused_everywhere(api, kind, forged, 2010)


def test_an_empty_signature_is_refused(api: APIClient, kind: Kind) -> None:
    header, claims, _ = segments(kind.token)
    assert_refused_everywhere(api, kind, assemble(header, claims, ""), 2010)


def test_an_hmac_with_a_blank_secret_is_refused(api: APIClient, kind: Kind) -> None:
    header, claims, _ = segments(kind.token)
    assert_refused_everywhere(api, kind, hmac_signed(header, claims, b""), 2010)


def flip(signature: str, index: int, bits: int) -> str:
    position = index % len(signature)
    flipped = BASE64URL_ALPHABET[BASE64URL_ALPHABET.index(signature[position]) ^ bits]
    return signature[:position] + flipped + signature[position + 1 :]


@pytest.mark.parametrize(
    ("index", "bits"),
    [
        pytest.param(0, 1, id="first-character"),
        pytest.param(21, 32, id="middle-character"),
        pytest.param(-1, 4, id="last-character-data-bit"),
        pytest.param(-1, 1, id="last-character-unused-bit-0"),
        pytest.param(-1, 2, id="last-character-unused-bit-1"),
    ],
)
def test_a_flipped_signature_is_refused(api: APIClient, kind: Kind, index: int, bits: int) -> None:
    header, claims, signature = segments(kind.token)
    forged = assemble(header, claims, flip(signature, index, bits))
    assert forged != kind.token
    assert_refused_everywhere(api, kind, forged, 2010)


def _edit_subject(kind: Kind, claims: dict[str, Any]) -> dict[str, Any]:
    if kind.name == "customer":
        return {**claims, "sub": str(kind.other_customer.public_id)}
    return {**claims, "sub": "ci_" + "0" * 20, "client_id": "ci_" + "0" * 20}


EDITS = {
    "sub-another-customer-or-client": _edit_subject,
    "tenant": lambda kind, claims: {**claims, "tenant": claims["tenant"] + 1},
    "exp": lambda kind, claims: {**claims, "exp": claims["exp"] + 86400},
    "scope-widened": lambda kind, claims: {
        **claims,
        "scope": claims["scope"] + " customers:create",
    },
    "client_id": lambda kind, claims: {**claims, "client_id": "ci_" + "1" * 20},
    "act-added": lambda kind, claims: {**claims, "act": {"sub": "ci_" + "2" * 20}},
    "grant-added": lambda kind, claims: {**claims, "grant": str(uuid.uuid4())},
    "is_staff-added": lambda kind, claims: {**claims, "is_staff": True},
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edited_payload_is_refused(api: APIClient, kind: Kind, edit: str) -> None:
    # given the real token with an edited payload and the original signature
    header, claims, signature = segments(kind.token)
    forged = assemble(header, EDITS[edit](kind, claims), signature)

    # when / then
    assert_refused_everywhere(api, kind, forged, 2010)


# --- Algorithms and key confusion -----------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "digest"),
    [("HS384", "sha384"), ("HS512", "sha512"), ("hs256", "sha256"), ("RS256", "sha256")],
)
def test_an_algorithm_other_than_the_keys_own_is_refused(
    api: APIClient, kind: Kind, alg: str, digest: str
) -> None:
    header, claims, _ = segments(kind.token)
    forged = hmac_signed({**header, "alg": alg}, claims, real_key("access").secret, digest)
    assert_refused_everywhere(api, kind, forged, 2010)


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "EdDSA"])
def test_an_hmac_keyed_with_the_published_public_key_is_refused(
    api: APIClient, kind: Kind, algorithm: str
) -> None:
    # given the access key of this algorithm (ES256: the default one), whose public half
    # /.well-known/jwks.json publishes, and the kind's claims it signs, accepted
    if algorithm != "ES256":
        signing_key_rotate(purpose=SigningKeyPurpose.ACCESS, algorithm=algorithm)
    key = real_key("access")
    assert key.algorithm == algorithm
    assert key.kid in {jwk["kid"] for jwk in api.get("/.well-known/jwks.json").json()["keys"]}
    honest = access_sign(kind.claims())
    assert_accepted(api, kind, honest)
    header, claims, _ = segments(honest)

    for public_key in public_key_forms(key):
        for alg, digest in (("HS256", "sha256"), ("HS512", "sha512"), (algorithm, "sha256")):
            # when the claims are HMAC-signed with the public key, as HMAC or claiming the
            # key's own algorithm
            forged = hmac_signed({**header, "alg": alg}, claims, public_key, digest)

            # then the key's own algorithm decides, and the forgery is refused
            assert_refused_everywhere(api, kind, forged, 2010)


def test_an_rs256_token_of_an_attackers_key_is_refused(api: APIClient, kind: Kind) -> None:
    header, claims, _ = segments(kind.token)
    attacker = provider_key_generate("RS256")
    forged = jwt.encode(
        claims, attacker.private_key, algorithm="RS256", headers=without(header, "alg")
    )
    assert_refused_everywhere(api, kind, forged, 2010)


def test_an_hmac_keyed_with_a_public_key_pem_is_refused(api: APIClient, kind: Kind) -> None:
    header, claims, _ = segments(kind.token)
    forged = hmac_signed(header, claims, provider_key_generate("RS256").public_pem().encode())
    assert_refused_everywhere(api, kind, forged, 2010)


def test_a_token_signed_with_the_context_key_is_refused(api: APIClient, kind: Kind) -> None:
    # given the kind's claims signed with the real context key, under that key's kid
    forged = access_sign(kind.claims(), key=real_key("context"))

    # when / then
    assert_refused_everywhere(api, kind, forged, 2010)


# --- kid --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kid", "secret"), MALFORMED_KIDS)
def test_a_malformed_kid_is_refused_without_a_query_a_file_or_a_process(
    api: APIClient,
    kind: Kind,
    tmp_path: Path,
    django_assert_num_queries: Any,
    kid: str,
    secret: bytes,
) -> None:
    # given a working session (the keyring is loaded) and a token naming a hostile kid
    marker = tmp_path / "pwned"
    kid = kid.replace(MARKER, str(marker))
    assert_accepted(api, kind, access_sign(kind.claims()))
    forged = hmac_signed(header_for("access", real_key("access"), kid=kid), kind.claims(), secret)
    keys_before = list(SigningKey.objects.order_by("pk").values())

    # when it is presented, alone and with a context
    with django_assert_num_queries(0), recorded_side_effects() as side_effects:
        alone = context_of(api, forged)
        with_context = api.get(CART_URL, **shopper_headers(forged, kind.context))

    # then it is refused without touching the database, a file, a process or the network
    assert_unauthorized(alone, 2010)
    assert_unauthorized(with_context, 2010)
    assert side_effects == []
    assert not marker.exists()
    assert list(SigningKey.objects.order_by("pk").values()) == keys_before


# --- Headers that would choose the key ------------------------------------------------------


def _fail_outbound(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("an outbound request was made because of a token")


@pytest.mark.parametrize(
    "attack", ["jku-oct", "jku-rsa", "x5u", "jwk-oct", "jwk-rsa", "x5c", "real-key-jku"]
)
def test_a_header_choosing_the_key_is_refused_without_an_outbound_request(
    api: APIClient, kind: Kind, attack: str
) -> None:
    # given the attacker's keys, published on a loopback server the token points at
    oct_secret = secrets.token_bytes(32)
    attacker = provider_key_generate("RS256", kid="attacker-rsa")
    header, claims, _ = segments(kind.token)
    published = {
        "keys": [
            {"kty": "oct", "kid": "attacker", "k": b64url(oct_secret), "alg": "HS256"},
            attacker.public_jwk(),
            replace(attacker, kid=header["kid"]).public_jwk(),
        ]
    }
    with loopback_server(json.dumps(published).encode()) as server:
        rsa_header = {**without(header, "alg"), "kid": "attacker-rsa"}

        def rs256(**extra: Any) -> str:
            return jwt.encode(
                claims, attacker.private_key, algorithm="RS256", headers={**rsa_header, **extra}
            )

        forged = {
            "jku-oct": lambda: hmac_signed(
                {**header, "kid": "attacker", "jku": f"{server.url}/jwks.json"},
                claims,
                oct_secret,
            ),
            "jku-rsa": lambda: rs256(jku=f"{server.url}/jwks.json"),
            "x5u": lambda: rs256(x5u=f"{server.url}/cert.pem"),
            "jwk-oct": lambda: hmac_signed(
                {**header, "jwk": {"kty": "oct", "k": b64url(oct_secret)}}, claims, oct_secret
            ),
            "jwk-rsa": lambda: rs256(jwk=attacker.public_jwk()),
            "x5c": lambda: rs256(x5c=[x5c_certificate(attacker)]),
            # Even our own signature does not make such a header acceptable.
            "real-key-jku": lambda: hmac_signed(
                {**header, "jku": f"{server.url}/jwks.json"}, claims, real_key("access").secret
            ),
        }[attack]()

        # when it is presented, with every way out of the process failing the test
        with (
            recorded_side_effects() as side_effects,
            mock.patch("urllib.request.urlopen", side_effect=_fail_outbound) as urlopen,
            mock.patch("socket.create_connection", side_effect=_fail_outbound) as connect,
        ):
            assert_refused_everywhere(api, kind, forged, 2010)

        # then nothing was fetched
        assert urlopen.call_count == 0
        assert connect.call_count == 0
        assert_nothing_fetched(server, side_effects)


def test_the_outbound_request_guard_would_notice_a_request() -> None:
    # the guard above is not a tautology: a fetch inside it is seen
    with (
        mock.patch("urllib.request.urlopen", side_effect=_fail_outbound) as urlopen,
        pytest.raises(AssertionError, match="outbound"),
    ):
        urllib.request.urlopen("http://127.0.0.1:9/jwks.json")
    assert urlopen.call_count == 1
