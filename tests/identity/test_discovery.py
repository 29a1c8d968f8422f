"""What the API publishes about itself: the JWKS of its asymmetric signing keys, public halves
only, and the authorization server metadata (RFC 8414, also as openid-configuration)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from rest_framework.test import APIClient

from identity.credentials.encryption import secret_decrypt
from identity.credentials.keyring import signing_key_rotate
from identity.models import Customer, SigningKey, SigningKeyPurpose
from tests.identity.oauth_helpers import (
    Client,
    password_tokens,
)

JWKS_URL = "/.well-known/jwks.json"
METADATA_URLS = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
PUBLIC_DOCUMENT = "public, max-age=300"
# The members of each kind of public JWK (RFC 7518, RFC 8037), plus what we add.
PUBLIC_MEMBERS = {
    "RS256": {"kty", "n", "e"},
    "ES256": {"kty", "crv", "x", "y"},
    "EdDSA": {"kty", "crv", "x"},
}
OUR_MEMBERS = {"kid", "alg", "use"}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
GRANTS = [
    "client_credentials",
    "password",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
]


def jwks_get(api: APIClient) -> dict[str, Any]:
    answer = api.get(JWKS_URL)
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/json"
    assert answer["Cache-Control"] == PUBLIC_DOCUMENT
    body: dict[str, Any] = answer.json()
    return body


# --- JWKS -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_default_keyring_publishes_its_es256_access_key_and_no_hmac_key(
    api: APIClient,
) -> None:
    # given the default keyring: an ES256 access key, HS256 anonymous, context and reseller keys
    assert dict(SigningKey.objects.values_list("purpose", "algorithm")) == {
        "access": "ES256",
        "anonymous": "HS256",
        "context": "HS256",
        "reseller": "HS256",
    }
    access = SigningKey.objects.get(purpose=SigningKeyPurpose.ACCESS)

    # when a verifier fetches the key set
    body = jwks_get(api)

    # then it holds the access key's public half, and no HMAC key (those are secrets)
    assert [(jwk["kid"], jwk["alg"], jwk["kty"]) for jwk in body["keys"]] == [
        (access.kid, "ES256", "EC")
    ]
    assert set(body["keys"][0]) == PUBLIC_MEMBERS["ES256"] | OUR_MEMBERS


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_an_asymmetric_key_is_published_without_its_private_parts(
    api: APIClient, algorithm: str
) -> None:
    # given access tokens signed by a new asymmetric key
    key = signing_key_rotate(purpose=SigningKeyPurpose.ACCESS, algorithm=algorithm)

    # when a verifier fetches the key set
    body = jwks_get(api)

    # then the key's public half is there, named by kid, and nothing private
    published = {jwk["kid"]: jwk for jwk in body["keys"]}
    assert key.kid in published
    jwk = published[key.kid]
    assert set(jwk) == PUBLIC_MEMBERS[algorithm] | OUR_MEMBERS
    assert not set(jwk) & PRIVATE_MEMBERS
    assert jwk.get("key_ops", ["verify"]) == ["verify"]
    assert (jwk["alg"], jwk["use"]) == (algorithm, "sig")
    assert jwk["kty"] == {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}[algorithm]
    # and it is the public key of the stored private one
    material = secret_decrypt(key.encrypted_secret)
    private_key = jwt.get_algorithm_by_name(algorithm).prepare_key(material)
    published = jwt.PyJWK(jwk).key
    assert public_pem(published) == public_pem(private_key.public_key())


def public_pem(key: Any) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.django_db
def test_during_a_rotation_both_keys_are_listed(api: APIClient) -> None:
    # given the first ES256 key, then an RS256 key rotated in after it, then another
    default = SigningKey.objects.get(purpose=SigningKeyPurpose.ACCESS)
    first = signing_key_rotate(purpose=SigningKeyPurpose.ACCESS, algorithm="RS256")
    second = signing_key_rotate(purpose=SigningKeyPurpose.ACCESS, algorithm="RS256")

    # when a verifier fetches the key set
    body = jwks_get(api)

    # then every kid that still verifies is listed, so tokens of each verify
    assert sorted(jwk["kid"] for jwk in body["keys"]) == sorted(
        [default.kid, first.kid, second.kid]
    )
    assert sorted(jwk["alg"] for jwk in body["keys"]) == ["ES256", "RS256", "RS256"]


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_a_token_minted_after_rotation_verifies_with_the_published_key(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    algorithm: str,
) -> None:
    # given access tokens signed by a new asymmetric key
    key = signing_key_rotate(purpose=SigningKeyPurpose.ACCESS, algorithm=algorithm)

    # when a customer signs in, and a third party fetches our key set
    access_token = password_tokens(api, sales_channel)["access_token"]
    keys = {jwk["kid"]: jwk for jwk in jwks_get(api)["keys"]}

    # then the token names the new key, and verifies with its published half alone
    header = jwt.get_unverified_header(access_token)
    assert (header["kid"], header["alg"]) == (key.kid, algorithm)
    published = jwt.PyJWK(keys[header["kid"]])
    claims = jwt.decode(
        access_token,
        published.key,
        algorithms=[algorithm],
        audience=settings.TOKEN_AUDIENCE,
        issuer=settings.TOKEN_ISSUER,
        options={"require": ["exp", "iat", "sub"]},
    )
    assert claims["sub"] == str(customer.public_id)


def test_a_third_party_verifies_our_token_with_pyjwkclient_over_http(
    live_server: Any,
    settings: Any,
    sales_channel: Client,
    customer: Customer,
) -> None:
    # given the default keyring (ES256 access keys), and the API serving on loopback there
    settings.TOKEN_ISSUER = settings.PUBLIC_BASE_URL = live_server.url
    api = APIClient()
    access_token = password_tokens(api, sales_channel)["access_token"]

    # when a third party finds the key set from the metadata and fetches it over HTTP
    metadata = api.get(METADATA_URLS[0]).json()
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(access_token)

    # then the token verifies with it
    claims = jwt.decode(
        access_token,
        signing_key.key,
        algorithms=["ES256"],
        audience=settings.TOKEN_AUDIENCE,
        issuer=settings.TOKEN_ISSUER,
    )
    assert claims["sub"] == str(customer.public_id)


# --- Metadata -------------------------------------------------------------------------------


def metadata_for(base_url: str) -> dict[str, Any]:
    return {
        "issuer": settings.TOKEN_ISSUER,
        "token_endpoint": f"{base_url}/oauth/token",
        "revocation_endpoint": f"{base_url}/oauth/revoke",
        "introspection_endpoint": f"{base_url}/oauth/introspect",
        "jwks_uri": f"{base_url}/.well-known/jwks.json",
        "grant_types_supported": GRANTS,
        "response_types_supported": ["none"],
        "scopes_supported": [
            "catalog:read",
            "cart:read",
            "cart:write",
            "customer:read",
            "customers:create",
            "orders:read",
            "orders:write",
            "reseller:orders:read",
            "reseller:orders:write",
        ],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "token_exchange_subject_token_types_supported": [
            "urn:ietf:params:oauth:token-type:access_token",
            "urn:ietf:params:oauth:token-type:jwt",
            "urn:commerceapi:params:oauth:token-type:customer-id",
        ],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("url", METADATA_URLS)
def test_metadata_names_the_issuer_and_absolute_endpoints(api: APIClient, url: str) -> None:
    # when a client reads the metadata (in development the issuer is the served address)
    answer = api.get(url)

    # then the whole document, public and cacheable, at the issuer's address
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == PUBLIC_DOCUMENT
    assert settings.TOKEN_ISSUER == settings.PUBLIC_BASE_URL == "http://127.0.0.1:8000"
    assert answer.json() == metadata_for(settings.TOKEN_ISSUER)


@pytest.mark.django_db
@pytest.mark.parametrize("url", METADATA_URLS)
def test_the_metadata_names_the_public_address_whatever_the_host(
    api: APIClient, settings: Any, url: str
) -> None:
    # given the API behind a proxy at its public address
    settings.PUBLIC_BASE_URL = "https://api.example.com"
    settings.TOKEN_ISSUER = "https://api.example.com"

    # when a client reads the metadata, whatever Host it sent
    answer = api.get(url, HTTP_HOST="localhost:8000")

    # then every endpoint is under the public address, and the issuer is the tokens' iss
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body == metadata_for("https://api.example.com")
    assert body["issuer"] == "https://api.example.com"


@pytest.mark.django_db
def test_every_advertised_endpoint_answers(api: APIClient) -> None:
    # given the metadata
    body = api.get(METADATA_URLS[0]).json()
    origin = settings.PUBLIC_BASE_URL

    # when each advertised endpoint is called the way it is meant to be (and without
    # credentials)
    answers = {
        name: (
            api.get(body[name].removeprefix(origin))
            if name == "jwks_uri"
            else api.post(
                body[name].removeprefix(origin),
                "",
                content_type="application/x-www-form-urlencoded",
            )
        )
        for name in ("token_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri")
    }

    # then each one is there: it answers, if only to say what is missing
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert all(status not in (404, 405) for status in statuses.values()), statuses
    assert statuses["jwks_uri"] == 200
    assert all(body[name].startswith(origin + "/") for name in answers)
