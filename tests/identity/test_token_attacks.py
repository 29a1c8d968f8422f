"""Attacks on our own JWTs: SECURITY.md "own JWTs" and the rules for every token decoder.

Each forged bearer is sent to GET /commerceapi/authentication/customercontext (bearer alone), to
GET /commerceapi/cart (bearer and context) and to POST /commerceapi/cart/lines, which must
refuse it without changing anything. The shopper's real token, issued by the API, is shown to
work before it is tampered with.

Here: The control: tokens signed here as the API signs them are accepted; alg none, empty,
blank-secret, flipped and edited signatures; Algorithms and key confusion; kid; Headers that
would choose the key. The other parts of the suite: test_token_claim_attacks.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from rest_framework.test import APIClient

from identity.models import SigningKey, SigningKeyPurpose
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    shopper_headers,
)
from tests.identity.jwks_server import provider_key_generate, x5c_certificate
from tests.identity.token_attacks_common import (
    BASE64URL_ALPHABET,
    assert_refused_everywhere,
    context_of,
)
from tests.identity.tokens_helpers import (
    CART_URL,
    MALFORMED_KIDS,
    MARKER,
    add_to_cart,
    anonymous_claims,
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
    sign,
    without,
)

pytestmark = pytest.mark.django_db


# --- The control: tokens signed here as the API signs them are accepted ---------------------


def test_a_token_signed_here_with_the_real_key_is_accepted(
    api: APIClient, storefront: Storefront
) -> None:
    # given claims signed with the keyring's real access key
    token = sign(anonymous_claims(storefront))

    # when it asks for a context, and the cart with that context
    minted = context_of(api, token)
    cart = api.get(CART_URL, **shopper_headers(token, minted.json()["customerContext"]))

    # then both work: the forgeries below differ from it only by what they forge
    assert minted.status_code == 200, minted.content
    assert cart.status_code == 200, cart.content


# --- alg none, empty, blank-secret, flipped and edited signatures ---------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["empty", "original"])
def test_alg_none_in_any_casing_is_refused(
    api: APIClient, carted: Shopper, alg: str, signature: str
) -> None:
    # given the shopper's real token, its header switched to alg none
    header, claims, original = segments(carted.token)
    forged = assemble({**header, "alg": alg}, claims, original if signature == "original" else "")

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


def test_an_empty_signature_is_refused(api: APIClient, carted: Shopper) -> None:
    # given the shopper's real token without its signature
    header, claims, _ = segments(carted.token)
    forged = assemble(header, claims, "")

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


def test_an_hmac_with_a_blank_secret_is_refused(api: APIClient, carted: Shopper) -> None:
    # given the shopper's claims signed with an empty HMAC secret
    header, claims, _ = segments(carted.token)
    forged = hmac_signed(header, claims, b"")

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


def flip(signature: str, index: int, bits: int) -> str:
    """``signature`` with the base64url character at ``index`` xor-ed with ``bits``."""
    position = index % len(signature)
    flipped = BASE64URL_ALPHABET[BASE64URL_ALPHABET.index(signature[position]) ^ bits]
    return signature[:position] + flipped + signature[position + 1 :]


@pytest.mark.parametrize(
    ("index", "bits"),
    [
        pytest.param(0, 1, id="first-character"),
        pytest.param(21, 32, id="middle-character"),
        pytest.param(-1, 4, id="last-character-data-bit"),
        # A 32-byte HMAC takes 43 characters: the last one carries two unused bits. A decoder
        # that ignores them accepts four spellings of every signature.
        pytest.param(-1, 1, id="last-character-unused-bit-0"),
        pytest.param(-1, 2, id="last-character-unused-bit-1"),
        pytest.param(-1, 3, id="last-character-both-unused-bits"),
    ],
)
def test_a_flipped_signature_is_refused(
    api: APIClient, carted: Shopper, index: int, bits: int
) -> None:
    # given the shopper's real token with one signature character changed
    header, claims, signature = segments(carted.token)
    forged = assemble(header, claims, flip(signature, index, bits))
    assert forged != carted.token

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda claims, other: {**claims, "jti": other, "sub": other}, id="anonymous-id"
        ),
        pytest.param(lambda claims, other: {**claims, "tenant": claims["tenant"] + 1}, id="tenant"),
        pytest.param(lambda claims, other: {**claims, "exp": claims["exp"] + 86400}, id="exp"),
        pytest.param(lambda claims, other: {**claims, "app": other}, id="app"),
        pytest.param(lambda claims, other: {**claims, "is_staff": True}, id="added-claim"),
    ],
)
def test_an_edited_payload_is_refused(api: APIClient, carted: Shopper, edit: Any) -> None:
    # given the shopper's real token with an edited payload and the original signature
    header, claims, signature = segments(carted.token)
    forged = assemble(header, edit(claims, str(uuid.uuid4())), signature)

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


# --- Algorithms and key confusion -----------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "digest"),
    [("HS384", "sha384"), ("HS512", "sha512"), ("hs256", "sha256"), ("RS256", "sha256")],
)
def test_an_algorithm_other_than_the_keys_own_is_refused(
    api: APIClient, carted: Shopper, alg: str, digest: str
) -> None:
    # given the shopper's claims signed with the real secret, under another algorithm
    header, claims, _ = segments(carted.token)
    forged = hmac_signed({**header, "alg": alg}, claims, real_key("anonymous").secret, digest)

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


def test_an_rs256_token_of_an_attackers_key_is_refused(api: APIClient, carted: Shopper) -> None:
    # given the shopper's claims signed RS256 with a key of the attacker's, naming our kid
    header, claims, _ = segments(carted.token)
    attacker = provider_key_generate("RS256")
    forged = jwt.encode(
        claims, attacker.private_key, algorithm="RS256", headers=without(header, "alg")
    )

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


def test_an_hmac_keyed_with_a_public_key_pem_is_refused(api: APIClient, carted: Shopper) -> None:
    # given the shopper's claims HMAC-signed with the text of a public key
    header, claims, _ = segments(carted.token)
    forged = hmac_signed(header, claims, provider_key_generate("RS256").public_pem().encode())

    # when / then
    assert_refused_everywhere(api, forged, carted.context, 2010)


def test_an_hmac_keyed_with_the_published_access_key_is_refused(
    api: APIClient, storefront: Storefront, products: dict[str, Any]
) -> None:
    # given a shopper's HS256 token, and the access key whose public half the JWKS publishes
    shopper = anonymous_shopper(api, storefront.key)
    assert add_to_cart(api, shopper.headers()).status_code == 200
    header, claims, _ = segments(shopper.token)
    assert header["alg"] == "HS256"
    assert header["kid"] == real_key(SigningKeyPurpose.ANONYMOUS).kid
    published = real_key(SigningKeyPurpose.ACCESS)
    assert published.algorithm == "ES256"

    for public_key in public_key_forms(published):
        for kid in (header["kid"], published.kid):
            for alg in ("HS256", published.algorithm):
                # when the claims are HMAC-signed with the public key, under either kid
                forged = hmac_signed({**header, "kid": kid, "alg": alg}, claims, public_key)

                # then the named key and its own algorithm decide, and the forgery is refused
                assert_refused_everywhere(api, forged, shopper.context, 2010)


def test_an_anonymous_token_signed_with_the_access_key_is_refused(
    api: APIClient, storefront: Storefront, carted: Shopper
) -> None:
    # given an anonymous token's claims properly signed with the (asymmetric) access key
    forged = sign(anonymous_claims(storefront), purpose=SigningKeyPurpose.ACCESS)

    # when / then: a key of another purpose signs no anonymous token
    assert_refused_everywhere(api, forged, carted.context, 2010)


# --- kid ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kid", "secret"), MALFORMED_KIDS)
def test_a_malformed_kid_is_refused_without_a_query_a_file_or_a_process(
    api: APIClient,
    storefront: Storefront,
    tmp_path: Path,
    django_assert_num_queries: Any,
    kid: str,
    secret: bytes,
) -> None:
    # given a working session (the keyring is loaded) and a token naming a hostile kid
    marker = tmp_path / "pwned"
    kid = kid.replace(MARKER, str(marker))
    honest = sign(anonymous_claims(storefront))
    context = context_of(api, honest).json()["customerContext"]
    assert api.get(CART_URL, **shopper_headers(honest, context)).status_code == 200
    forged = hmac_signed(
        header_for("anonymous", real_key("anonymous"), kid=kid),
        anonymous_claims(storefront),
        secret,
    )
    keys_before = list(SigningKey.objects.order_by("pk").values())

    # when it is presented, alone and with a context
    with django_assert_num_queries(0), recorded_side_effects() as side_effects:
        alone = context_of(api, forged)
        with_context = api.get(CART_URL, **shopper_headers(forged, context))

    # then it is refused without touching the database, a file, a process or the network
    assert_unauthorized(alone, 2010)
    assert_unauthorized(with_context, 2010)
    assert side_effects == []
    assert not marker.exists()
    assert list(SigningKey.objects.order_by("pk").values()) == keys_before


def test_the_side_effect_recorder_sees_files_processes_and_connections(tmp_path: Path) -> None:
    # given the recorder the kid tests rely on to show that nothing happened
    target = tmp_path / "touched"

    # when a file is opened, a process started and a connection attempted inside it
    with recorded_side_effects() as side_effects:
        target.write_text("x")
        subprocess.run(["true"], check=True)  # noqa: S607
        with socket.socket() as connection:
            connection.settimeout(1)
            connection.connect_ex(("127.0.0.1", 9))

    # then it saw each of them
    events = [event for event, _ in side_effects]
    assert "open" in events
    assert "subprocess.Popen" in events
    assert "socket.connect" in events


def test_a_real_kid_with_a_trailing_newline_is_malformed_and_costs_no_query(
    api: APIClient, storefront: Storefront, django_assert_num_queries: Any
) -> None:
    # given a working session, and its claims signed with the real key under "<kid>\n"
    key = real_key("anonymous")
    honest = sign(anonymous_claims(storefront), key=key)
    assert context_of(api, honest).status_code == 200
    forged = hmac_signed(
        header_for("anonymous", key, kid=key.kid + "\n"), anonymous_claims(storefront), key.secret
    )

    # when it is presented
    with django_assert_num_queries(0):
        response = context_of(api, forged)

    # then it is refused as malformed, without asking the database for the keyring again
    assert_unauthorized(response, 2010)


def test_unknown_well_formed_kids_reload_the_keyring_at_most_once(
    api: APIClient, storefront: Storefront, django_assert_max_num_queries: Any
) -> None:
    # given a working session, and tokens naming kids the keyring has never held
    honest = sign(anonymous_claims(storefront))
    assert context_of(api, honest).status_code == 200
    forgeries = [
        hmac_signed(
            header_for("anonymous", real_key("anonymous"), kid=secrets.token_urlsafe(12)),
            anonymous_claims(storefront),
            secrets.token_bytes(32),
        )
        for _ in range(20)
    ]

    # when they are presented one after another
    with django_assert_max_num_queries(1):
        responses = [context_of(api, forged) for forged in forgeries]

    # then each is refused, and the keyring was read again at most once
    for response in responses:
        assert_unauthorized(response, 2010)


# --- Headers that would choose the key ------------------------------------------------------


KEY_CHOOSING_HEADERS = ["jku-oct", "jku-rsa", "x5u", "jwk-oct", "jwk-rsa", "x5c", "real-key-jku"]


@pytest.mark.parametrize("attack", KEY_CHOOSING_HEADERS)
def test_a_header_choosing_the_key_is_refused_without_an_outbound_request(
    api: APIClient, carted: Shopper, attack: str
) -> None:
    # given the attacker's keys, published on a loopback server the token points at
    oct_secret = secrets.token_bytes(32)
    attacker = provider_key_generate("RS256", kid="attacker-rsa")
    private_key = attacker.private_key
    header, claims, _ = segments(carted.token)
    published = {
        "keys": [
            {"kty": "oct", "kid": "attacker", "k": b64url(oct_secret), "alg": "HS256"},
            attacker.public_jwk(),
            replace(attacker, kid=header["kid"]).public_jwk(),
        ]
    }
    with loopback_server(json.dumps(published).encode()) as server:
        rsa_header = {**without(header, "alg"), "kid": "attacker-rsa"}
        forged = {
            "jku-oct": hmac_signed(
                {**header, "kid": "attacker", "jku": f"{server.url}/jwks.json"},
                claims,
                oct_secret,
            ),
            "jku-rsa": jwt.encode(
                claims,
                private_key,
                algorithm="RS256",
                headers={**rsa_header, "jku": f"{server.url}/jwks.json"},
            ),
            "x5u": jwt.encode(
                claims,
                private_key,
                algorithm="RS256",
                headers={**rsa_header, "x5u": f"{server.url}/cert.pem"},
            ),
            "jwk-oct": hmac_signed(
                {**header, "jwk": {"kty": "oct", "k": b64url(oct_secret)}}, claims, oct_secret
            ),
            "jwk-rsa": jwt.encode(
                claims,
                private_key,
                algorithm="RS256",
                headers={**rsa_header, "jwk": attacker.public_jwk()},
            ),
            "x5c": jwt.encode(
                claims,
                private_key,
                algorithm="RS256",
                headers={**rsa_header, "x5c": [x5c_certificate(attacker)]},
            ),
            # Even our own signature does not make such a header acceptable.
            "real-key-jku": hmac_signed(
                {**header, "jku": f"{server.url}/jwks.json"}, claims, real_key("anonymous").secret
            ),
        }[attack]

        # when it is presented
        with recorded_side_effects() as side_effects:
            assert_refused_everywhere(api, forged, carted.context, 2010)

        # then nothing was fetched
        assert_nothing_fetched(server, side_effects)
