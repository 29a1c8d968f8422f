"""GET /customer/current.jwt: a short HS256 token, signed with a third-party app's own secret, that
tells the app which customer calls it; and the example app of docs/examples that trusts it.

Here: The token; The example app's verification. The other parts of the suite:
test_current_customer_jwt_refusals.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from types import ModuleType
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from identity.models import Customer, OAuthClientKind, OAuthClientSecret
from identity.oauth.clients import client_secret_rotate
from tests.conftest import Storefront
from tests.identity.current_customer_common import (
    LIFETIME_SECONDS,
    URL,
    current_jwt,
    kid_of,
    token_for,
    verify,
)
from tests.identity.oauth_helpers import (
    Client,
    make_client,
)

# --- The token ------------------------------------------------------------------------------


def test_a_signed_in_customer_gets_a_token_the_app_verifies_with_its_secret(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    customer: Customer,
    storefront: Storefront,
) -> None:
    # given Ada, signed in at the storefront, and the loyalty app of her shop
    before = int(time.time())

    # when the storefront asks for a current-customer token for the app
    answer = current_jwt(api, ada_headers, loyalty_app.client_id)

    # then it is plain text, never cached, and verifies with the app's own secret
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer["Cache-Control"] == "no-store"
    token = answer.content.decode()
    claims = verify(token, loyalty_app)
    assert claims == {
        "iss": settings.TOKEN_ISSUER,
        "aud": loyalty_app.client_id,
        "iat": claims["iat"],
        "exp": claims["iat"] + LIFETIME_SECONDS,
        "jti": claims["jti"],
        "operation": "current_customer",
        "tenant": "acme",
        "customer": {"id": str(customer.public_id), "email": "ada@example.com", "group": "vip"},
    }
    assert before <= claims["iat"] <= int(time.time())
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert jwt.get_unverified_header(token) == {
        "alg": "HS256",
        "kid": kid_of(loyalty_app.secret),
        "typ": "JWT",
    }
    assert storefront.tenant.slug == "acme"


def test_each_token_has_its_own_jti(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
) -> None:
    # given two tokens for the same customer and app
    first = verify(token_for(api, ada_headers, loyalty_app), loyalty_app)
    second = verify(token_for(api, ada_headers, loyalty_app), loyalty_app)

    # then they are told apart by jti
    assert first["jti"] != second["jti"]


@pytest.mark.parametrize("accept", ["text/plain", "application/json", "*/*"])
def test_any_accept_header_gets_the_plain_text_token(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    accept: str,
) -> None:
    # when the storefront sends this Accept header
    answer = current_jwt(api, ada_headers, loyalty_app.client_id, HTTP_ACCEPT=accept)

    # then the token, as text/plain
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    verify(answer.content.decode(), loyalty_app)


def test_during_a_rotation_the_old_secret_signs_until_its_overlap_ends(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    example: ModuleType,
) -> None:
    # given a token signed before the rotation
    old_token = token_for(api, ada_headers, loyalty_app)

    # when the operator rotates the app's secret with an hour of overlap
    new_secret = client_secret_rotate(client=loyalty_app.client, overlap=timedelta(hours=1))
    during = token_for(api, ada_headers, loyalty_app)

    # then the old secret keeps signing, so an app not yet given the new one still works
    assert jwt.get_unverified_header(during)["kid"] == kid_of(loyalty_app.secret)
    assert verify(during, loyalty_app, loyalty_app.secret)["operation"] == "current_customer"
    # and once the overlap has ended the new secret signs, and the old one no longer verifies
    OAuthClientSecret.objects.filter(client=loyalty_app.client).exclude(
        expires_at__isnull=True
    ).update(expires_at=timezone.now() - timedelta(seconds=1))
    after = token_for(api, ada_headers, loyalty_app)
    assert jwt.get_unverified_header(after)["kid"] == kid_of(new_secret)
    assert verify(after, loyalty_app, new_secret)["operation"] == "current_customer"
    with pytest.raises(jwt.InvalidSignatureError):
        verify(after, loyalty_app, loyalty_app.secret)
    # and an app holding both secrets accepts every one of these tokens
    both = [new_secret, loyalty_app.secret]
    for token in (old_token, during, after):
        claims = example.verify_current_customer_token(
            token,
            client_id=loyalty_app.client_id,
            client_secret=both,
            issuer=settings.TOKEN_ISSUER,
        )
        assert claims["operation"] == "current_customer"


def test_a_rotation_without_overlap_signs_with_the_new_secret_at_once(
    api: APIClient, ada_headers: dict[str, str], loyalty_app: Client
) -> None:
    # when the operator rotates a leaked secret with no overlap
    new_secret = client_secret_rotate(client=loyalty_app.client, overlap=timedelta(0))

    # then
    token = token_for(api, ada_headers, loyalty_app)
    assert jwt.get_unverified_header(token)["kid"] == kid_of(new_secret)
    assert verify(token, loyalty_app, new_secret)["operation"] == "current_customer"


def test_the_token_grants_nothing_at_this_api(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
) -> None:
    # given a current-customer token, which the storefront hands to an app
    token = token_for(api, ada_headers, loyalty_app)

    # when someone sends it to this API as a bearer
    answers = [
        api.get(
            "/commerceapi/authentication/customercontext", HTTP_AUTHORIZATION=f"Bearer {token}"
        ),
        api.get(
            URL, {"app_client_id": loyalty_app.client_id}, HTTP_AUTHORIZATION=f"Bearer {token}"
        ),
    ]

    # then it is refused: it is signed with the app's secret, not by the keyring
    for answer in answers:
        assert answer.status_code == 401, answer.content
        assert answer.json()["code"] == 2010


# --- The example app's verification ---------------------------------------------------------


def test_the_example_accepts_a_real_token(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    customer: Customer,
    example: ModuleType,
) -> None:
    # given a real current-customer token
    token = token_for(api, ada_headers, loyalty_app)

    # when the example app verifies it
    claims = example.verify_current_customer_token(
        token,
        client_id=loyalty_app.client_id,
        client_secret=loyalty_app.secret,
        issuer=settings.TOKEN_ISSUER,
    )

    # then it gets the same claims as PyJWT, naming Ada
    assert claims == verify(token, loyalty_app)
    assert claims["customer"]["id"] == str(customer.public_id)


def _forge(secret: str, *, algorithm: str = "HS256", **changes: Any) -> str:
    """A token like the API's, signed with ``secret``, with ``changes`` to its claims."""
    now = int(time.time())
    claims = {
        "iss": settings.TOKEN_ISSUER,
        "aud": "",
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": "forged-jti-0000000000",
        "operation": "current_customer",
        "tenant": "acme",
        "customer": {"id": "00000000-0000-0000-0000-000000000001", "email": "", "group": ""},
    }
    claims.update(changes)
    key = secret if algorithm != "none" else None
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid_of(secret)})


def _tampered(token: str) -> str:
    """The token with its payload rewritten to name another customer, signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["customer"]["id"] = "00000000-0000-0000-0000-000000000002"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{forged}.{signature}"


def _forge_without(secret: str, claim: str, **changes: Any) -> str:
    payload = jwt.decode(_forge(secret, **changes), options={"verify_signature": False})
    del payload[claim]
    return jwt.encode(payload, secret, algorithm="HS256", headers={"kid": kid_of(secret)})


@pytest.mark.parametrize(
    "case",
    [
        "another app's token",
        "another app's secret",
        "tampered payload",
        "expired",
        "alg none",
        "another operation",
        "another issuer",
        "no jti",
        "garbage",
    ],
)
def test_the_example_refuses_tokens_not_for_it(
    api: APIClient,
    ada_headers: dict[str, str],
    loyalty_app: Client,
    storefront: Storefront,
    example: ModuleType,
    case: str,
) -> None:
    # given a token that is not a valid current-customer token for the loyalty app
    other_app = make_client(storefront, OAuthClientKind.THIRD_PARTY_APP, name="Reviews")
    secret, aud, now = loyalty_app.secret, loyalty_app.client_id, int(time.time())
    token = {
        "another app's token": lambda: token_for(api, ada_headers, other_app),
        "another app's secret": lambda: _forge(other_app.secret, aud=aud),
        "tampered payload": lambda: _tampered(token_for(api, ada_headers, loyalty_app)),
        "expired": lambda: _forge(secret, aud=aud, iat=now - 3600, exp=now - 120),
        "alg none": lambda: _forge(secret, algorithm="none", aud=aud),
        "another operation": lambda: _forge(secret, aud=aud, operation="customer_profile"),
        "another issuer": lambda: _forge(secret, aud=aud, iss="https://evil.example"),
        "no jti": lambda: _forge_without(secret, "jti", aud=aud),
        "garbage": lambda: "not.a.jwt",
    }[case]()

    # when the example app verifies it, then it refuses it
    with pytest.raises(example.TokenRefused):
        example.verify_current_customer_token(
            token, client_id=aud, client_secret=secret, issuer=settings.TOKEN_ISSUER
        )
