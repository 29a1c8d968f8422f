"""Attacks on the token service's own JWTs: SECURITY.md "own JWTs" for the customer token
(``customer_access``, password grant) and the client token (``client_access``,
client_credentials of a confidential client).

Every test runs for both kinds. A forged bearer is sent to GET
/commerceapi/authentication/customercontext (bearer alone), GET /commerceapi/products (bearer
alone, a place where a client token is accepted), GET /commerceapi/cart and POST
/commerceapi/cart/lines (bearer with a customer context), and must be refused there without
changing anything. Each kind's real token, issued by /oauth/token, and its claims signed here
with the keyring's real key, are first shown to be accepted.
"""

from __future__ import annotations

import json
import secrets
import string
import time
import urllib.request
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from unittest import mock

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.accounts import local_account_create
from identity.keyring import keyring_get
from identity.models import Customer, SigningKey, SigningKeyPurpose
from tests.conftest import (
    HEADERS_TOO_LARGE,
    OVER_THE_HEADER_LIMIT,
    Storefront,
    assert_problem,
    bearer_headers,
    shopper_headers,
    tables_snapshot,
)
from tests.identity.jwks_server import provider_key_generate, x5c_certificate
from tests.identity.oauth_helpers import Client, context_for, password_tokens, token_request
from tests.identity.tokens_helpers import (
    CART_URL,
    CONTEXT_URL,
    ECHO_MARKER,
    NOT_YET_VALID,
    ODD_CLAIM_VALUES,
    PROBLEMS,
    add_to_cart,
    assemble,
    assert_nothing_fetched,
    assert_refused_unchanged,
    assert_unauthorized,
    b64url,
    b64url_json,
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

PRODUCTS_URL = "/commerceapi/products"
PROFILE_URL = "/commerceapi/customer"
MIGRATE_URL = "/commerceapi/cart/migrate"
REGISTER_URL = "/commerceapi/customers"
BASE64URL_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
KINDS = ["customer", "client"]
SHOPPER_REQUIRED_CODE = 2040
INSUFFICIENT_SCOPE_CODE = 2041


# --- The two kinds, honest ------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of token service token: a real one, honest claims, and a context to send.

    ``context`` is the real token's own context for a customer; a client gets none of its own,
    so a customer's context is sent with it (the cart must refuse it either way).
    """

    name: str
    token: str
    context: str
    storefront: Storefront
    customer: Customer
    other_customer: Customer
    client: Client

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Valid claims of this kind, as the token service writes them; ``changes`` replace."""
        now = int(time.time())
        common = {
            "exp": now + 600,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "tenant": self.storefront.tenant.pk,
            "client_id": self.client.client_id,
            "iss": settings.TOKEN_ISSUER,
            "aud": settings.TOKEN_AUDIENCE,
        }
        if self.name == "customer":
            claims = {
                "token_type": "customer_access",
                **common,
                "sub": str(self.customer.public_id),
                "scope": "cart:read cart:write catalog:read customer:read",
            }
        else:
            claims = {
                "token_type": "client_access",
                **common,
                "sub": self.client.client_id,
                "scope": "cart:read cart:write catalog:read customer:read",
            }
        return {**claims, **changes}


@pytest.fixture(params=KINDS)
def kind(
    request: pytest.FixtureRequest,
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    products: dict[str, Any],
) -> Kind:
    """A real token of each kind, issued by /oauth/token, and the cart holding a MUG."""
    other = local_account_create(
        tenant=storefront.tenant, email="bob@example.com", password="another long passphrase 9"
    )
    customer_token = password_tokens(api, sales_channel)["access_token"]
    customer_context = context_for(api, customer_token)
    added = add_to_cart(api, shopper_headers(customer_token, customer_context))
    assert added.status_code == 200, added.content
    if request.param == "customer":
        return Kind(
            "customer",
            customer_token,
            customer_context,
            storefront,
            customer,
            other,
            sales_channel,
        )
    answer = token_request(api, integration.basic(), grant_type="client_credentials")
    assert answer.status_code == 200, answer.content
    return Kind(
        "client",
        answer.json()["access_token"],
        customer_context,
        storefront,
        customer,
        other,
        integration,
    )


def context_of(api: APIClient, raw_bearer: str) -> Any:
    return api.get(CONTEXT_URL, **bearer_headers(raw_bearer))


def products_of(api: APIClient, raw_bearer: str) -> Any:
    return api.get(PRODUCTS_URL, **bearer_headers(raw_bearer))


def assert_accepted(api: APIClient, kind: Kind, raw_bearer: str) -> None:
    """The bearer works as its kind does: a customer gets a context and her cart; a client is
    no shopper (403) but reads the catalog."""
    minted = context_of(api, raw_bearer)
    if kind.name == "customer":
        assert minted.status_code == 200, minted.content
        assert minted.json()["customerId"] == str(kind.customer.public_id)
        cart = api.get(CART_URL, **shopper_headers(raw_bearer, minted.json()["customerContext"]))
        assert cart.status_code == 200, cart.content
        assert cart.json()["isAnonymous"] is False
        assert [line["sku"] for line in cart.json()["lines"]] == ["MUG"]
    else:
        assert minted.status_code == 403, minted.content
        assert minted.json()["code"] == SHOPPER_REQUIRED_CODE
    catalog = products_of(api, raw_bearer)
    assert catalog.status_code == 200, catalog.content


def assert_catalog_unauthorized(response: Any, code: int) -> None:
    """The catalog's 401: the problem of ``code``, naming both schemes it takes."""
    assert response.status_code == 401, response.content
    assert response.json() == PROBLEMS[code]
    assert 'Bearer realm="commerceapi"' in response["WWW-Authenticate"]


def assert_refused_everywhere(api: APIClient, kind: Kind, raw_bearer: str, code: int) -> None:
    """A 401 ``code`` alone, on the catalog, with a context, and on a change; nothing changes."""
    before = tables_snapshot()
    assert_unauthorized(context_of(api, raw_bearer), code)
    assert_catalog_unauthorized(products_of(api, raw_bearer), code)
    assert_unauthorized(api.get(CART_URL, **shopper_headers(raw_bearer, kind.context)), code)
    assert_refused_unchanged(api, shopper_headers(raw_bearer, kind.context), code)
    assert tables_snapshot() == before


# --- The controls ---------------------------------------------------------------------------


def test_the_real_token_of_each_kind_is_accepted(api: APIClient, kind: Kind) -> None:
    header, claims, _ = segments(kind.token)
    assert header["typ"] == "at+jwt"
    assert claims["token_type"] == f"{kind.name}_access"
    assert_accepted(api, kind, kind.token)


def test_claims_signed_here_with_the_real_key_are_accepted(api: APIClient, kind: Kind) -> None:
    # the forgeries below differ from these tokens only by what they forge
    assert_accepted(api, kind, sign(kind.claims()))


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
    forged = sign(kind.claims(), key=real_key("context"))

    # when / then
    assert_refused_everywhere(api, kind, forged, 2010)


# --- kid --------------------------------------------------------------------------------------

MARKER = "{marker}"
MALFORMED_KIDS = [
    pytest.param("../../../../../../dev/null", b"", id="path-traversal-dev-null"),
    pytest.param("/etc/passwd", b"", id="absolute-path"),
    pytest.param("..%2F..%2F..%2Fdev%2Fnull", b"", id="encoded-traversal"),
    pytest.param("' OR '1'='1", b"", id="sql-or"),
    pytest.param("x' UNION SELECT 'c2VjcmV0' --", b"secret", id="sql-union-chosen-key"),
    pytest.param("1; DROP TABLE identity_signingkey; --", b"", id="sql-drop"),
    pytest.param(f"$(touch {MARKER})", b"", id="shell-substitution"),
    pytest.param(f"`touch {MARKER}`", b"", id="shell-backticks"),
    pytest.param(f"| touch {MARKER}", b"", id="shell-pipe"),
    pytest.param(f"; touch {MARKER} #", b"", id="shell-semicolon"),
    pytest.param("kid\x00", b"", id="nul-byte"),
    pytest.param("k" * 65, b"", id="too-long"),
    pytest.param("", b"", id="empty"),
]


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
    assert_accepted(api, kind, sign(kind.claims()))
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


# --- Required claims, times, crit, typ, token kinds -----------------------------------------


@pytest.mark.parametrize(
    "claim",
    ["exp", "jti", "iat", "iss", "aud", "sub", "token_type", "tenant", "client_id", "scope"],
)
def test_a_token_missing_a_required_claim_is_refused(
    api: APIClient, kind: Kind, claim: str
) -> None:
    claims = kind.claims()
    assert_accepted(api, kind, sign(claims))
    forged = sign(without(claims, claim))
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
    expired = sign(kind.claims(iat=now - seconds_ago - 60, exp=now - seconds_ago))
    assert_refused_everywhere(api, kind, expired, 2011)


@pytest.mark.parametrize("changes", NOT_YET_VALID)
def test_a_token_not_yet_valid_is_refused(
    api: APIClient, kind: Kind, changes: dict[str, int]
) -> None:
    now = int(time.time())
    future = sign(kind.claims(**{name: now + delta for name, delta in changes.items()}))
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
    forged = hmac_signed({**header, **crit}, claims, real_key("access").secret)
    assert_refused_everywhere(api, kind, forged, 2010)


@pytest.mark.parametrize(
    "typ", ["customer-context+jwt", "JWT", "jwt", "AT+JWT", "", 1, ["at+jwt"], None]
)
def test_a_wrong_typ_header_is_refused(api: APIClient, kind: Kind, typ: Any) -> None:
    # given the kind's claims signed for real under another typ (None: no typ)
    header = header_for("access", real_key("access"), typ=typ)
    if typ is None:
        header = without(header, "typ")
    forged = hmac_signed(header, kind.claims(), real_key("access").secret)

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
    forged = sign(kind.claims(token_type=token_type))

    # when / then
    assert_refused_everywhere(api, kind, forged, 2010)


def test_a_customer_token_typed_as_a_context_and_signed_by_the_context_key_is_refused(
    api: APIClient, kind: Kind
) -> None:
    # given the kind's claims as a context would be signed: context key and context typ
    forged = sign(kind.claims(), purpose=SigningKeyPurpose.CONTEXT)

    # when / then
    assert_refused_everywhere(api, kind, forged, 2010)


def test_a_client_token_naming_a_customer_as_subject_is_refused(api: APIClient, kind: Kind) -> None:
    # given a client token whose sub is a customer's, not the client's
    forged = sign(
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
    forged = sign(kind.claims(**{claim: value}))
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
    forged = sign(kind.claims(**changes))

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
    token = sign(kind.claims(scope=scope))
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
    token = sign(kind.claims(**extras))

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
        token = sign(kind.claims())
        if set(token.rsplit(".", 1)[1]) & {"-", "_"}:
            return token


def malformed_shape(kind: Kind, shape: str) -> str:
    token = kind.token
    header, claims, signature = segments(token)
    header_segment, payload_segment, _ = token.split(".")
    if shape == "jwe-five-segments":
        jwe_header = b64url_json({"alg": "dir", "enc": "A256GCM", "kid": header["kid"]})
        return ".".join(
            [jwe_header, "", b64url(b"\x00" * 12), b64url(b"ciphertext"), b64url(b"\x00" * 16)]
        )
    if shape == "json-serialisation-flattened":
        return json.dumps(
            {"protected": header_segment, "payload": payload_segment, "signature": signature}
        )
    if shape == "json-serialisation-general":
        return json.dumps(
            {
                "payload": payload_segment,
                "signatures": [{"protected": header_segment, "signature": signature}],
            }
        )
    if shape == "standard-alphabet-signature":
        head, dashed = canonical_with_dash_or_underscore(kind).rsplit(".", 1)
        return f"{head}.{dashed.replace('-', '+').replace('_', '/')}"
    if shape == "header-of-100-kb":
        padded = {**header, "x-pad": "A" * 100 * 1024}
        return hmac_signed(padded, claims, real_key("access").secret)
    return {
        "two-segments": f"{header_segment}.{payload_segment}",
        "four-segments": f"{token}.{signature}",
        "padded-signature": f"{token}=",
        "padded-payload": f"{header_segment}.{payload_segment}=.{signature}",
        "bang-in-signature": f"{token[:-5]}!{token[-5:]}",
        "space-in-payload": f"{header_segment}.{payload_segment[:5]} {payload_segment[5:]}.x",
        "newline-in-signature": f"{token[:-5]}\n{token[-5:]}",
        "non-ascii": f"{token[:-5]}ä{token[-5:]}",
        "percent-encoded-dot": token.replace(".", "%2E", 1),
        "token-of-100-kb-of-dots": "." * 100 * 1024,
    }[shape]


SHAPES = [
    "jwe-five-segments",
    "json-serialisation-flattened",
    "json-serialisation-general",
    "standard-alphabet-signature",
    "header-of-100-kb",
    "two-segments",
    "four-segments",
    "padded-signature",
    "padded-payload",
    "bang-in-signature",
    "space-in-payload",
    "newline-in-signature",
    "non-ascii",
    "percent-encoded-dot",
    "token-of-100-kb-of-dots",
]


@pytest.mark.parametrize("shape", SHAPES)
def test_anything_but_a_canonical_compact_jws_is_refused_fast(
    api: APIClient, kind: Kind, shape: str
) -> None:
    # given the kind's real token in another shape
    forged = malformed_shape(kind, shape)
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
