"""Two API servers behind one load balancer: two gunicorn masters on two ports, sharing
PostgreSQL and Redis, as production runs them. What one of them decides, the other knows: a
revoked token, a throttle's budget, a migration, the sign-in lockout."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings

from carts.models import CartMigration
from identity.customers.accounts import local_account_create
from identity.models import Customer
from tests.conftest import Storefront, run_command
from tests.factories import ProductFactory
from tests.identity.api_keys_common import IssuedKey
from tests.identity.oauth_helpers import EMAIL, PASSWORD, Client
from tests.servers import (
    Answer,
    Server,
    gunicorn_command,
    http,
    project_environment,
    served,
    suite_database_url,
    within,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
ANONYMOUS_TOKENS_PER_MINUTE = 10


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Servers A and B, two workers each, on the suite's database and Redis."""
    assert settings.REDIS_URL, "two processes share Redis: run with REDIS_URL"
    environment = project_environment(
        DEBUG="false",
        SECRET_KEY="two-processes-" + "x" * 40,
        DATABASE_URL=suite_database_url(),
        REDIS_URL=settings.REDIS_URL,
        THROTTLE_ANONYMOUS_TOKEN_PER_ADDRESS=f"{ANONYMOUS_TOKENS_PER_MINUTE}/min",
        PASSWORD_LOCKOUT_ATTEMPTS="5",
    )
    with ExitStack() as stack:
        started = [
            stack.enter_context(
                served(gunicorn_command(workers=2), environment, tmp_path / f"{name}.log")
            )
            for name in ("a", "b")
        ]
        yield started[0], started[1]


@pytest.fixture
def ada(settings: Any, storefront: Storefront) -> Customer:
    """A customer whose password the servers' own hasher checks."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    return local_account_create(tenant=storefront.tenant, email=EMAIL, password=PASSWORD)


def sign_in(server: Server, client: Client, password: str = PASSWORD) -> Answer:
    form = {
        "grant_type": "password",
        "client_id": client.client_id,
        "username": EMAIL,
        "password": password,
    }
    return http(server, "POST", "/oauth/token", urlencode(form), FORM)


@dataclass
class Session:
    bearer: str
    context: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}", "X-Customer-Context": self.context}


def session_of(server: Server, bearer: str, key: str = "") -> Session:
    headers = {"Authorization": f"Bearer {bearer}", **({"X-Auth-Key": key} if key else {})}
    answer = http(server, "GET", "/commerceapi/authentication/customercontext", headers=headers)
    assert answer.status == 200, answer.body
    return Session(bearer=bearer, context=answer.json()["customerContext"])


def anonymous_token(server: Server, key: str) -> Answer:
    return http(server, "POST", "/commerceapi/authentication/", headers={"X-Auth-Key": key})


def test_a_token_revoked_through_one_is_refused_by_the_other_within_a_second(
    servers: tuple[Server, Server], sales_channel: Client, ada: Customer
) -> None:
    a, b = servers
    # given a customer token signed in through A, used on B (its state cached there)
    signed_in = sign_in(a, sales_channel)
    assert signed_in.status == 200, signed_in.body
    session = session_of(b, signed_in.json()["access_token"])
    for _ in range(4):
        assert http(b, "GET", "/commerceapi/cart", headers=session.headers()).status == 200

    # when it is revoked through A
    revoked = http(
        a,
        "POST",
        "/oauth/revoke",
        urlencode({"token": session.bearer, "client_id": sales_channel.client_id}),
        FORM,
    )
    assert revoked.status == 200, revoked.body

    # then B refuses it within a second, on every worker
    refused, seconds = within(
        1.0, lambda: http(b, "GET", "/commerceapi/cart", headers=session.headers()).status == 401
    )
    assert refused and seconds < 1.0
    answers = [http(b, "GET", "/commerceapi/cart", headers=session.headers()) for _ in range(6)]
    assert {(answer.status, answer.json()["code"]) for answer in answers} == {(401, 2012)}


def test_a_throttle_budget_is_shared(
    servers: tuple[Server, Server], storefront: Storefront
) -> None:
    a, b = servers
    # given a fixed one-minute window with time left in it
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)

    # when one address asks both servers, in turn, for more anonymous tokens than its budget
    statuses = [
        anonymous_token(server, storefront.key).status
        for _ in range(ANONYMOUS_TOKENS_PER_MINUTE)
        for server in (a, b)
    ]

    # then the budget holds across both: exactly that many are issued, the rest are 429
    assert statuses.count(200) == ANONYMOUS_TOKENS_PER_MINUTE, statuses
    assert statuses.count(429) == ANONYMOUS_TOKENS_PER_MINUTE, statuses
    assert statuses[:ANONYMOUS_TOKENS_PER_MINUTE] == [200] * ANONYMOUS_TOKENS_PER_MINUTE


def test_the_password_lockout_counts_attempts_on_both(
    servers: tuple[Server, Server], sales_channel: Client, ada: Customer
) -> None:
    a, b = servers
    # given five failed sign-ins of one e-mail, spread over both servers
    for attempt in range(5):
        failed = sign_in((a, b)[attempt % 2], sales_channel, password="wrong password")
        assert failed.status == 400, failed.body
        assert failed.json()["error"] == "invalid_grant"

    # when the right password is given, on either server
    # then the e-mail is locked on both: the lockout engaged at the sixth attempt, not the tenth
    for server in (a, b, a):
        locked = sign_in(server, sales_channel)
        assert locked.status == 400, locked.body
        assert locked.json()["error"] == "invalid_grant"


def test_a_migration_raced_across_both_merges_once(
    servers: tuple[Server, Server],
    storefront: Storefront,
    sales_channel: Client,
    ada: Customer,
) -> None:
    a, b = servers
    ProductFactory(tenant=storefront.tenant, sku="MUG", unit_price="9.50")
    ProductFactory(tenant=storefront.tenant, sku="CAP", unit_price="24.00")
    # given an anonymous cart filled through A, and the customer's cart holding a MUG
    issued = anonymous_token(a, storefront.key)
    assert issued.status == 200, issued.body
    anonymous = session_of(a, issued.json()["accessToken"])
    for sku, quantity in (("MUG", 2), ("CAP", 1)):
        body = json.dumps({"sku": sku, "quantity": quantity})
        added = http(a, "POST", "/commerceapi/cart/lines", body, {**JSON, **anonymous.headers()})
        assert added.status == 200, added.body
    signed_in = sign_in(b, sales_channel)
    assert signed_in.status == 200, signed_in.body
    customer = session_of(b, signed_in.json()["access_token"])
    body = json.dumps({"sku": "MUG", "quantity": 1})
    assert (
        http(b, "POST", "/commerceapi/cart/lines", body, {**JSON, **customer.headers()}).status
        == 200
    )

    # when the same migration is sent to both at once, four times each
    migrate = json.dumps(
        {"anonymousId": issued.json()["anonymousId"], "anonymousToken": anonymous.bearer}
    )
    barrier = threading.Barrier(8)
    answers: list[Answer] = []

    def call(server: Server) -> None:
        barrier.wait(timeout=30)
        answer = http(
            server, "POST", "/commerceapi/cart/migrate", migrate, {**JSON, **customer.headers()}
        )
        answers.append(answer)

    threads = [threading.Thread(target=call, args=(server,)) for server in (a, b) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # then all succeed, exactly one merged, and the quantities are not doubled
    assert [answer.status for answer in answers] == [200] * 8, [x.body for x in answers]
    repeated = sorted(answer.json()["migration"]["repeated"] for answer in answers)
    assert repeated == [False] + [True] * 7
    assert CartMigration.objects.count() == 1
    cart = http(a, "GET", "/commerceapi/cart", headers=customer.headers()).json()
    assert {line["sku"]: line["quantity"] for line in cart["lines"]} == {"MUG": 2, "CAP": 1}


def test_an_api_key_revoked_by_an_operator_is_refused_by_both_within_a_second(
    servers: tuple[Server, Server], supplier_key: IssuedKey
) -> None:
    a, b = servers
    headers = {"ApiKey": supplier_key.value}
    # given a supplier key in use on both (its answer cached in the shared cache)
    for server in (a, b, a, b):
        answer = http(server, "GET", "/supplier/products", headers=headers)
        assert answer.status == 200, answer.body

    # when an operator revokes it (another process: the command)
    assert run_command("apikey_revoke", supplier_key.key_id).splitlines()[-1] == "revoked"

    # then both refuse it within a second, on every worker
    refused, seconds = within(
        1.0,
        lambda: all(
            http(server, "GET", "/supplier/products", headers=headers).status == 401
            for server in (a, b)
        ),
    )
    assert refused and seconds < 1.0
    answers = [http(server, "GET", "/supplier/products", headers=headers) for server in (a, b) * 3]
    assert {(answer.status, answer.json()["code"]) for answer in answers} == {(401, 2100)}
    assert {answer.headers["www-authenticate"] for answer in answers} == {
        'ApiKey realm="commerceapi"'
    }
