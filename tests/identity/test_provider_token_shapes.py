"""Real token shapes. Part of the test_provider_tokens suite (see its docstring)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from identity import errors
from identity.models import IdentityProvider, ProviderFlavor
from tests.conftest import Storefront
from tests.identity.jwks_server import (
    JwksServer,
    assert_problem_code,
    context_get,
    provider_of,
)
from tests.identity.provider_tokens_common import (
    ServerFactory,
    assert_nobody_signed_in,
    assert_signed_in_once,
)
from tests.identity.tokens_helpers import without

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
