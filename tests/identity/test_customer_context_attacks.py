"""Keys, algorithms and headers; Tenants; Shapes and claim values. Part of the
test_customer_context suite (see its docstring)."""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from identity.credentials.encryption import secret_encrypt
from identity.credentials.keyring import signing_key_material
from identity.models import SigningKey
from tests.conftest import (
    HEADERS_TOO_LARGE,
    OVER_THE_HEADER_LIMIT,
    Shopper,
    Storefront,
    anonymous_shopper,
    assert_problem,
    shopper_headers,
    tables_snapshot,
)
from tests.identity.customer_context_common import (
    CONTEXT,
    assert_context_refused,
    cart_of,
    resigned,
)
from tests.identity.tokens_helpers import (
    ODD_CLAIM_VALUES,
    RealKey,
    add_to_cart,
    assemble,
    assert_nothing_fetched,
    assert_refused_or_ignored,
    assert_unauthorized,
    b64url,
    b64url_decode,
    b64url_json,
    hmac_signed,
    loopback_server,
    real_key,
    recorded_side_effects,
    segments,
    sign,
)

pytestmark = pytest.mark.django_db


# --- Keys, algorithms and headers -----------------------------------------------------------


def retired_context_key() -> RealKey:
    """A context key retired so long ago that the keyring no longer verifies with it."""
    secret = signing_key_material("HS256")
    row = SigningKey.objects.create(
        kid=secrets.token_urlsafe(12),
        purpose=CONTEXT,
        algorithm="HS256",
        encrypted_secret=secret_encrypt(secret),
        is_active=False,
        verify_until=timezone.now() - timedelta(seconds=1),
    )
    return RealKey(kid=row.kid, secret=b64url_decode(secret))


@pytest.mark.parametrize(
    "signer",
    [
        "access-key",
        "anonymous-key",
        "anonymous-secret-under-the-context-kid",
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
    anonymous = real_key("anonymous")
    context_key = real_key(CONTEXT)
    random_secret = secrets.token_bytes(32)
    forged = {
        "access-key": lambda: sign(claims, purpose=CONTEXT, key=access),
        "anonymous-key": lambda: sign(claims, purpose=CONTEXT, key=anonymous),
        "anonymous-secret-under-the-context-kid": lambda: hmac_signed(
            header, claims, anonymous.secret
        ),
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
