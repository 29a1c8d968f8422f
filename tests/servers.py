"""API server processes on loopback for the tests that need real ones: gunicorn or runserver,
started with the project's own settings (not the suite's) and stopped by pid.

``served(...)`` starts a server on a free port and waits for /healthz; ``manage(...)`` runs a
management command in another process; ``http(...)`` is one request over HTTP/1.1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
HOST = "127.0.0.1"
READY_SECONDS = 60
# The variables of the suite's own run that must not reach a server, which is configured only
# by what each test gives it.
_NOT_INHERITED = {
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_SETTINGS_MODULE",
    "DEBUG",
    "SECRET_KEY",
    "SINGLE_PROCESS",
    "WEB_CONCURRENCY",
    "SECRETS_ENCRYPTION_KEYS",
    "TOKEN_ISSUER",
    "PUBLIC_BASE_URL",
}


def project_environment(**variables: str) -> dict[str, str]:
    """The environment of a process of the project: this one's, less its database, cache and
    settings module, plus ``variables``."""
    environment = {name: value for name, value in os.environ.items() if name not in _NOT_INHERITED}
    environment["DJANGO_SETTINGS_MODULE"] = "commerceapi.settings"
    # It shares the suite's database, whose stored secrets the suite's keys encrypted; with
    # DEBUG off it needs an https issuer of its own (no token goes from the suite to it).
    environment["SECRETS_ENCRYPTION_KEYS"] = ",".join(settings.SECRETS_ENCRYPTION_KEYS)
    environment["TOKEN_ISSUER"] = "https://api.test.invalid"
    environment.update(variables)
    return environment


def suite_database_url() -> str:
    """The URL of the PostgreSQL database the suite runs on (its test database's name, not
    DATABASE_URL's), for other processes to share."""
    database = connection.settings_dict
    user = quote(database["USER"] or "", safe="")
    password = quote(database["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    return (
        f"postgres://{credentials}{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        f"/{quote(database['NAME'], safe='')}"
    )


def manage(
    environment: dict[str, str], *arguments: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` with ``arguments`` in a process of its own; it must succeed."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"manage.py {' '.join(arguments)}:\n{done.stderr}"
    return done


def embedded_environment(directory: Path) -> dict[str, str]:
    """The environment of ``make run``'s embedded default (DEBUG, a SQLite file in
    ``directory`` and the database's cache table), migrated, for processes of a test's own."""
    environment = project_environment(
        DEBUG="true", DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}"
    )
    manage(environment, "migrate", "--no-input", "-v", "0")
    manage(environment, "createcachetable")
    return environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def served(
    command: list[str], environment: dict[str, str], log: Path, *, ready_path: str = "/healthz"
) -> Iterator[Server]:
    """Start ``command`` (with ``{port}`` in it) on a free port, ready when ``ready_path``
    answers 200; stop it by pid afterwards."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own servers
            [part.format(port=port) for part in command],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process=process, port=port, log=log)
    try:
        _wait_ready(server, ready_path)
        yield server
    finally:
        _stop(process)


def gunicorn_command(*, workers: int = 1) -> list[str]:
    """gunicorn as the image runs it (gunicorn.conf.py), on the test's port."""
    return [
        GUNICORN,
        "--config=gunicorn.conf.py",
        "commerceapi.wsgi:application",
        f"--bind={HOST}:{{port}}",
        f"--workers={workers}",
        "--graceful-timeout=2",
    ]


def runserver_command() -> list[str]:
    """Django's development server, as ``make run`` starts it (without the reloader, so that
    the pid is the server's)."""
    return [sys.executable, "manage.py", "runserver", f"{HOST}:{{port}}", "--noreload"]


def _wait_ready(server: Server, ready_path: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited at start-up:\n{server.log_text()}")
        try:
            if http(server, "GET", ready_path).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer within {READY_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    server: Server | str,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = 10,
) -> Answer:
    """One request; the answer whatever its status. ``server`` may be a base URL."""
    base_url = server.base_url if isinstance(server, Server) else server
    parts = urlsplit(base_url)
    client = HTTPConnection(parts.hostname or HOST, parts.port, timeout=timeout)
    try:
        client.request(method, path, body=body, headers=headers or {})
        response = client.getresponse()
        return Answer(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=response.read(),
        )
    finally:
        client.close()


def raw_http(server: Server, request: bytes, *, timeout: float = 10) -> Answer:
    """Send ``request`` as it is (a malformed one, say); the answer, whatever its status."""
    with socket.create_connection((HOST, server.port), timeout=timeout) as sock:
        sock.sendall(request)
        response = HTTPResponse(sock)
        response.begin()
        return Answer(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=response.read(),
        )


def within(seconds: float, check: Any, *, every: float = 0.02) -> tuple[Any, float]:
    """Call ``check()`` until it answers something true or ``seconds`` pass: (its last answer,
    the seconds it took)."""
    started = time.monotonic()
    answer = check()
    while not answer and time.monotonic() - started < seconds:
        time.sleep(every)
        answer = check()
    return answer, time.monotonic() - started
