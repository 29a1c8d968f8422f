"""The embedded default on real server processes: SQLite and the database's cache table, as
``make run`` serves it, and gunicorn as the image runs it (gunicorn.conf.py).

- A key or a client revoked with a management command while the server runs is refused by
  that server within a second (the command and the server share the cache table).
- Chunked bodies without Content-Length are read within the body limit (gunicorn), or refused
  with 411 where the server cannot end them (runserver).
- What gunicorn refuses before the API sees it (a request line or headers past its limits, a
  non-numeric Content-Length) is answered as problem+json too.

Each server runs on a SQLite file of its own, set up once for the module; nothing here uses
the suite's database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers import (
    Server,
    gunicorn_command,
    http,
    manage,
    project_environment,
    raw_http,
    runserver_command,
    served,
    within,
)

PROBLEM = "application/problem+json"
AUTH_URL = "/commerceapi/authentication/"


@dataclass
class Embedded:
    environment: dict[str, str]
    directory: Path
    key: str


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Embedded:
    """A migrated SQLite file with its cache table, a tenant and its X-Auth-Key."""
    directory = tmp_path_factory.mktemp("embedded")
    environment = project_environment(
        DEBUG="true", DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}"
    )
    manage(environment, "migrate", "--no-input", "-v", "0")
    manage(environment, "createcachetable")
    manage(environment, "tenant_create", "demo", "--name", "Demo", "--currency", "EUR")
    key = manage(environment, "storefront_key_create", "--tenant", "demo").stdout.split()[-1]
    return Embedded(environment=environment, directory=directory, key=key)


@pytest.fixture(scope="module")
def runserver(embedded: Embedded) -> Iterator[Server]:
    with served(runserver_command(), embedded.environment, embedded.directory / "run.log") as s:
        yield s


@pytest.fixture(scope="module")
def gunicorn(embedded: Embedded) -> Iterator[Server]:
    environment = {**embedded.environment, "DEBUG": "false", "SECRET_KEY": "x" * 50}
    environment["SINGLE_PROCESS"] = "true"
    with served(gunicorn_command(), environment, embedded.directory / "gunicorn.log") as s:
        yield s


def anonymous_token(server: Server, key: str) -> Any:
    return http(server, "POST", AUTH_URL, headers={"X-Auth-Key": key})


def assert_problem(answer: Any, status: int, code: int) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["code"] == code


# --- make run: a revocation on the command line reaches the running server ---------------------


def test_a_key_revoked_by_the_command_line_is_refused_within_a_second(
    embedded: Embedded, runserver: Server
) -> None:
    # given a key of its own, which the running server has accepted (and cached)
    created = manage(embedded.environment, "storefront_key_create", "--tenant", "demo")
    key = created.stdout.split()[-1]
    for _ in range(3):
        assert anonymous_token(runserver, key).status == 200

    # when the key is revoked with the management command
    manage(embedded.environment, "storefront_key_revoke", "--key-stdin", stdin=key + "\n")

    # then the server refuses it within a second
    refused, seconds = within(1.0, lambda: anonymous_token(runserver, key).status == 401)
    assert refused, runserver.log_text()[-2000:]
    assert seconds < 1.0
    # and the other key of the tenant still works
    assert anonymous_token(runserver, embedded.key).status == 200


def test_a_client_deactivated_by_the_command_line_is_refused_within_a_second(
    embedded: Embedded, runserver: Server
) -> None:
    # given a sales channel whose guest token the running server accepts
    created = manage(
        embedded.environment, "client_create", "--tenant", "demo", "--kind", "sales_channel"
    )
    client_id = created.stdout.split("client_id=")[1].split()[0]
    issued = http(
        runserver,
        "POST",
        "/oauth/token",
        f"grant_type=client_credentials&client_id={client_id}",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert issued.status == 200, issued.body
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    assert http(runserver, "GET", "/commerceapi/products", headers=bearer).status == 200

    # when the client is deactivated with the management command
    manage(embedded.environment, "client_deactivate", "--client-id", client_id)

    # then its token is refused within a second
    refused, seconds = within(
        1.0,
        lambda: http(runserver, "GET", "/commerceapi/products", headers=bearer).status == 401,
    )
    assert refused, runserver.log_text()[-2000:]
    assert seconds < 1.0


def test_the_embedded_default_says_its_cache_is_shared_by_the_database(runserver: Server) -> None:
    answer = http(runserver, "GET", "/readyz")
    assert answer.status == 200, answer.body
    assert answer.json()["cache"] == {
        "backend": "database",
        "sharedBy": "every process using this database",
    }


# --- Chunked bodies ------------------------------------------------------------------------------


def chunked(body: bytes, size: int = 7) -> Iterator[bytes]:
    """``body`` in chunks: http.client sends an iterable as Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_gunicorn_reads_a_chunked_body_without_content_length(
    embedded: Embedded, gunicorn: Server
) -> None:
    # given a body that asks for an invalid anonymous id, sent in chunks
    body = json.dumps({"anonymousAuthenticationRequest": "not-a-uuid"}).encode()

    # when it is posted without Content-Length
    answer = http(
        gunicorn,
        "POST",
        AUTH_URL,
        chunked(body),
        {"X-Auth-Key": embedded.key, "Content-Type": "application/json"},
    )

    # then it was read: the id in it is refused (an empty body would have minted a token)
    assert_problem(answer, 400, 2050)


def test_gunicorn_refuses_a_chunked_body_over_the_limit(
    embedded: Embedded, gunicorn: Server
) -> None:
    # given a chunked body one byte over the 64 KiB limit
    body = json.dumps({"anonymousAuthenticationRequest": None, "pad": "x" * 65536}).encode()

    # when it is posted without Content-Length, then 413, the rest unread
    answer = http(
        gunicorn,
        "POST",
        AUTH_URL,
        chunked(body, 4096),
        {"X-Auth-Key": embedded.key, "Content-Type": "application/json"},
    )
    assert_problem(answer, 413, 1013)


def test_runserver_refuses_a_chunked_body_it_cannot_read(
    embedded: Embedded, runserver: Server
) -> None:
    # when a chunked body is posted to a server that cannot end it (sent whole: the server
    # answers before reading it)
    body = b'{"anonymousAuthenticationRequest": null}'
    answer = raw_http(
        runserver,
        f"POST {AUTH_URL} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Key: {embedded.key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in chunked(body))
        + b"0\r\n\r\n",
    )

    # then 411, rather than the body read as empty
    assert_problem(answer, 411, 1011)


# --- What gunicorn refuses itself ------------------------------------------------------------


def request_with(target: str = "/healthz", headers: str = "") -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode()


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        pytest.param(request_with("/healthz?q=" + "a" * 5000), 414, 1014, id="long target, API"),
        pytest.param(request_with("/healthz?q=" + "a" * 9000), 414, 1014, id="long line, server"),
        pytest.param(request_with(headers=f"X-Pad: {'a' * 13000}\r\n"), 431, 1031, id="API"),
        pytest.param(request_with(headers=f"X-Pad: {'a' * 17000}\r\n"), 431, 1031, id="server"),
        pytest.param(
            request_with(headers="".join(f"X-Pad-{n}: {'a' * 4000}\r\n" for n in range(9))),
            431,
            1031,
            id="headers together",
        ),
        pytest.param(
            request_with(headers="".join(f"X-N{n}: 1\r\n" for n in range(120))),
            431,
            1031,
            id="too many headers",
        ),
        pytest.param(
            b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n",
            400,
            1042,
            id="non-numeric content-length",
        ),
        pytest.param(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400, 1040, id="bad line"),
    ],
)
def test_oversized_and_malformed_requests_are_problem_json(
    gunicorn: Server, request_bytes: bytes, status: int, code: int
) -> None:
    # when the request reaches gunicorn as it is
    answer = raw_http(gunicorn, request_bytes)

    # then whoever refuses it, gunicorn or the API, answers with a problem document
    assert_problem(answer, status, code)


def test_runserver_answers_a_non_numeric_content_length_as_problem_json(
    runserver: Server,
) -> None:
    answer = raw_http(
        runserver,
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n"
        b"Connection: close\r\n\r\n",
    )
    assert_problem(answer, 400, 1042)
