"""Time claims and leeway; Junk in every claim and header parameter. Part of the
test_provider_tokens suite (see its docstring)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from identity import errors
from identity.customers.providers import (
    ProviderTokenRejected,
    provider_for_issuer,
    provider_token_verify,
)
from identity.models import Customer, IdentityProvider
from tests.conftest import Storefront
from tests.identity.jwks_server import (
    JWKS_PATH,
    JwksServer,
    assert_customer_context,
    assert_problem_code,
    context_get,
    provider_of,
)
from tests.identity.provider_tokens_common import (
    assert_nobody_signed_in,
)
from tests.identity.tokens_helpers import without

# --- Time claims and leeway -------------------------------------------------------------------


def test_token_without_a_required_claim_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider
    provider_of(jwks_server, tenant=storefront.tenant)

    for claim in ("exp", "iat", "iss", "sub"):
        # When a token lacks the claim
        response = context_get(
            api, jwks_server.sign(without(jwks_server.claims(), claim)), storefront.key
        )

        # Then it is refused
        assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


def test_expired_token_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider with a leeway of 30 s
    provider_of(jwks_server, tenant=storefront.tenant, leeway_seconds=30)
    now = int(time.time())

    # When a token expired 31 s ago is presented
    token = jwks_server.token(iat=now - 600, nbf=now - 600, exp=now - 31)
    response = context_get(api, token, storefront.key)

    # Then it is expired
    assert_problem_code(response, errors.TOKEN_EXPIRED)
    assert_nobody_signed_in()


def test_token_expired_within_the_leeway_is_verified_but_gets_no_context(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider with a leeway of 30 s
    provider_of(jwks_server, tenant=storefront.tenant, leeway_seconds=30)
    config = provider_for_issuer(issuer=jwks_server.issuer, tenant_id=storefront.tenant.pk)
    assert config is not None
    now = int(time.time())

    # When a token that expired 10 s ago is verified
    token = jwks_server.token(sub="alice", iat=now - 600, nbf=now - 600, exp=now - 10)
    identity = provider_token_verify(config, token)

    # Then the provider's clock is given the leeway
    assert (identity.subject, identity.expires_at) == ("alice", now - 10)

    # but no customer context is minted for it: one would be born expired
    assert_problem_code(context_get(api, token, storefront.key), errors.TOKEN_EXPIRED)


def test_token_expired_beyond_the_leeway_fails_verification(
    storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider with a leeway of 30 s
    provider_of(jwks_server, tenant=storefront.tenant, leeway_seconds=30)
    config = provider_for_issuer(issuer=jwks_server.issuer, tenant_id=storefront.tenant.pk)
    assert config is not None
    now = int(time.time())

    # When a token that expired 31 s ago is verified
    token = jwks_server.token(iat=now - 600, nbf=now - 600, exp=now - 31)

    # Then it is expired
    with pytest.raises(ProviderTokenRejected) as rejected:
        provider_token_verify(config, token)
    assert rejected.value.expired


def test_leeway_zero_is_strict(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider with no leeway
    provider_of(jwks_server, tenant=storefront.tenant, leeway_seconds=0)
    now = int(time.time())

    # When a token expired 2 s ago is presented
    response = context_get(api, jwks_server.token(iat=now - 60, exp=now - 2), storefront.key)

    # Then it is expired
    assert_problem_code(response, errors.TOKEN_EXPIRED)


@pytest.mark.parametrize("leeway", [61, 3600])
def test_leeway_above_60_seconds_cannot_be_saved(
    storefront: Storefront, jwks_server: JwksServer, leeway: int
) -> None:
    # When a provider is saved with a leeway over a minute
    with pytest.raises(ValidationError) as raised:
        provider_of(jwks_server, tenant=storefront.tenant, leeway_seconds=leeway)

    # Then it is refused and nothing is saved
    assert "leeway_seconds" in raised.value.message_dict
    assert IdentityProvider.objects.count() == 0


def test_token_not_yet_valid_beyond_the_leeway_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider with a leeway of 30 s
    provider_of(jwks_server, tenant=storefront.tenant, leeway_seconds=30)
    now = int(time.time())

    for moments in ({"nbf": now + 120}, {"iat": now + 120}, {"iat": now + 3600, "nbf": now}):
        # When the token's nbf or iat lies beyond the leeway in the future
        response = context_get(api, jwks_server.token(**moments), storefront.key)

        # Then it is refused
        assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


def test_iat_and_nbf_slightly_ahead_within_the_leeway_are_accepted(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider with a leeway of 30 s (its clock runs a little fast)
    provider_of(jwks_server, tenant=storefront.tenant, leeway_seconds=30)
    now = int(time.time())

    # When the token's iat and nbf are 10 s ahead
    token = jwks_server.token(iat=now + 10, nbf=now + 10)

    # Then it is accepted
    assert_customer_context(context_get(api, token, storefront.key))


# --- Junk in every claim and header parameter -------------------------------------------------

JUNK = [None, True, 0, "x", [], {}, -1, 10**30, 1.5]
# Without these a token names nobody or nothing we trust: junk in them is always refused.
IDENTIFYING_CLAIMS = ["iss", "aud", "sub", "exp", "iat"]
OTHER_CLAIMS = [
    "nbf",
    "jti",
    "email",
    "email_verified",
    "name",
    "given_name",
    "scp",
    "scope",
    "azp",
    "typ",
    "token_use",
    "client_id",
    "tid",
    "oid",
    "uid",
    "cnf",
    "act",
]
REFUSAL_CODES = {
    errors.TOKEN_INVALID.number,
    errors.TOKEN_EXPIRED.number,
    errors.PROVIDER_UNKNOWN.number,
    errors.ID_TOKEN_REFUSED.number,
}


def _judged(response: Any) -> str:
    """``accepted`` or ``refused``; anything else (a 5xx, another status) fails the test."""
    if response.status_code == 200:
        assert_customer_context(response)
        return "accepted"
    assert response.status_code == 401, response.content
    assert response.json()["code"] in REFUSAL_CODES
    assert response["WWW-Authenticate"]
    return "refused"


def _harmless(claim: str, value: Any) -> bool:
    """Junk that still reads as a valid value: a subject "x", a far expiry, a past iat."""
    return (
        (claim == "sub" and value == "x")
        or (claim == "exp" and value == 10**30)
        or (claim == "iat" and value in (True, 0, -1, 1.5))
    )


@pytest.mark.parametrize("claim", IDENTIFYING_CLAIMS + OTHER_CLAIMS)
def test_junk_in_any_claim_is_refused_or_ignored(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, claim: str
) -> None:
    # Given a provider
    provider_of(jwks_server, tenant=storefront.tenant)

    for value in JUNK:
        # When a validly signed token has null, true, 0, "x" (and more) in the claim
        customers = Customer.objects.count()
        response = context_get(api, jwks_server.token(**{claim: value}), storefront.key)

        # Then it is refused or the junk is ignored; never a server error
        outcome = _judged(response)
        if claim in IDENTIFYING_CLAIMS and not _harmless(claim, value):
            assert outcome == "refused", value
            assert Customer.objects.count() == customers
        if outcome == "accepted":
            customer = Customer.objects.get(public_id=response.json()["customerId"])
            assert (customer.email, customer.email_verified) == ("", False)


@pytest.mark.parametrize("parameter", ["alg", "kid", "typ", "crit", "jku", "x5u", "jwk", "x5c"])
def test_junk_in_a_header_parameter_is_refused_or_ignored(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, parameter: str
) -> None:
    # Given a provider
    provider_of(jwks_server, tenant=storefront.tenant)

    for value in [True, 0, "x", [], {}, 1.5]:
        # When a validly signed token has junk in a header parameter
        response = context_get(api, jwks_server.token(header={parameter: value}), storefront.key)

        # Then only the parameters that do not choose the key or the kind may be ignored
        outcome = _judged(response)
        assert outcome == ("refused" if parameter in ("alg", "kid", "crit") else "accepted")
    # and a junk URL or key in a header is never fetched: the only requests were for the JWKS
    assert jwks_server.requests() == jwks_server.requests(JWKS_PATH)


@pytest.mark.parametrize(
    "raw",
    [
        "a.b.c",
        "....",
        "e30.e30.",
        "eyJhbGciOiJSUzI1NiJ9.W10.AAAA",  # payload is a JSON array
        "eyJhbGciOiJSUzI1NiJ9.bnVsbA.AAAA",  # payload is null
        "bnVsbA.e30.AAAA",  # header is null
        "eyJhbGciOiJSUzI1NiJ9",
        "x" * 9000,
    ],
    ids=["letters", "dots", "empty-objects", "array", "null", "null-header", "one-part", "long"],
)
def test_malformed_bearer_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, raw: str
) -> None:
    # Given a provider
    provider_of(jwks_server, tenant=storefront.tenant)

    # When the bearer is not a JWS at all
    response = context_get(api, raw, storefront.key)

    # Then it is a 401, never a 5xx, and no key is fetched for it
    assert_problem_code(response, errors.TOKEN_INVALID)
    assert jwks_server.requests() == 0
