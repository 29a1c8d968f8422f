"""Access tokens of external identity providers at the customer context endpoint.

Real token shapes (Entra ID v2, Okta, Auth0, Cognito, Keycloak), the claim and header rules of
SECURITY.md ("providers"), and which tenant's provider judges a token. Keys are served by a
loopback JWKS server (tests/identity/jwks_server.py).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from identity import errors
from identity.customers.providers import (
    ProviderTokenRejected,
    provider_for_issuer,
    provider_save,
    provider_token_verify,
    providers_clear_cache,
)
from identity.models import Customer, CustomerIdentity, IdentityProvider, ProviderFlavor
from tests.conftest import Storefront
from tests.identity.jwks_server import (
    AUDIENCE,
    JWKS_PATH,
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
from tests.identity.tokens_helpers import b64url, hmac_signed, without

ServerFactory = Callable[..., JwksServer]


def assert_signed_in_once(
    api: APIClient,
    storefront: Storefront,
    provider: IdentityProvider,
    *,
    first_token: str,
    second_token: str,
    subject: str,
) -> Customer:
    """Two tokens of one user: one customer, linked by (provider, subject), found again."""
    customer_id = assert_customer_context(context_get(api, first_token, storefront.key))
    again = assert_customer_context(context_get(api, second_token, storefront.key))
    assert again == customer_id
    identity = CustomerIdentity.objects.select_related("customer").get()
    assert identity.provider_id == provider.pk
    assert identity.subject == subject
    assert str(identity.customer.public_id) == customer_id
    assert identity.customer.tenant_id == storefront.tenant.pk
    assert Customer.objects.count() == 1
    return identity.customer


def assert_nobody_signed_in() -> None:
    assert Customer.objects.count() == 0
    assert CustomerIdentity.objects.count() == 0


# --- Real token shapes ------------------------------------------------------------------------

ENTRA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
ENTRA_ISSUER = f"https://login.microsoftonline.com/{ENTRA_TENANT_ID}/v2.0"
ENTRA_CLIENT_ID = "6e74172b-be56-4843-9ff4-e66a39bb12e3"


def entra_claims(server: JwksServer, object_id: str, **claims: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "aud": ENTRA_CLIENT_ID,
        "ver": "2.0",
        "tid": ENTRA_TENANT_ID,
        "oid": object_id,
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",  # pairwise, per application
        "azp": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "azpacr": "0",
        "scp": "Cart.ReadWrite Profile.Read",
        "name": "Abe Lincoln",
        "preferred_username": "abeli@microsoft.com",
        "aio": "AXQAi/8IAAAAqxsuB+R4D2rFQqOETO4YdXbLD9kZ8xfXadeAM0Q2NkNT5izfg3uwbWSXhuSSj6UT",
        "rh": "0.AUYAfk3xXQ-qUEaEt9dq-Hhx2AEAAAAAAAAAwAAAAAAAAABGAAA.",
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
    }
    values.update(claims)
    return server.claims(**values)


def test_entra_id_v2_token_signs_in_by_directory_and_object_id(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given an Entra ID provider: an https issuer with its directory id, keys on loopback
    server = jwks_servers(issuer=ENTRA_ISSUER)
    provider = provider_of(
        server,
        tenant=storefront.tenant,
        flavor=ProviderFlavor.ENTRA_ID,
        audiences=[ENTRA_CLIENT_ID],
    )
    object_id = str(uuid.uuid4())
    header = {"x5t": server.signing_key.kid}

    # When the same user presents two access tokens
    first = server.sign(entra_claims(server, object_id), header=header)
    second = server.sign(entra_claims(server, object_id), header=header)

    # Then one customer exists, identified by directory and object id
    assert_signed_in_once(
        api,
        storefront,
        provider,
        first_token=first,
        second_token=second,
        subject=f"{ENTRA_TENANT_ID}:{object_id}",
    )


@pytest.mark.parametrize(
    "tid",
    ["72f988bf-86f1-41af-91ab-2d7cd011db47", "", None, 0],
    ids=["another-directory", "empty", "null", "zero"],
)
def test_entra_id_token_of_another_directory_is_refused(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory, tid: Any
) -> None:
    # Given an Entra ID provider of one directory
    server = jwks_servers(issuer=ENTRA_ISSUER)
    provider_of(
        server,
        tenant=storefront.tenant,
        flavor=ProviderFlavor.ENTRA_ID,
        audiences=[ENTRA_CLIENT_ID],
    )

    # When its token names another directory in tid
    token = server.sign(entra_claims(server, str(uuid.uuid4()), tid=tid))
    response = context_get(api, token, storefront.key)

    # Then it is refused and nobody is signed in
    assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


def test_entra_id_token_without_scopes_or_roles_is_an_id_token(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given an Entra ID provider whose audience is the app's client id
    server = jwks_servers(issuer=ENTRA_ISSUER)
    provider_of(
        server,
        tenant=storefront.tenant,
        flavor=ProviderFlavor.ENTRA_ID,
        audiences=[ENTRA_CLIENT_ID],
    )

    # When an ID token (same audience, no scp, no roles, no nonce) is presented
    claims = entra_claims(server, str(uuid.uuid4()))
    del claims["scp"]
    response = context_get(api, server.sign(claims), storefront.key)

    # Then it is refused as an ID token, and with app roles instead of scopes it is accepted
    assert_problem_code(response, errors.ID_TOKEN_REFUSED)
    assert_nobody_signed_in()
    with_roles = {**claims, "roles": ["Orders.Read"]}
    assert context_get(api, server.sign(with_roles), storefront.key).status_code == 200


def test_entra_id_v1_issuer_of_the_same_directory_is_unknown(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given an Entra ID v2 provider
    server = jwks_servers(issuer=ENTRA_ISSUER)
    provider_of(
        server,
        tenant=storefront.tenant,
        flavor=ProviderFlavor.ENTRA_ID,
        audiences=[ENTRA_CLIENT_ID],
    )

    # When a v1 token of the same directory arrives
    claims = entra_claims(
        server, str(uuid.uuid4()), iss=f"https://sts.windows.net/{ENTRA_TENANT_ID}/"
    )
    response = context_get(api, server.sign(claims), storefront.key)

    # Then its issuer is not one the tenant trusts
    assert_problem_code(response, errors.PROVIDER_UNKNOWN)


OKTA_ISSUER = "https://dev-31415926.okta.com/oauth2/default"


def okta_claims(server: JwksServer, user_id: str, **claims: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "ver": 1,
        "jti": f"AT.{uuid.uuid4().hex}",
        "aud": "api://default",
        "cid": "0oa1b2c3d4e5f6g7h8i9",
        "uid": user_id,
        "scp": ["openid", "profile", "email"],
        "auth_time": int(time.time()) - 60,
        "sub": "alice@example.com",
    }
    values.update(claims)
    return server.claims(**values)


def test_okta_custom_authorization_server_token_is_identified_by_uid(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given an Okta custom authorization server
    server = jwks_servers(issuer=OKTA_ISSUER)
    provider = provider_of(
        server, tenant=storefront.tenant, flavor=ProviderFlavor.OKTA, audiences=["api://default"]
    )

    # When a user presents two access tokens
    user_id = "00u1a2b3c4d5e6f7g8h9"
    first, second = (server.sign(okta_claims(server, user_id)) for _ in range(2))

    # Then the customer is the Okta user id, not the login name in sub
    assert_signed_in_once(
        api, storefront, provider, first_token=first, second_token=second, subject=user_id
    )


def test_okta_token_without_uid_is_refused(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given an Okta provider
    server = jwks_servers(issuer=OKTA_ISSUER)
    provider_of(
        server, tenant=storefront.tenant, flavor=ProviderFlavor.OKTA, audiences=["api://default"]
    )

    # When a token (a client-credentials one, say) has no uid
    claims = without(okta_claims(server, "x"), "uid")
    response = context_get(api, server.sign(claims), storefront.key)

    # Then it names no user
    assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


AUTH0_ISSUER = "https://shop-dev.eu.auth0.com/"
AUTH0_API = "https://api.shop.example"


def auth0_claims(server: JwksServer, subject: str, **claims: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sub": subject,
        "aud": [AUTH0_API, "https://shop-dev.eu.auth0.com/userinfo"],
        "azp": "dQw4w9WgXcQdQw4w9WgXcQ",
        "scope": "openid profile email",
    }
    values.update(claims)
    return server.claims(**values)


def test_auth0_token_with_an_audience_list(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given an Auth0 tenant (its issuer ends with a slash)
    server = jwks_servers(issuer=AUTH0_ISSUER)
    provider = provider_of(
        server, tenant=storefront.tenant, flavor=ProviderFlavor.AUTH0, audiences=[AUTH0_API]
    )

    # When a user presents tokens whose aud lists the API and userinfo
    subject = "auth0|64f1c2d3e4a5b6c7d8e9f0a1"
    first, second = (server.sign(auth0_claims(server, subject)) for _ in range(2))

    # Then the customer is (provider, sub)
    assert_signed_in_once(
        api, storefront, provider, first_token=first, second_token=second, subject=subject
    )


def test_auth0_issuer_without_its_trailing_slash_is_unknown(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given an Auth0 provider with the issuer as Auth0 writes it
    server = jwks_servers(issuer=AUTH0_ISSUER)
    provider_of(
        server, tenant=storefront.tenant, flavor=ProviderFlavor.AUTH0, audiences=[AUTH0_API]
    )

    # When a token's iss lacks the trailing slash
    claims = auth0_claims(server, "auth0|1", iss=AUTH0_ISSUER.rstrip("/"))
    response = context_get(api, server.sign(claims), storefront.key)

    # Then the issuer does not match
    assert_problem_code(response, errors.PROVIDER_UNKNOWN)
    assert_nobody_signed_in()


COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
COGNITO_CLIENT_ID = "1example23456789abcdefghij"


def cognito_access_claims(server: JwksServer, subject: str, **claims: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sub": subject,
        "token_use": "access",
        "client_id": COGNITO_CLIENT_ID,
        "scope": "aws.cognito.signin.user.admin openid",
        "auth_time": int(time.time()) - 30,
        "username": subject,
        "origin_jti": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
    }
    values.update(claims)
    return without(server.claims(**values), "aud")  # Cognito access tokens have no aud


def cognito_id_claims(server: JwksServer, subject: str, **claims: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sub": subject,
        "aud": COGNITO_CLIENT_ID,
        "token_use": "id",
        "email": "alice@example.com",
        "email_verified": True,
        "cognito:username": subject,
        "auth_time": int(time.time()) - 30,
    }
    values.update(claims)
    return server.claims(**values)


def cognito_provider(server: JwksServer, storefront: Storefront, **fields: Any) -> IdentityProvider:
    return provider_of(
        server,
        tenant=storefront.tenant,
        flavor=ProviderFlavor.COGNITO,
        audiences=[COGNITO_CLIENT_ID],
        **fields,
    )


def test_cognito_access_token_without_aud_is_checked_by_client_id(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given a Cognito user pool whose app client id is the accepted "audience"
    server = jwks_servers(issuer=COGNITO_ISSUER)
    provider = cognito_provider(server, storefront)

    # When a user presents two access tokens (no aud, token_use=access)
    subject = str(uuid.uuid4())
    first, second = (server.sign(cognito_access_claims(server, subject)) for _ in range(2))

    # Then the customer is (provider, sub)
    assert_signed_in_once(
        api, storefront, provider, first_token=first, second_token=second, subject=subject
    )


@pytest.mark.parametrize("client_id", ["another-app-client", "", None, 0], ids=repr)
def test_cognito_access_token_of_another_app_client_is_refused(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory, client_id: Any
) -> None:
    # Given a Cognito provider accepting one app client
    server = jwks_servers(issuer=COGNITO_ISSUER)
    cognito_provider(server, storefront)

    # When an access token was issued to another client
    claims = cognito_access_claims(server, "u", client_id=client_id)
    response = context_get(api, server.sign(claims), storefront.key)

    # Then it is refused
    assert_problem_code(response, errors.TOKEN_INVALID)
    assert_nobody_signed_in()


@pytest.mark.parametrize("refuse_id_tokens", [True, False], ids=["default", "id-tokens-allowed"])
def test_cognito_id_token_is_refused(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory, refuse_id_tokens: bool
) -> None:
    # Given a Cognito provider (even one set to accept ID tokens: Cognito's flavor needs access)
    server = jwks_servers(issuer=COGNITO_ISSUER)
    cognito_provider(server, storefront, refuse_id_tokens=refuse_id_tokens)

    # When the storefront sends the ID token (aud = client id, token_use=id)
    response = context_get(api, server.sign(cognito_id_claims(server, "u")), storefront.key)

    # Then it is refused as an ID token
    assert_problem_code(response, errors.ID_TOKEN_REFUSED)
    assert_nobody_signed_in()


KEYCLOAK_ISSUER = "https://sso.shop.example/realms/shop"


def keycloak_claims(server: JwksServer, subject: str, **claims: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "sub": subject,
        "typ": "Bearer",
        "azp": "storefront",
        "aud": ["storefront-api", "account"],
        "sid": str(uuid.uuid4()),
        "acr": "1",
        "scope": "openid email profile",
        "realm_access": {"roles": ["offline_access", "uma_authorization"]},
        "email_verified": True,
        "preferred_username": "alice",
        "email": "alice@example.com",
    }
    values.update(claims)
    return server.claims(**values)


def keycloak_provider(server: JwksServer, storefront: Storefront) -> IdentityProvider:
    return provider_of(
        server,
        tenant=storefront.tenant,
        flavor=ProviderFlavor.KEYCLOAK,
        audiences=["storefront-api"],
    )


def test_keycloak_access_token_with_typ_bearer(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given a Keycloak realm
    server = jwks_servers(issuer=KEYCLOAK_ISSUER)
    provider = keycloak_provider(server, storefront)

    # When a user presents two access tokens (typ "Bearer", azp the storefront's client)
    subject = str(uuid.uuid4())
    first, second = (server.sign(keycloak_claims(server, subject)) for _ in range(2))

    # Then the customer is (provider, sub), with the profile copied from the token
    customer = assert_signed_in_once(
        api, storefront, provider, first_token=first, second_token=second, subject=subject
    )
    assert (customer.email, customer.email_verified) == ("alice@example.com", True)


@pytest.mark.parametrize("typ", ["ID", "Refresh", "Offline", "bearer", None], ids=repr)
def test_keycloak_token_that_is_not_an_access_token_is_refused(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory, typ: Any
) -> None:
    # Given a Keycloak realm
    server = jwks_servers(issuer=KEYCLOAK_ISSUER)
    keycloak_provider(server, storefront)

    # When the token's typ is not "Bearer"
    claims = keycloak_claims(server, "u", typ=typ)
    response = context_get(api, server.sign(claims), storefront.key)

    # Then it is refused as not an access token
    assert_problem_code(response, errors.ID_TOKEN_REFUSED)
    assert_nobody_signed_in()


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
