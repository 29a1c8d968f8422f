"""RFC 7009 revocation (POST /oauth/revoke) and RFC 7662 introspection (POST /oauth/introspect).

A client revokes only its own tokens: anything else (unknown, garbage, another client's) is a
200 that changes nothing. Revoking an access token ends it on its next use; revoking a refresh
token ends its whole sign-in, access tokens included. Introspection is for confidential clients
and says ``{"active": false}`` and nothing more about a token that does not work.

Here: Revoking access tokens; Revoking refresh tokens; What a client may not revoke; Across
processes: PostgreSQL and Redis. The other parts of the suite: test_oauth_introspection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import IO, Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.models import Customer
from tests.conftest import Storefront, assert_problem, bearer_headers, tables_snapshot
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    make_client,
    oauth_post,
    password_tokens,
    token_request,
)
from tests.identity.oauth_revocation_common import (
    ACCESS_TOKEN_TYPE,
    CART_URL,
    CATALOG_CHALLENGES,
    EXCHANGE,
    PRODUCTS_URL,
    REVOKE_URL,
    CaptureOnCommit,
    Tokens,
    cart_status,
    client_token,
    refresh,
    revoke,
    revoke_committed,
)
from tests.identity.tokens_helpers import PROBLEMS, assert_unauthorized
from tests.servers import suite_database_url

# --- Revoking access tokens -----------------------------------------------------------------


def test_revoking_a_customer_token_ends_it_on_its_next_use(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer token that works on the cart (its answer now cached), and another
    # sign-in of the same customer
    signed_in = password_tokens(api, sales_channel)
    token = signed_in["access_token"]
    headers = customer_headers(api, token)
    assert cart_status(api, token, headers) == 200
    other = password_tokens(api, sales_channel)["access_token"]
    other_headers = customer_headers(api, other)

    # when the web shop revokes the first token with its client_id
    revoke_committed(api, django_capture_on_commit_callbacks, sales_channel, token)

    # then that token is refused on its next use, as revoked
    assert_unauthorized(api.get(CART_URL, **headers), 2012)
    # and the other sign-in's token, and the sign-in's refresh token, still work
    assert cart_status(api, other, other_headers) == 200
    assert refresh(api, sales_channel, signed_in["refresh_token"]).status_code == 200


def test_revoking_a_client_token_with_basic_auth_ends_it(
    api: APIClient,
    integration: Client,
    products: dict[str, Any],
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given the ERP's own token, reading the catalog
    token = client_token(api, integration)
    assert api.get(PRODUCTS_URL, **bearer_headers(token)).status_code == 200
    later = client_token(api, integration)

    # when the ERP revokes it (client_secret_basic), with a hint
    revoke_committed(
        api, django_capture_on_commit_callbacks, integration, token, token_type_hint="access_token"
    )

    # then the token is refused on the catalog, while the ERP's other token still reads it
    refused = api.get(PRODUCTS_URL, **bearer_headers(token))
    assert_problem(refused, PROBLEMS[2012])
    assert refused["WWW-Authenticate"] == CATALOG_CHALLENGES
    assert api.get(PRODUCTS_URL, **bearer_headers(later)).status_code == 200


def test_revoking_a_token_twice_is_still_200(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a revoked token
    token = password_tokens(api, sales_channel)["access_token"]
    revoke_committed(api, django_capture_on_commit_callbacks, sales_channel, token)

    # when it is revoked again, then 200 again
    revoke_committed(api, django_capture_on_commit_callbacks, sales_channel, token)


# --- Revoking refresh tokens ----------------------------------------------------------------


def test_revoking_a_refresh_token_ends_the_whole_sign_in(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a sign-in with two access tokens (the second from a refresh), a token the ERP got
    # by exchanging one of them, and another sign-in of the same customer, all working
    first = password_tokens(api, sales_channel)
    rotated = refresh(api, sales_channel, first["refresh_token"]).json()
    exchanged = token_request(
        api,
        integration.basic(),
        grant_type=EXCHANGE,
        subject_token=rotated["access_token"],
        subject_token_type=ACCESS_TOKEN_TYPE,
    ).json()["access_token"]
    other = password_tokens(api, sales_channel)
    sessions = {
        name: (token, customer_headers(api, token))
        for name, token in {
            "first": first["access_token"],
            "rotated": rotated["access_token"],
            "exchanged": exchanged,
            "other": other["access_token"],
        }.items()
    }
    assert {name: cart_status(api, *session) for name, session in sessions.items()} == {
        "first": 200,
        "rotated": 200,
        "exchanged": 200,
        "other": 200,
    }

    # when the web shop revokes the sign-in's current refresh token
    revoke_committed(
        api,
        django_capture_on_commit_callbacks,
        sales_channel,
        rotated["refresh_token"],
        token_type_hint="refresh_token",
    )

    # then the refresh token is refused
    refused = refresh(api, sales_channel, rotated["refresh_token"])
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "The refresh token has been revoked.",
    }
    # and every access token of that sign-in is refused, the other sign-in's is not
    assert {name: cart_status(api, *session) for name, session in sessions.items()} == {
        "first": 401,
        "rotated": 401,
        "exchanged": 401,
        "other": 200,
    }
    assert_unauthorized(api.get(CART_URL, **sessions["first"][1]), 2012)
    assert refresh(api, sales_channel, other["refresh_token"]).status_code == 200


# --- What a client may not revoke -------------------------------------------------------------


def assert_all_tokens_work(
    api: APIClient, tokens: Tokens, sales_channel: Client, integration: Client
) -> None:
    """Every access token still works, and every refresh token still refreshes (each check
    uses a refresh token once, so this is the last thing a test does)."""
    assert api.get(CART_URL, **customer_headers(api, tokens.shop_customer)).status_code == 200
    assert api.get(CART_URL, **customer_headers(api, tokens.erp_customer)).status_code == 200
    assert api.get(PRODUCTS_URL, **bearer_headers(tokens.erp_client)).status_code == 200
    assert refresh(api, sales_channel, tokens.shop_refresh).status_code == 200
    assert refresh(api, integration, tokens.erp_refresh).status_code == 200


@pytest.mark.parametrize(
    ("revoker", "token"),
    [
        pytest.param("shop", "unknown-refresh", id="unknown refresh token"),
        pytest.param("shop", "garbage", id="garbage"),
        pytest.param("shop", "erp_client", id="the ERP's client token, by the web shop"),
        pytest.param("shop", "erp_customer", id="the ERP's customer token, by the web shop"),
        pytest.param("shop", "erp_refresh", id="the ERP's refresh token, by the web shop"),
        pytest.param("erp", "shop_customer", id="the web shop's customer token, by the ERP"),
        pytest.param("erp", "shop_refresh", id="the web shop's refresh token, by the ERP"),
    ],
)
def test_revoking_what_is_not_the_clients_own_is_200_and_changes_nothing(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    tokens: Tokens,
    products: dict[str, Any],
    django_capture_on_commit_callbacks: CaptureOnCommit,
    revoker: str,
    token: str,
) -> None:
    # given a token the revoking client was not issued (the others all working)
    raw_token = {
        "unknown-refresh": "rt_0123456789ab_" + "A" * 43,
        "garbage": "this is not a token",
    }.get(token) or getattr(tokens, token)
    client = sales_channel if revoker == "shop" else integration
    before = tables_snapshot()

    # when the client revokes it
    revoke_committed(api, django_capture_on_commit_callbacks, client, raw_token)

    # then nothing was revoked: no row written, and every token still works
    assert tables_snapshot() == before
    assert_all_tokens_work(api, tokens, sales_channel, integration)


def test_revoking_a_token_of_another_tenants_client_changes_nothing(
    api: APIClient,
    other_storefront: Storefront,
    integration: Client,
    tokens: Tokens,
    sales_channel: Client,
    products: dict[str, Any],
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a client of another tenant
    globex = make_client(other_storefront, name="Globex shop")
    before = tables_snapshot()

    # when it revokes this tenant's tokens
    for raw_token in (tokens.shop_customer, tokens.erp_client, tokens.shop_refresh):
        revoke_committed(api, django_capture_on_commit_callbacks, globex, raw_token)

    # then they all still work
    assert tables_snapshot() == before
    assert_all_tokens_work(api, tokens, sales_channel, integration)


def test_revocation_without_a_token_is_invalid_request(
    api: APIClient, sales_channel: Client, integration: Client
) -> None:
    for answer in (
        oauth_post(api, REVOKE_URL, client_id=sales_channel.client_id),
        oauth_post(api, REVOKE_URL, integration.basic(), token=""),
    ):
        assert answer.status_code == 400, answer.content
        assert answer.json() == {
            "error": "invalid_request",
            "error_description": "The token parameter is required.",
        }
        assert answer["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param("wrong secret", id="wrong secret"),
        pytest.param("unknown client", id="unknown client"),
        pytest.param("no client", id="no client"),
        pytest.param("confidential without secret", id="confidential client without secret"),
        pytest.param("public with secret", id="public client with a secret"),
    ],
)
def test_revocation_with_bad_client_authentication_is_invalid_client(
    api: APIClient,
    sales_channel: Client,
    integration: Client,
    tokens: Tokens,
    products: dict[str, Any],
    django_capture_on_commit_callbacks: CaptureOnCommit,
    credentials: str,
) -> None:
    # given a request for the ERP's client token with bad client credentials
    form: dict[str, str] = {"token": tokens.erp_client}
    headers: dict[str, str] = {}
    if credentials == "wrong secret":
        headers = Client(integration.client, integration.secret[:-3] + "abc").basic()
    elif credentials == "unknown client":
        form["client_id"] = "ci_" + "0" * 20
    elif credentials == "confidential without secret":
        form["client_id"] = integration.client_id
    elif credentials == "public with secret":
        form |= {"client_id": sales_channel.client_id, "client_secret": "cs_x"}
    before = tables_snapshot()

    # when it is sent
    with django_capture_on_commit_callbacks(execute=True):
        answer = oauth_post(api, REVOKE_URL, headers, **form)

    # then 401 invalid_client with the Basic challenge, and the token still works
    assert answer.status_code == 401, answer.content
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed.",
    }
    assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'
    assert answer["Cache-Control"] == "no-store"
    assert tables_snapshot() == before
    assert api.get(PRODUCTS_URL, **bearer_headers(tokens.erp_client)).status_code == 200


# --- Across processes: PostgreSQL and Redis -------------------------------------------------------

CHILD_CHECK = """
import json
import sys
import time

import django

django.setup()

from core.errors import DomainError
from identity.sessions.bearer import bearer_principal


def outcome(token):
    try:
        bearer_principal(token)
    except DomainError as error:
        return error.code.slug
    return "accepted"


token = sys.stdin.readline().strip()
print(json.dumps({"before": outcome(token)}), flush=True)
sys.stdin.readline()  # the parent has revoked the token
started = time.monotonic()
answer = outcome(token)
while answer == "accepted" and time.monotonic() - started < 1.0:
    time.sleep(0.02)
    answer = outcome(token)
print(json.dumps({"after": answer, "seconds": time.monotonic() - started}), flush=True)
"""


@pytest.fixture
def api_process() -> Iterator[subprocess.Popen[str]]:
    """Another API process on the same database and Redis, reading tokens from its stdin."""
    environment = {
        **os.environ,
        "DATABASE_URL": suite_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "commerceapi.settings",
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", CHILD_CHECK],
        env=environment,
        cwd=settings.BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _read_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    stdout: IO[str] | None = process.stdout
    assert stdout is not None
    line = stdout.readline()
    if not line:
        process.wait(timeout=30)
        raise AssertionError(process.stderr.read() if process.stderr else "no output")
    return dict(json.loads(line))


def _send(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["access token", "refresh token"])
def test_revocation_reaches_another_process_within_a_second(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    api_process: subprocess.Popen[str],
    kind: str,
) -> None:
    # given a customer token that another API process accepts (its answer cached in Redis)
    assert settings.REDIS_URL, "this test needs the shared cache"
    signed_in = password_tokens(api, sales_channel)
    token = signed_in["access_token"]
    _send(api_process, token)
    assert _read_line(api_process) == {"before": "accepted"}

    # when this process revokes the token, or its sign-in's refresh token
    revoked = revoke(
        api, sales_channel, token if kind == "access token" else signed_in["refresh_token"]
    )
    assert revoked.status_code == 200
    _send(api_process, "revoked")

    # then the other process refuses it as revoked within a second
    after = _read_line(api_process)
    assert after["after"] == "token_revoked", after
    assert after["seconds"] < 1.0
