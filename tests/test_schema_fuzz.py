"""The served schema, fuzzed: schemathesis runs every check against /api/schema/ of a live
gunicorn on loopback, once without credentials, once with each kind a storefront holds
(its X-Auth-Key, an anonymous shopper's bearer and context, a customer's), and once with each
kind of API key (a supplier's, a payment provider's). Any 5xx, any answer
the schema does not describe (status, media type, body, headers), any valid input refused or
invalid input accepted fails the test. Time is bounded per run (SCHEMA_FUZZ_SECONDS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings

from identity.customers.accounts import local_account_create
from identity.tenancy.suppliers import supplier_create
from tests.conftest import Storefront
from tests.factories import ProductFactory
from tests.identity.api_keys_common import issue_payment_key, issue_supplier_key
from tests.identity.oauth_helpers import EMAIL, PASSWORD, Client
from tests.servers import (
    ROOT,
    Server,
    gunicorn_command,
    http,
    project_environment,
    served,
    suite_database_url,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
SECONDS_PER_RUN = int(os.environ.get("SCHEMA_FUZZ_SECONDS", "45"))
UNTHROTTLED = "1000000/min"
CONFIG = ROOT / "tests" / "schemathesis.toml"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[Server]:
    assert settings.REDIS_URL, "the fuzzed server shares Redis with the suite: set REDIS_URL"
    environment = project_environment(
        DEBUG="false",
        SECRET_KEY="schema-fuzz-" + "x" * 40,
        DATABASE_URL=suite_database_url(),
        REDIS_URL=settings.REDIS_URL,
        THROTTLE_ANONYMOUS_TOKEN_PER_ADDRESS=UNTHROTTLED,
        THROTTLE_OAUTH_TOKEN_PER_ADDRESS=UNTHROTTLED,
        THROTTLE_OAUTH_PASSWORD_PER_ADDRESS=UNTHROTTLED,
        THROTTLE_CUSTOMER_REGISTER_PER_ADDRESS=UNTHROTTLED,
        THROTTLE_API_KEY=UNTHROTTLED,
    )
    with served(gunicorn_command(workers=2), environment, tmp_path / "server.log") as server:
        yield server


@dataclass
class Caller:
    """A run's credentials: per security scheme of the schema, and the headers sent always."""

    schemes: dict[str, dict[str, str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def config(self) -> str:
        """The run's configuration: the project's, and these credentials."""
        sections = [CONFIG.read_text()]
        for scheme, values in self.schemes.items():
            sections.append(f"[auth.openapi.{scheme}]")
            sections.extend(f"{name} = {json.dumps(value)}" for name, value in values.items())
        return "\n".join(sections) + "\n"


def caller_of(server: Server, storefront: Storefront, sales_channel: Client, kind: str) -> Caller:
    """The credentials of one kind of caller, minted by the server itself."""
    if kind == "none":
        return Caller()
    if kind == "storefront key":
        return Caller(schemes={"storefrontKey": {"api_key": storefront.key}})
    if kind == "supplier key":
        supplier = supplier_create(tenant=storefront.tenant, code="farm", name="Farm")
        ProductFactory(tenant=storefront.tenant, supplier=supplier, sku="JAM", stock=5)
        return Caller(schemes={"apiKey": {"api_key": issue_supplier_key(supplier).value}})
    if kind == "payment key":
        return Caller(schemes={"apiKey": {"api_key": issue_payment_key(storefront).value}})
    if kind == "anonymous shopper":
        issued = http(
            server, "POST", "/commerceapi/authentication/", headers={"X-Auth-Key": storefront.key}
        )
        bearer = issued.json()["accessToken"]
    else:
        form = {
            "grant_type": "password",
            "client_id": sales_channel.client_id,
            "username": EMAIL,
            "password": PASSWORD,
        }
        issued = http(server, "POST", "/oauth/token", urlencode(form), FORM)
        bearer = issued.json()["access_token"]
    assert issued.status == 200, issued.body
    context = http(
        server,
        "GET",
        "/commerceapi/authentication/customercontext",
        headers={"Authorization": f"Bearer {bearer}", "X-Auth-Key": storefront.key},
    )
    assert context.status == 200, context.body
    return Caller(
        schemes={scheme: {"bearer": bearer} for scheme in ("bearer", "shopper")},
        # Documented as a header parameter of the shopper operations; the others ignore it.
        headers={"X-Customer-Context": context.json()["customerContext"]},
    )


@pytest.mark.parametrize(
    "kind",
    ["none", "storefront key", "anonymous shopper", "customer", "supplier key", "payment key"],
)
def test_the_served_schema_holds_under_fuzzing(
    settings: Any,
    api_server: Server,
    storefront: Storefront,
    sales_channel: Client,
    kind: str,
    tmp_path: Path,
) -> None:
    # given a shop with products and a customer, and the caller's credentials
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    local_account_create(tenant=storefront.tenant, email=EMAIL, password=PASSWORD)
    for sku in ("MUG", "CAP"):
        ProductFactory(tenant=storefront.tenant, sku=sku)
    caller = caller_of(api_server, storefront, sales_channel, kind)
    config = tmp_path / "schemathesis.toml"
    config.write_text(caller.config())
    arguments = [f"--header={name}: {value}" for name, value in caller.headers.items()]
    if kind == "customer":
        # Signing out everywhere would end the very credentials the run goes on with.
        arguments.append("--exclude-operation-id=customer_sign_out_everywhere")

    # when schemathesis runs every check against the schema the server serves
    run = subprocess.run(  # noqa: S603 - the pinned schemathesis, on our own server
        [
            SCHEMATHESIS,
            f"--config-file={config}",
            "run",
            f"{api_server.base_url}/api/schema/?format=json",
            "--checks=all",
            f"--max-time={SECONDS_PER_RUN}",
            "--max-examples=30",
            # One worker thread: on Python 3.11, ast.parse in two threads at once (Hypothesis
            # describing its filters) can fail with "AST constructor recursion depth mismatch"
            # (CPython gh-106905), an error of the fuzzer, not of the API.
            "--workers=1",
            "--seed=20261103",
            "--generation-database=none",
            "--request-timeout=10",
            "--no-color",
            *arguments,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=SECONDS_PER_RUN * 4 + 120,
        check=False,
    )

    (tmp_path / "schemathesis.out").write_text(run.stdout + run.stderr)

    # then it finds nothing
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
