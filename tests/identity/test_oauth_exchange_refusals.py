"""Invalid subject tokens; Clients and parameters. Part of the test_oauth_exchange suite, whose
docstring says what it covers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.customers.accounts import local_account_create
from identity.customers.customers import customer_set_active
from identity.models import Customer, OAuthClientKind
from tests.conftest import Storefront, tables_snapshot
from tests.identity.oauth_exchange_common import (
    ACCESS_TOKEN_TYPE,
    CUSTOMER_ID_TYPE,
    EXCHANGE,
    JWT_TOKEN_TYPE,
    NOT_A_CUSTOMER_TOKEN,
    SUBJECT_INVALID,
    assert_oauth_error,
    claims_of,
    customer_claims,
    exchange,
    exchanged,
)
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    make_client,
    oauth_post,
    password_tokens,
    token_request,
)
from tests.identity.oauth_token_attacks_common import access_sign
from tests.identity.tokens_helpers import real_key

# --- Invalid subject tokens -----------------------------------------------------------------------


@dataclass
class World:
    api: APIClient
    storefront: Storefront
    other_storefront: Storefront
    sales_channel: Client
    integration: Client
    customer: Customer
    capture_on_commit: Callable[..., Any]


def _garbage(world: World) -> str:
    return "not-a-token"


def _expired(world: World) -> str:
    now = int(time.time())
    return access_sign(
        customer_claims(
            world.storefront, world.customer, world.sales_channel, iat=now - 1000, exp=now - 100
        )
    )


def _wrong_key(world: World) -> str:
    claims = customer_claims(world.storefront, world.customer, world.sales_channel)
    headers = {"kid": real_key("access").kid, "typ": "at+jwt"}
    return jwt.encode(claims, "an entirely different secret, 32+ bytes", "HS256", headers)


def _alg_none(world: World) -> str:
    claims = customer_claims(world.storefront, world.customer, world.sales_channel)
    headers = {"kid": real_key("access").kid, "typ": "at+jwt"}
    return jwt.encode(claims, "", algorithm="none", headers=headers)


def _edited(world: World) -> str:
    token = password_tokens(world.api, world.sales_channel)["access_token"]
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["sub"] = str(uuid.uuid4())
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{forged_payload}.{signature}"


def _anonymous(world: World) -> str:
    answer = world.api.post(
        "/commerceapi/authentication/", None, format="json", HTTP_X_AUTH_KEY=world.storefront.key
    )
    return str(answer.json()["accessToken"])


def _guest(world: World) -> str:
    answer = token_request(
        world.api, grant_type="client_credentials", client_id=world.sales_channel.client_id
    )
    return str(answer.json()["access_token"])


def _client_token(world: World) -> str:
    answer = token_request(world.api, world.integration.basic(), grant_type="client_credentials")
    return str(answer.json()["access_token"])


def _refresh_token(world: World) -> str:
    return str(password_tokens(world.api, world.sales_channel)["refresh_token"])


def _customer_context(world: World) -> str:
    token = password_tokens(world.api, world.sales_channel)["access_token"]
    return customer_headers(world.api, token)["HTTP_X_CUSTOMER_CONTEXT"]


def _other_tenant(world: World) -> str:
    shop = make_client(world.other_storefront, name="Globex shop")
    local_account_create(
        tenant=world.other_storefront.tenant, email="bob@example.com", password="x9 long phrase!"
    )
    return str(
        password_tokens(world.api, shop, "bob@example.com", "x9 long phrase!")["access_token"]
    )


def _revoked(world: World) -> str:
    token = password_tokens(world.api, world.sales_channel)["access_token"]
    with world.capture_on_commit(execute=True):
        revoked = oauth_post(
            world.api, "/oauth/revoke", client_id=world.sales_channel.client_id, token=token
        )
    assert revoked.status_code == 200
    return str(token)


def _deactivated_customer(world: World) -> str:
    token = password_tokens(world.api, world.sales_channel)["access_token"]
    with world.capture_on_commit(execute=True):
        customer_set_active(customer=world.customer, is_active=False)
    return str(token)


def _unknown_issuer(world: World) -> str:
    claims = customer_claims(world.storefront, world.customer, world.sales_channel)
    claims["iss"] = "https://login.unknown.example/"
    return jwt.encode(claims, "an entirely different secret, 32+ bytes", "HS256")


@pytest.mark.parametrize(
    ("make_subject", "description"),
    [
        pytest.param(_garbage, SUBJECT_INVALID, id="garbage"),
        pytest.param(_expired, SUBJECT_INVALID, id="expired"),
        pytest.param(_wrong_key, SUBJECT_INVALID, id="signed with a wrong key"),
        pytest.param(_alg_none, SUBJECT_INVALID, id="alg none"),
        pytest.param(_edited, SUBJECT_INVALID, id="edited payload"),
        pytest.param(_anonymous, NOT_A_CUSTOMER_TOKEN, id="anonymous token"),
        pytest.param(_guest, NOT_A_CUSTOMER_TOKEN, id="guest token of the sales channel"),
        pytest.param(_client_token, NOT_A_CUSTOMER_TOKEN, id="client token"),
        pytest.param(_refresh_token, SUBJECT_INVALID, id="refresh token"),
        pytest.param(_customer_context, SUBJECT_INVALID, id="customer context"),
        pytest.param(_other_tenant, SUBJECT_INVALID, id="customer token of another tenant"),
        pytest.param(_revoked, SUBJECT_INVALID, id="revoked"),
        pytest.param(_deactivated_customer, SUBJECT_INVALID, id="deactivated customer"),
        pytest.param(_unknown_issuer, SUBJECT_INVALID, id="unknown issuer"),
    ],
)
def test_invalid_subject_token_is_invalid_grant(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: Callable[..., Any],
    make_subject: Callable[[World], str],
    description: str,
) -> None:
    # given a subject token that does not prove a customer of the tenant
    world = World(
        api,
        storefront,
        other_storefront,
        sales_channel,
        integration,
        customer,
        django_capture_on_commit_callbacks,
    )
    subject = make_subject(world)
    before = tables_snapshot()

    # when the ERP exchanges it
    answer = exchange(api, integration, subject)

    # then invalid_grant (never a 5xx), and nothing changed
    assert_oauth_error(answer, 400, "invalid_grant", description)
    assert tables_snapshot() == before


def test_hand_signed_subject_token_is_accepted_when_honest(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
) -> None:
    """The forged subject tokens above differ from this one only in what they forge."""
    # given a customer token signed by hand with the real key, as the API signs one
    honest = access_sign(customer_claims(storefront, customer, sales_channel))

    # when the ERP exchanges it
    body = exchanged(api, integration, honest)

    # then it is accepted, with the subject's scope
    assert body["scope"] == "cart:read"
    assert claims_of(body["access_token"])["sub"] == str(customer.public_id)


# --- Clients and parameters -------------------------------------------------------------------


def test_sales_channel_may_not_exchange_tokens(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # given a customer token of the web shop
    subject = password_tokens(api, sales_channel)["access_token"]

    # when the public web shop client asks for an exchange
    answer = token_request(
        api,
        grant_type=EXCHANGE,
        client_id=sales_channel.client_id,
        subject_token=subject,
        subject_token_type=ACCESS_TOKEN_TYPE,
    )

    # then unauthorized_client
    assert_oauth_error(
        answer, 400, "unauthorized_client", f"The client may not use the {EXCHANGE} grant."
    )


def test_sales_channel_with_a_made_up_secret_is_invalid_client(
    api: APIClient, sales_channel: Client, customer: Customer
) -> None:
    # when the public client sends a secret it does not have
    subject = password_tokens(api, sales_channel)["access_token"]
    answer = token_request(
        api,
        grant_type=EXCHANGE,
        client_id=sales_channel.client_id,
        client_secret="cs_madeup",
        subject_token=subject,
        subject_token_type=ACCESS_TOKEN_TYPE,
    )

    # then invalid_client with the Basic challenge
    assert_oauth_error(answer, 401, "invalid_client", "Client authentication failed.")
    assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'


def test_confidential_client_without_the_grant_is_unauthorized_client(
    api: APIClient, storefront: Storefront, sales_channel: Client, customer: Customer
) -> None:
    # given an integration with the default grants (client_credentials only)
    plain = make_client(storefront, OAuthClientKind.INTEGRATION)
    subject = password_tokens(api, sales_channel)["access_token"]

    # when it asks for an exchange
    answer = exchange(api, plain, subject)

    # then unauthorized_client
    assert_oauth_error(
        answer, 400, "unauthorized_client", f"The client may not use the {EXCHANGE} grant."
    )


def test_confidential_client_with_a_wrong_secret_is_invalid_client(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # when the ERP sends a wrong secret
    subject = password_tokens(api, sales_channel)["access_token"]
    impostor = Client(client=integration.client, secret=integration.secret[:-2] + "xx")
    answer = exchange(api, impostor, subject)

    # then invalid_client
    assert_oauth_error(answer, 401, "invalid_client", "Client authentication failed.")
    assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'


@pytest.mark.parametrize(
    ("form", "status", "error", "description"),
    [
        pytest.param(
            {"actor_token": "anything", "actor_token_type": ACCESS_TOKEN_TYPE},
            400,
            "invalid_request",
            "The authenticated client is the actor; actor_token is not taken.",
            id="actor_token",
        ),
        pytest.param(
            {"audience": "https://other-api.example"},
            400,
            "invalid_target",
            "Unknown audience.",
            id="another audience",
        ),
        pytest.param(
            {"resource": "https://other-api.example/"},
            400,
            "invalid_target",
            "Unknown resource.",
            id="another resource",
        ),
        pytest.param(
            {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
            400,
            "invalid_request",
            "Only access tokens are issued.",
            id="refresh token requested",
        ),
        pytest.param(
            {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
            400,
            "invalid_request",
            f"subject_token_type must be one of {(ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, CUSTOMER_ID_TYPE)}.",  # noqa: E501
            id="id_token subject type",
        ),
        pytest.param(
            {"subject_token_type": ""},
            400,
            "invalid_request",
            "The subject_token_type parameter is required.",
            id="no subject type",
        ),
        pytest.param(
            {"subject_token": ""},
            400,
            "invalid_request",
            "The subject_token parameter is required.",
            id="no subject token",
        ),
    ],
)
def test_refused_parameters(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    form: dict[str, str],
    status: int,
    error: str,
    description: str,
) -> None:
    # given a customer token that exchanges fine on its own
    subject = password_tokens(api, sales_channel)["access_token"]
    assert exchange(api, integration, subject).status_code == 200

    # when the exchange also sends a parameter the token service does not take
    answer = token_request(
        api,
        integration.basic(),
        **{
            "grant_type": EXCHANGE,
            "subject_token": subject,
            "subject_token_type": ACCESS_TOKEN_TYPE,
            **form,
        },
    )

    # then it is refused with the named error
    assert_oauth_error(answer, status, error, description)


def test_our_own_audience_is_accepted(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> None:
    # when the ERP names the API's own audience and access tokens explicitly
    subject = password_tokens(api, sales_channel)["access_token"]
    answer = exchange(
        api,
        integration,
        subject,
        audience=settings.TOKEN_AUDIENCE,
        requested_token_type=ACCESS_TOKEN_TYPE,
    )

    # then the exchange succeeds, for that audience
    assert answer.status_code == 200, answer.content
    assert claims_of(answer.json()["access_token"])["aud"] == settings.TOKEN_AUDIENCE
