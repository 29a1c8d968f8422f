"""Access tokens of external identity providers at the customer context endpoint.

Real token shapes (Entra ID v2, Okta, Auth0, Cognito, Keycloak), the claim and header rules of
SECURITY.md ("providers"), and which tenant's provider judges a token. Keys are served by a
loopback JWKS server (tests/identity/jwks_server.py).

Here: Every algorithm a provider may use; Issuer and audience; Signatures and algorithms; ID
tokens; Customers are found by (provider, subject), never by e-mail; Which tenant's provider
judges a token. The other parts of the suite: test_provider_token_shapes,
test_provider_token_claims.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from identity import errors
from identity.customers.providers import (
    provider_save,
    providers_clear_cache,
)
from identity.models import Customer, CustomerIdentity
from tests.conftest import Storefront
from tests.identity.jwks_server import (
    AUDIENCE,
    JwksServer,
    assert_customer_context,
    assert_problem_code,
    compact_jws,
    context_get,
    jws_sign,
    provider_key_generate,
    provider_of,
    provider_register,
)
from tests.identity.provider_tokens_common import (
    ServerFactory,
    assert_nobody_signed_in,
)
from tests.identity.tokens_helpers import b64url, hmac_signed, without

# --- Every algorithm a provider may use -------------------------------------------------------


@pytest.mark.parametrize(
    "algorithm", ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
)
def test_each_asymmetric_algorithm_is_accepted(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory, algorithm: str
) -> None:
    # Given a provider signing with this algorithm
    server = jwks_servers(algorithm=algorithm)
    provider_of(server, tenant=storefront.tenant)

    # When its token is presented
    response = context_get(api, server.token(), storefront.key)

    # Then it is accepted
    assert_customer_context(response)


# --- Issuer and audience ----------------------------------------------------------------------


NEAR_ISSUERS = [
    "https://idp.unknown.example",
    "https://idp.example",  # a prefix
    "https://idp.example/realms",  # a longer prefix
    "https://idp.example/realms/shop/",
    "https://idp.example/realms/shop/x",
    "https://IDP.example/realms/shop",
    "https://idp.example/realms/shop ",
    "",
]


def test_issuer_not_configured_is_unknown(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given a provider with issuer https://idp.example/realms/shop
    server = jwks_servers(issuer="https://idp.example/realms/shop")
    provider_of(server, tenant=storefront.tenant)

    for issuer in NEAR_ISSUERS:
        # When a token signed with its own key names another issuer, however close
        response = context_get(api, server.token(iss=issuer), storefront.key)

        # Then no provider is found for it
        assert_problem_code(response, errors.PROVIDER_UNKNOWN)
    assert_nobody_signed_in()
    assert server.requests() == 0


OTHER_AUDIENCES: list[Any] = [
    "api://other",
    ["api://other", "api://another"],
    [],
    "",
    "api://shop/",
    "API://SHOP",
]


def test_missing_or_other_audience_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider accepting api://shop
    provider_of(jwks_server, tenant=storefront.tenant)
    tokens = [jwks_server.sign(without(jwks_server.claims(), "aud"))]
    tokens += [jwks_server.token(aud=audience) for audience in OTHER_AUDIENCES]

    for token in tokens:
        # When a token has no aud, or one for another API
        response = context_get(api, token, storefront.key)

        # Then it is refused
        assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


def test_any_of_several_accepted_audiences_is_enough(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider accepting two audiences
    provider_of(jwks_server, tenant=storefront.tenant, audiences=[AUDIENCE, "api://mobile"])

    # When tokens name one of them (alone or among others)
    tokens = [jwks_server.token(aud="api://mobile"), jwks_server.token(aud=["x", AUDIENCE])]

    # Then both are accepted
    for token in tokens:
        assert_customer_context(context_get(api, token, storefront.key))


# --- Signatures and algorithms ----------------------------------------------------------------


@pytest.mark.parametrize("key_source", ["jwks_uri", "public_key_pem"])
def test_hmac_signed_with_the_providers_public_key_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, key_source: str
) -> None:
    # Given a provider whose public key anyone can download
    if key_source == "jwks_uri":
        provider_of(jwks_server, tenant=storefront.tenant)
    else:
        provider_register(
            tenant=storefront.tenant,
            issuer=jwks_server.issuer,
            public_key_pem=jwks_server.signing_key.public_pem(),
        )
    pem = jwks_server.signing_key.public_pem().encode()

    # When an attacker signs HS256 with that public key (PEM, with and without the newline)
    for secret in (pem, pem.strip()):
        for alg in ("HS256", "hs256"):
            header = {"alg": alg, "typ": "JWT", "kid": jwks_server.signing_key.kid}
            token = hmac_signed(header, jwks_server.claims(), secret)
            response = context_get(api, token, storefront.key)

            # Then it is refused
            assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


def test_alg_none_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider
    provider_of(jwks_server, tenant=storefront.tenant)
    claims = jwks_server.claims()
    original = jwks_server.sign(claims).rsplit(".", 1)[1]

    for alg in ("none", "None", "NONE", "nOnE"):
        # When a token says alg none (with no signature, or a valid one left in place)
        header = {"alg": alg, "typ": "JWT", "kid": jwks_server.signing_key.kid}
        unsigned = compact_jws(header, claims, b"")
        for token in (unsigned, unsigned + original):
            response = context_get(api, token, storefront.key)

            # Then it is refused
            assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


@pytest.mark.parametrize(
    "signature",
    [bytes(64), bytes.fromhex("3006020100020100"), b""],
    ids=["raw-r-s-zero", "der-r-s-zero", "empty"],
)
def test_es256_signature_with_r_and_s_zero_is_refused(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory, signature: bytes
) -> None:
    # Given a provider signing ES256
    server = jwks_servers(algorithm="ES256")
    provider_of(server, tenant=storefront.tenant)
    assert_customer_context(context_get(api, server.token(), storefront.key))

    # When a token carries the "psychic" signature r = s = 0
    header = {"alg": "ES256", "typ": "JWT", "kid": server.signing_key.kid}
    response = context_get(api, compact_jws(header, server.claims(), signature), storefront.key)

    # Then it is refused
    assert_problem_code(response, errors.TOKEN_INVALID)
    assert Customer.objects.count() == 1


def test_algorithm_the_provider_does_not_use_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider allowed RS256 whose JWKS also lists an ES256 key
    provider_of(jwks_server, tenant=storefront.tenant, algorithms=["RS256"])
    ec_key = jwks_server.add_key("ES256")

    # When a token is signed ES256 with that published key
    response = context_get(api, jwks_server.sign(jwks_server.claims(), key=ec_key), storefront.key)

    # Then the algorithm is not the provider's
    assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


def test_alg_header_other_than_the_keys_own_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider allowed RS256 and RS384 whose key is published for RS256
    provider_of(jwks_server, tenant=storefront.tenant, algorithms=["RS256", "RS384"])
    key = jwks_server.signing_key
    header = {"alg": "RS384", "typ": "JWT", "kid": key.kid}

    # When a token is signed RS384 with it
    token = jws_sign(header, jwks_server.claims(), key.private_key, "RS384")
    response = context_get(api, token, storefront.key)

    # Then the key's declared algorithm wins
    assert_problem_code(response, errors.TOKEN_INVALID)


def test_key_of_another_type_under_an_allowed_algorithm_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider allowed RS256 and ES256 that publishes an RSA key without "alg"
    jwks_server.publish_alg = False
    provider_of(jwks_server, tenant=storefront.tenant, algorithms=["RS256", "ES256"])
    ec_key = provider_key_generate("ES256", kid=jwks_server.signing_key.kid)

    # When a token names the RSA key's kid but is ES256, signed with some EC key
    response = context_get(api, jwks_server.sign(jwks_server.claims(), key=ec_key), storefront.key)

    # Then it is refused, not a server error
    assert_problem_code(response, errors.TOKEN_INVALID)


def test_edited_payload_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider and a valid token of it
    provider_of(jwks_server, tenant=storefront.tenant)
    header_part, _, signature_part = jwks_server.token(sub="alice").split(".")

    # When the payload is swapped for another user's
    edited = b64url(json.dumps(jwks_server.claims(sub="bob")).encode())
    response = context_get(api, f"{header_part}.{edited}.{signature_part}", storefront.key)

    # Then the signature no longer matches
    assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


def test_crit_header_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider
    provider_of(jwks_server, tenant=storefront.tenant)

    for crit in (["exp"], ["b64"], ["http://example.com/unknown"], [], "exp"):
        # When a validly signed token has a crit header
        header = {"crit": crit, "b64": True, "http://example.com/unknown": 1}
        response = context_get(api, jwks_server.token(header=header), storefront.key)

        # Then it is refused (we understand no extension)
        assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


# --- ID tokens --------------------------------------------------------------------------------


ID_TOKEN_MARKS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"nonce": "n-0S6_WzA2Mj"}, {}),
    ({"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}, {}),
    ({"c_hash": "LDktKdoQak3Pk0cnXxCltA"}, {}),
    ({"typ": "ID"}, {}),
    ({"token_use": "id"}, {}),
    ({}, {"typ": "id_token+jwt"}),
]


def test_id_token_sent_as_an_access_token_is_refused(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a generic provider (refusing ID tokens by default)
    provider_of(jwks_server, tenant=storefront.tenant)

    for claims, header in ID_TOKEN_MARKS:
        # When the storefront sends an ID token instead of an access token
        response = context_get(api, jwks_server.token(header=header, **claims), storefront.key)

        # Then it is refused as such
        assert_problem_code(response, errors.ID_TOKEN_REFUSED)
    assert_nobody_signed_in()


def test_provider_set_to_accept_id_tokens_accepts_a_nonce(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a trusted system whose tokens carry a nonce, and a provider set to accept them
    provider_of(jwks_server, tenant=storefront.tenant, refuse_id_tokens=False)

    # When such a token is presented
    response = context_get(api, jwks_server.token(nonce="n-0S6_WzA2Mj"), storefront.key)

    # Then it is accepted
    assert_customer_context(response)


# --- Customers are found by (provider, subject), never by e-mail ------------------------------


def test_same_email_from_another_identity_gets_its_own_customer(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given a customer signed in through provider A with a verified e-mail
    first_idp, second_idp = jwks_servers(), jwks_servers()
    provider_of(first_idp, tenant=storefront.tenant)
    provider_of(second_idp, tenant=storefront.tenant)
    profile = {"email": "alice@example.com", "email_verified": True}
    alice = assert_customer_context(
        context_get(api, first_idp.token(sub="alice", **profile), storefront.key)
    )

    # When a new identity (another provider, and another subject of A) claims the same e-mail
    via_other_provider = assert_customer_context(
        context_get(api, second_idp.token(sub="alice", **profile), storefront.key)
    )
    via_other_subject = assert_customer_context(
        context_get(api, first_idp.token(sub="mallory", **profile), storefront.key)
    )

    # Then each gets its own customer; none is linked to Alice's
    assert len({alice, via_other_provider, via_other_subject}) == 3
    assert CustomerIdentity.objects.filter(customer__public_id=alice).count() == 1
    assert Customer.objects.filter(email="alice@example.com").count() == 3


# --- Which tenant's provider judges a token ---------------------------------------------------


def test_issuer_trusted_by_two_tenants_maps_to_the_auth_keys_tenant(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    jwks_server: JwksServer,
) -> None:
    # Given two tenants trusting the same issuer
    acme_provider = provider_of(jwks_server, tenant=storefront.tenant)
    globex_provider = provider_of(jwks_server, tenant=other_storefront.tenant)
    token = jwks_server.token(sub="alice")

    # When the same token is presented with each tenant's X-Auth-Key
    at_acme = assert_customer_context(context_get(api, token, storefront.key))
    at_globex = assert_customer_context(context_get(api, token, other_storefront.key))

    # Then each tenant gets its own customer, linked to its own provider
    assert at_acme != at_globex
    acme_customer = Customer.objects.get(public_id=at_acme)
    globex_customer = Customer.objects.get(public_id=at_globex)
    assert acme_customer.tenant_id == storefront.tenant.pk
    assert globex_customer.tenant_id == other_storefront.tenant.pk
    assert acme_customer.identities.get().provider_id == acme_provider.pk
    assert globex_customer.identities.get().provider_id == globex_provider.pk


def test_issuer_trusted_by_two_tenants_needs_the_auth_key(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    jwks_server: JwksServer,
) -> None:
    # Given two tenants trusting the same issuer
    provider_of(jwks_server, tenant=storefront.tenant)
    provider_of(jwks_server, tenant=other_storefront.tenant)

    # When a token comes without an X-Auth-Key
    response = context_get(api, jwks_server.token(), None)

    # Then the tenant cannot be told
    assert_problem_code(response, errors.TENANT_UNDETERMINED)
    assert_nobody_signed_in()


def test_issuer_trusted_by_one_tenant_needs_no_auth_key(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given one tenant trusting an issuer
    provider_of(jwks_server, tenant=storefront.tenant)

    # When its token comes without an X-Auth-Key
    customer_id = assert_customer_context(context_get(api, jwks_server.token(), None))

    # Then the customer is that tenant's
    assert Customer.objects.get(public_id=customer_id).tenant_id == storefront.tenant.pk


def test_provider_of_another_tenant_never_verifies_a_token(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    jwks_server: JwksServer,
) -> None:
    # Given only the other tenant trusts the issuer
    provider_of(jwks_server, tenant=other_storefront.tenant)

    # When its valid token is presented with this tenant's X-Auth-Key
    response = context_get(api, jwks_server.token(), storefront.key)

    # Then this tenant knows no such issuer, and no key was even fetched
    assert_problem_code(response, errors.PROVIDER_UNKNOWN)
    assert_nobody_signed_in()
    assert jwks_server.requests() == 0


def test_unknown_auth_key_is_refused_before_the_token_is_looked_at(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider
    provider_of(jwks_server, tenant=storefront.tenant)

    # When its token comes with an X-Auth-Key nobody issued
    response = context_get(api, jwks_server.token(), "sk_live_" + "0" * 40)

    # Then the key is refused
    assert_problem_code(response, errors.AUTH_KEY_INVALID)
    assert jwks_server.requests() == 0


def test_disabled_provider_is_unknown(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider whose customer has signed in
    provider = provider_of(jwks_server, tenant=storefront.tenant)
    assert_customer_context(context_get(api, jwks_server.token(sub="alice"), storefront.key))

    # When the provider is disabled
    provider.is_enabled = False
    provider_save(provider=provider)
    providers_clear_cache()

    # Then its tokens are no longer trusted
    response = context_get(api, jwks_server.token(sub="alice"), storefront.key)
    assert_problem_code(response, errors.PROVIDER_UNKNOWN)
