"""Client authentication. Part of the test_oauth_token suite (see its docstring)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from rest_framework.test import APIClient

from identity.models import (
    GrantType,
)
from identity.oauth.clients import client_set_active
from tests.identity.oauth_helpers import (
    EMAIL,
    FORM,
    PASSWORD,
    Client,
    client_token_request,
    token_request,
)
from tests.identity.oauth_token_common import (
    CLIENT_AUTHENTICATION_FAILED,
    TOKEN_URL,
    assert_no_store,
    assert_oauth_error,
    basic,
    claims_of,
    token_state,
)

# --- Client authentication --------------------------------------------------------------------


def test_client_secret_basic_authenticates_a_confidential_client(
    api: APIClient, integration: Client
) -> None:
    # when
    answer = token_request(api, integration.basic(), grant_type="client_credentials")

    # then
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    assert claims_of(answer.json()["access_token"])["sub"] == integration.client_id


def test_client_secret_post_authenticates_a_confidential_client(
    api: APIClient, integration: Client
) -> None:
    # when
    answer = token_request(
        api,
        grant_type="client_credentials",
        client_id=integration.client_id,
        client_secret=integration.secret,
    )

    # then
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    assert claims_of(answer.json()["access_token"])["sub"] == integration.client_id


def test_both_basic_and_form_secret_at_once_is_invalid_request(
    api: APIClient, integration: Client
) -> None:
    # when the secret comes both ways
    answer = token_request(
        api,
        integration.basic(),
        grant_type="client_credentials",
        client_id=integration.client_id,
        client_secret=integration.secret,
    )

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_request",
            "error_description": "Send the client's credentials one way: header or form.",
        },
    )


def _wrong_secret(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api, basic(integration.client_id, integration.secret + "x"), grant_type="client_credentials"
    )


def _secret_of_another_form(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    # The right shape (cs_<prefix>_<secret>) and the client's own prefix, another secret.
    kind, prefix, _ = integration.secret.split("_", 2)
    forged = f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    return token_request(api, basic(integration.client_id, forged), grant_type="client_credentials")


def _unknown_client_id(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api,
        basic("ci_" + secrets.token_hex(10), integration.secret),
        grant_type="client_credentials",
    )


def _unknown_public_client_id(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(api, grant_type="client_credentials", client_id="ci_" + "0" * 20)


def _malformed_basic(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api, {"HTTP_AUTHORIZATION": "Basic !!not-base64!!"}, grant_type="client_credentials"
    )


def _basic_without_colon(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    encoded = base64.b64encode(integration.client_id.encode()).decode()
    return token_request(
        api, {"HTTP_AUTHORIZATION": f"Basic {encoded}"}, grant_type="client_credentials"
    )


def _other_scheme(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api, {"HTTP_AUTHORIZATION": f"Bearer {integration.secret}"}, grant_type="client_credentials"
    )


def _secret_missing(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(api, grant_type="client_credentials", client_id=integration.client_id)


def _empty_basic_secret(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(api, basic(integration.client_id, ""), grant_type="client_credentials")


def _no_client_at_all(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(api, grant_type="client_credentials")


def _public_client_sends_a_secret(
    api: APIClient, integration: Client, sales_channel: Client
) -> Any:
    return token_request(
        api,
        grant_type="client_credentials",
        client_id=sales_channel.client_id,
        client_secret=integration.secret,
    )


def _public_client_by_basic(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    return token_request(
        api, basic(sales_channel.client_id, "anything"), grant_type="client_credentials"
    )


def _inactive_client(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    client_set_active(client=integration.client, is_active=False)
    return token_request(api, integration.basic(), grant_type="client_credentials")


def _inactive_public_client(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    client_set_active(client=sales_channel.client, is_active=False)
    return token_request(api, grant_type="client_credentials", client_id=sales_channel.client_id)


def _inactive_tenant(api: APIClient, integration: Client, sales_channel: Client) -> Any:
    tenant = integration.client.tenant
    tenant.is_active = False
    tenant.save()
    return token_request(api, integration.basic(), grant_type="client_credentials")


@pytest.mark.parametrize(
    "attempt",
    [
        pytest.param(_wrong_secret, id="wrong secret"),
        pytest.param(_secret_of_another_form, id="right prefix, wrong secret"),
        pytest.param(_unknown_client_id, id="unknown client_id"),
        pytest.param(_unknown_public_client_id, id="unknown client_id without secret"),
        pytest.param(_malformed_basic, id="malformed Basic header"),
        pytest.param(_basic_without_colon, id="Basic header without colon"),
        pytest.param(_other_scheme, id="Authorization scheme other than Basic"),
        pytest.param(_secret_missing, id="confidential client without its secret"),
        pytest.param(_empty_basic_secret, id="empty secret in Basic"),
        pytest.param(_no_client_at_all, id="no client at all"),
        pytest.param(_public_client_sends_a_secret, id="public client sends a secret"),
        pytest.param(_public_client_by_basic, id="public client by Basic"),
        pytest.param(_inactive_client, id="inactive client"),
        pytest.param(_inactive_public_client, id="inactive public client"),
        pytest.param(_inactive_tenant, id="inactive tenant"),
    ],
)
def test_failed_client_authentication_is_401_invalid_client(
    api: APIClient, integration: Client, sales_channel: Client, attempt: Any
) -> None:
    # when
    answer = attempt(api, integration, sales_channel)

    # then nothing is issued and the answer says only that the client failed
    assert_oauth_error(answer, 401, CLIENT_AUTHENTICATION_FAILED)


def test_a_refused_client_leaves_the_tables_as_they_were(
    api: APIClient, integration: Client, customer: Any
) -> None:
    # given
    before = token_state()

    # when
    answer = token_request(
        api,
        basic(integration.client_id, "wrong"),
        grant_type="password",
        username=EMAIL,
        password=PASSWORD,
    )

    # then
    assert_oauth_error(answer, 401, CLIENT_AUTHENTICATION_FAILED)
    assert token_state() == before


def test_a_json_body_is_invalid_request(api: APIClient, sales_channel: Client) -> None:
    # when the parameters come as JSON
    answer = api.post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": sales_channel.client_id},
        format="json",
    )

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "invalid_request",
            "error_description": "Send the parameters as application/x-www-form-urlencoded.",
        },
    )


def test_a_repeated_parameter_is_invalid_request(api: APIClient, sales_channel: Client) -> None:
    # when grant_type comes twice
    body = (
        f"grant_type=client_credentials&grant_type=client_credentials"
        f"&client_id={sales_channel.client_id}"
    )
    answer = api.post(TOKEN_URL, body, content_type=FORM)

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_request", "error_description": "The grant_type parameter is repeated."},
    )


@pytest.mark.parametrize("grant_type", [None, ""], ids=["absent", "empty"])
def test_a_missing_grant_type_is_invalid_request(
    api: APIClient, sales_channel: Client, grant_type: str | None
) -> None:
    # given
    form = {"client_id": sales_channel.client_id}
    if grant_type is not None:
        form["grant_type"] = grant_type

    # when
    answer = token_request(api, **form)

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_request", "error_description": "The grant_type parameter is required."},
    )


@pytest.mark.parametrize("grant_type", ["authorization_code", "implicit", "PASSWORD", "x" * 300])
def test_an_unknown_grant_type_is_unsupported_grant_type(
    api: APIClient, sales_channel: Client, grant_type: str
) -> None:
    # when
    answer = token_request(api, grant_type=grant_type, client_id=sales_channel.client_id)

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "unsupported_grant_type", "error_description": "Unknown grant_type."},
    )


@pytest.mark.parametrize(
    ("fixture", "grant_type", "form"),
    [
        pytest.param("loyalty_app", "password", {"username": EMAIL, "password": PASSWORD}),
        pytest.param("loyalty_app", "refresh_token", {"refresh_token": "rt_x"}),
        pytest.param(
            "sales_channel",
            GrantType.TOKEN_EXCHANGE.value,
            {"subject_token": "x", "subject_token_type": "urn:x"},
        ),
    ],
)
def test_a_grant_not_allowed_for_the_client_is_unauthorized_client(
    api: APIClient,
    request: pytest.FixtureRequest,
    customer: Any,
    fixture: str,
    grant_type: str,
    form: dict[str, str],
) -> None:
    # given a client without that grant
    client: Client = request.getfixturevalue(fixture)
    assert grant_type not in client.client.grant_types
    before = token_state()

    # when
    answer = client_token_request(api, client, grant_type=grant_type, **form)

    # then
    assert_oauth_error(
        answer,
        400,
        {
            "error": "unauthorized_client",
            "error_description": f"The client may not use the {grant_type} grant.",
        },
    )
    assert token_state() == before
