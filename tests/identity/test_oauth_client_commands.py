"""Management commands. Part of the test_oauth_clients suite (see its docstring)."""

from __future__ import annotations

import io
import sys
from datetime import timedelta

import pytest
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from identity.models import (
    Customer,
    GrantType,
    LocalAccount,
    OAuthClient,
    OAuthClientSecret,
)
from tests.conftest import Storefront, run_command
from tests.identity.oauth_clients_common import (
    CLIENT_SECRET,
    _database_text,
    assert_invalid_client,
    authenticates,
    client_rows,
    printed,
)
from tests.identity.oauth_helpers import (
    EMAIL,
    PASSWORD,
    Client,
    password_tokens,
    token_request,
)

# --- Management commands ----------------------------------------------------------------------


def test_client_create_prints_the_id_and_secret_of_a_confidential_client(
    api: APIClient, storefront: Storefront
) -> None:
    # when
    output = run_command(
        "client_create",
        "--tenant",
        "acme",
        "--kind",
        "integration",
        "--name",
        "ERP",
        "--grant",
        "client_credentials",
        "--grant",
        "token_exchange",
        "--scope",
        "catalog:read",
    )

    # then
    values = printed(output)
    assert set(values) == {"client_id", "client_secret"}
    client = OAuthClient.objects.get()
    assert values["client_id"] == client.client_id
    assert CLIENT_SECRET.fullmatch(values["client_secret"])
    assert (client.name, client.kind, client.tenant) == ("ERP", "integration", storefront.tenant)
    assert client.grant_types == ["client_credentials", GrantType.TOKEN_EXCHANGE.value]
    assert client.scopes == ["catalog:read"]
    answer = authenticates(api, values["client_id"], values["client_secret"])
    assert answer.status_code == 200, answer.content
    assert answer.json()["scope"] == "catalog:read"


def test_client_create_prints_no_secret_for_a_sales_channel(
    api: APIClient, storefront: Storefront
) -> None:
    # when
    output = run_command(
        "client_create",
        "--tenant",
        "acme",
        "--kind",
        "sales_channel",
        "--storefront-app",
        storefront.app.name,
    )

    # then
    values = printed(output)
    assert set(values) == {"client_id"}
    client = OAuthClient.objects.get()
    assert values["client_id"] == client.client_id
    assert client.storefront_app == storefront.app
    assert "client_secret" not in output
    answer = token_request(api, grant_type="client_credentials", client_id=client.client_id)
    assert answer.status_code == 200, answer.content


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--tenant", "nope", "--kind", "integration"], "no tenant 'nope'", id="unknown tenant"
        ),
        pytest.param(
            ["--tenant", "acme", "--kind", "integration", "--grant", "implicit"],
            "invalid choice",
            id="unknown grant",
        ),
        pytest.param(
            [
                "--tenant",
                "acme",
                "--kind",
                "sales_channel",
                "--storefront-app",
                "{app}",
                "--grant",
                "token_exchange",
            ],
            "Not for a sales_channel client",
            id="grant not for the kind",
        ),
        pytest.param(
            ["--tenant", "acme", "--kind", "integration", "--scope", "admin"],
            "invalid choice",
            id="unknown scope",
        ),
        pytest.param(
            ["--tenant", "acme", "--kind", "sales_channel", "--storefront-app", "nope"],
            "no storefront app 'nope'",
            id="unknown storefront app",
        ),
    ],
)
def test_client_create_refuses_bad_arguments(
    storefront: Storefront, args: list[str], message: str
) -> None:
    # given
    before = client_rows()

    # when
    with pytest.raises(CommandError) as refused:
        run_command("client_create", *(arg.replace("{app}", storefront.app.name) for arg in args))

    # then
    assert message in str(refused.value)
    assert client_rows() == before


def test_client_secret_rotate_prints_a_new_secret_and_keeps_the_old_one_for_the_overlap(
    api: APIClient, integration: Client
) -> None:
    # when
    output = run_command("client_secret_rotate", "--client-id", integration.client_id)

    # then
    values = printed(output)
    assert values["client_id"] == integration.client_id
    assert set(values) == {"client_id", "client_secret"}
    assert values["client_secret"] != integration.secret
    assert authenticates(api, integration.client_id, values["client_secret"]).status_code == 200
    assert authenticates(api, integration.client_id, integration.secret).status_code == 200
    old_row = OAuthClientSecret.objects.get(prefix=integration.secret.split("_")[1])
    assert timedelta(hours=23) < old_row.expires_at - timezone.now() <= timedelta(days=1)


def test_client_secret_rotate_without_overlap(api: APIClient, integration: Client) -> None:
    # when
    output = run_command(
        "client_secret_rotate", "--client-id", integration.client_id, "--overlap-seconds", "0"
    )

    # then
    new = printed(output)["client_secret"]
    assert authenticates(api, integration.client_id, new).status_code == 200
    assert_invalid_client(authenticates(api, integration.client_id, integration.secret))


@pytest.mark.parametrize(
    ("client_id", "overlap", "message"),
    [
        pytest.param("ci_" + "0" * 20, "0", "no client", id="unknown client"),
        pytest.param("sales_channel", "0", "public", id="public client"),
        pytest.param("integration", "-5", "negative", id="negative overlap"),
    ],
)
def test_client_secret_rotate_refuses(
    request: pytest.FixtureRequest,
    storefront: Storefront,
    client_id: str,
    overlap: str,
    message: str,
) -> None:
    # given
    if client_id in ("sales_channel", "integration"):
        client_id = request.getfixturevalue(client_id).client_id
    before = client_rows()

    # when
    with pytest.raises(CommandError) as refused:
        run_command("client_secret_rotate", "--client-id", client_id, "--overlap-seconds", overlap)

    # then
    assert message in str(refused.value)
    assert client_rows() == before


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_customer_create_reads_the_password_from_stdin(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given
    _stdin(monkeypatch, PASSWORD + "\nignored second line\n")

    # when
    output = run_command(
        "customer_create",
        "--tenant",
        "acme",
        "--email",
        "Ada@Example.com",
        "--name",
        "Ada",
        "--group",
        "vip",
        "--password-stdin",
    )

    # then
    customer = Customer.objects.get()
    assert printed(output) == {"customer_id": str(customer.public_id)}
    assert (customer.email, customer.name, customer.group, customer.tenant) == (
        EMAIL,
        "Ada",
        "vip",
        storefront.tenant,
    )
    assert LocalAccount.objects.get().email == EMAIL
    assert PASSWORD not in _database_text()
    tokens = password_tokens(api, sales_channel)
    assert tokens["scope"]


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        pytest.param("password\n", "too common", id="weak password"),
        pytest.param(
            "ada@example.com\n",
            "too similar",
            id="password like the e-mail",
        ),
        pytest.param("\n", "no password", id="empty password"),
        pytest.param("", "no password", id="nothing on stdin"),
    ],
)
def test_customer_create_refuses_a_weak_or_missing_password(
    storefront: Storefront, monkeypatch: pytest.MonkeyPatch, stdin: str, message: str
) -> None:
    # given
    _stdin(monkeypatch, stdin)

    # when
    with pytest.raises(CommandError) as refused:
        run_command("customer_create", "--tenant", "acme", "--email", EMAIL, "--password-stdin")

    # then
    assert message in str(refused.value)
    assert Customer.objects.count() == LocalAccount.objects.count() == 0


def test_customer_create_refuses_a_taken_email(
    storefront: Storefront, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given Ada exists; another password for her e-mail, in other letters
    _stdin(monkeypatch, "another long passphrase 42\n")
    before = list(Customer.objects.values())

    # when
    with pytest.raises(CommandError):
        run_command(
            "customer_create", "--tenant", "acme", "--email", "ADA@example.com", "--password-stdin"
        )

    # then
    assert list(Customer.objects.values()) == before
    assert LocalAccount.objects.count() == 1


def test_customer_create_refuses_an_unknown_tenant(
    storefront: Storefront, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    _stdin(monkeypatch, PASSWORD + "\n")

    # when
    with pytest.raises(CommandError) as refused:
        run_command("customer_create", "--tenant", "nope", "--email", EMAIL, "--password-stdin")

    # then
    assert "no tenant 'nope'" in str(refused.value)
    assert Customer.objects.count() == 0


def test_the_same_email_in_another_tenant_is_another_customer(
    api: APIClient,
    storefront: Storefront,
    other_storefront: Storefront,
    sales_channel: Client,
    customer: Customer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given Ada of acme; the same e-mail registered at globex with another password
    _stdin(monkeypatch, "globex passphrase 2024\n")
    run_command("customer_create", "--tenant", "globex", "--email", EMAIL, "--password-stdin")

    # when Ada signs in at acme with globex's password
    answer = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password="globex passphrase 2024",
    )

    # then
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == "invalid_grant"
    assert Customer.objects.count() == 2
