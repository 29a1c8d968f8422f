"""Standard clients, unmodified: Authlib validates our RFC 8414 metadata served over HTTP, and
Authlib's and PyJWT's validators take our customer tokens in their very first second (integer
NumericDates, RFC 7519), verified with the public keys of /.well-known/jwks.json alone. Every
token we mint has integer ``iat``/``exp``/``nbf``; sign-out everywhere still tells apart two
tokens of the same second (``iat_ms``)."""

from __future__ import annotations

import json
import math
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from identity.customers.accounts import customer_sign_out_everywhere
from identity.models import Customer
from tests.conftest import Storefront, anonymous_shopper
from tests.identity.current_customer_common import token_for
from tests.identity.oauth_helpers import (
    Client,
    client_token_request,
    context_for,
    customer_headers,
    password_tokens,
)
from tests.identity.tokens_helpers import CART_URL, clock_at, segments

WELL_KNOWN = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
NUMERIC_DATES = ("iat", "exp", "nbf")


def fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        document: dict[str, Any] = json.load(response)
    return document


@pytest.fixture
def served(live_server: Any, settings: Any) -> str:
    """The API serving on loopback, its issuer the served address (as in development)."""
    settings.TOKEN_ISSUER = settings.PUBLIC_BASE_URL = live_server.url
    return str(live_server.url)


# --- RFC 8414 metadata ------------------------------------------------------------------------


@pytest.mark.parametrize("path", WELL_KNOWN)
def test_authlib_validates_the_metadata_served_over_http(served: str, path: str) -> None:
    # when a client fetches the metadata from the issuer's well-known address
    document = fetch_json(served + path)

    # then Authlib's RFC 8414 validation passes, and the issuer is the address it came from
    AuthorizationServerMetadata(document).validate()
    assert document["issuer"] == served
    assert document["token_endpoint"] == f"{served}/oauth/token"
    assert document["jwks_uri"] == f"{served}/.well-known/jwks.json"


def test_authlib_refuses_metadata_whose_issuer_is_no_url() -> None:
    # the validation above is not a formality: the issuer we had before is refused by it
    with pytest.raises(ValueError, match="issuer"):
        AuthorizationServerMetadata(
            {"issuer": "commerceapi", "response_types_supported": ["none"]}
        ).validate_issuer()


# --- Our customer tokens in their first second ------------------------------------------------


def _frozen_datetime(moment: float) -> type[datetime]:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.fromtimestamp(moment, tz)

    return Frozen


def test_authlib_and_pyjwt_take_a_customer_token_in_its_first_second(
    served: str,
    sales_channel: Client,
    customer: Customer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a customer token, half a second into a second, and the published key set
    moment = math.floor(datetime.now(UTC).timestamp()) + 0.5
    with clock_at(datetime.fromtimestamp(moment, UTC)):
        access_token = password_tokens(APIClient(), sales_channel)["access_token"]
    jwks = fetch_json(fetch_json(served + WELL_KNOWN[0])["jwks_uri"])
    header, unverified, _ = segments(access_token)
    assert header["alg"] == "ES256"
    assert all(type(unverified[name]) is int for name in NUMERIC_DATES if name in unverified)
    assert unverified["iat"] == math.floor(moment)

    # when Authlib verifies it with the published keys at that very moment (its clock in
    # whole seconds)
    claims = authlib_jwt.decode(
        access_token,
        JsonWebKey.import_key_set(jwks),
        claims_options={
            "iss": {"essential": True, "value": served},
            "aud": {"essential": True, "value": settings.TOKEN_AUDIENCE},
            "exp": {"essential": True},
            "iat": {"essential": True},
        },
    )
    claims.validate(now=math.floor(moment), leeway=0)

    # and PyJWT, its clock frozen at the same moment, without leeway
    monkeypatch.setattr(jwt.api_jwt, "datetime", _frozen_datetime(moment))
    signing_key = jwt.PyJWKClient(f"{served}/.well-known/jwks.json").get_signing_key_from_jwt(
        access_token
    )
    verified = jwt.decode(
        access_token,
        signing_key.key,
        algorithms=["ES256"],
        audience=settings.TOKEN_AUDIENCE,
        issuer=served,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )

    # then both take it, and say the same customer
    assert claims["sub"] == verified["sub"] == str(customer.public_id)


def test_a_fractional_iat_is_what_authlib_refused() -> None:
    # the first-second check above would fail with the fractional iat we wrote before
    claims = authlib_jwt.decode(
        authlib_jwt.encode({"alg": "HS256"}, {"iat": 100.5}, "k" * 32), "k" * 32
    )
    with pytest.raises(Exception, match="issued in the future"):
        claims.validate(now=100, leeway=0)


# --- Every kind we mint -----------------------------------------------------------------------


MINTED: dict[str, Callable[..., str]] = {
    "anonymous": lambda api, s, **_: anonymous_shopper(api, s.key).token,
    "anonymous context": lambda api, s, **_: anonymous_shopper(api, s.key).context,
    "guest": lambda api, s, sales_channel, **_: client_token_request(
        api, sales_channel, grant_type="client_credentials"
    ).json()["access_token"],
    "customer": lambda api, s, sales_channel, **_: password_tokens(api, sales_channel)[
        "access_token"
    ],
    "customer context": lambda api, s, sales_channel, **_: context_for(
        api, password_tokens(api, sales_channel)["access_token"]
    ),
    "client": lambda api, s, integration, **_: client_token_request(
        api, integration, grant_type="client_credentials"
    ).json()["access_token"],
    "current customer": lambda api, s, sales_channel, loyalty_app, **_: token_for(
        api, customer_headers(api, password_tokens(api, sales_channel)["access_token"]), loyalty_app
    ),
}


@pytest.mark.parametrize("kind", list(MINTED))
def test_every_token_we_mint_has_integer_numeric_dates(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    loyalty_app: Client,
    customer: Customer,
    kind: str,
) -> None:
    # when a token of this kind is minted half a second into a second
    moment = datetime.fromtimestamp(math.floor(datetime.now(UTC).timestamp()) + 0.5, UTC)
    with clock_at(moment):
        token = MINTED[kind](
            api,
            storefront,
            sales_channel=sales_channel,
            integration=integration,
            loyalty_app=loyalty_app,
        )

    # then its NumericDates are integers (RFC 7519), none in the future of the second
    _, claims, _ = segments(token)
    dates = {name: claims[name] for name in NUMERIC_DATES if name in claims}
    assert {"iat", "exp"} <= set(dates)
    assert all(type(value) is int for value in dates.values()), dates
    assert claims["iat"] <= math.ceil(moment.timestamp())


# --- Sign-out everywhere within one second ----------------------------------------------------


def test_sign_in_after_sign_out_in_the_same_second_works_and_the_token_before_does_not(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given one second: a token at .100, sign-out everywhere at .200, a sign-in at .300
    second = datetime.fromtimestamp(math.floor(datetime.now(UTC).timestamp()), UTC)
    at = {"now": second}
    monkeypatch.setattr(timezone, "now", lambda: at["now"])

    def at_millisecond(milliseconds: int) -> datetime:
        at["now"] = second + timedelta(milliseconds=milliseconds)
        return at["now"]

    with clock_at(at_millisecond(100)):
        before = password_tokens(api, sales_channel)["access_token"]
    before_headers = customer_headers(api, before)
    at_millisecond(200)
    with django_capture_on_commit_callbacks(execute=True):
        customer_sign_out_everywhere(customer=customer)
    with clock_at(at_millisecond(300)):
        after = password_tokens(api, sales_channel)["access_token"]

    # then both carry the same integer iat, and only the token after the sign-out works
    assert segments(before)[1]["iat"] == segments(after)[1]["iat"] == int(second.timestamp())
    assert segments(after)[1]["iat_ms"] - segments(before)[1]["iat_ms"] == 200
    assert api.get(CART_URL, **customer_headers(api, after)).status_code == 200
    refused = api.get(CART_URL, **before_headers)
    assert (refused.status_code, refused.json()["code"]) == (401, 2012)
