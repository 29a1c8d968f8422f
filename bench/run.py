"""``make bench``: the API with production settings under the shipped server, beside a minimal
hand-written reference (bench/reference/), driven by wrk on loopback with keep-alive connections.

Steps: a database of its own (a fresh SQLite file under bench/work/, or BENCH_DATABASE_URL),
migrated; data seeded through the project's services (bench/seed.py, which prints its progress);
the servers, each on a loopback port (BENCH_PORTS): the API and the reference under the shipped
server (or each server of BENCH_SERVER), and the API under gunicorn's sync workers for the
healthz the older targets are shares of; for each scenario a preflight request that must answer
2xx and a warm-up; then the measured wrk runs, in rounds that take every scenario on every
server in turn, so that a change in the machine's load during the run weighs on all alike (and
shows as a spread of the baseline's rounds); per run the CPU time of the server's processes, of
the database's backends (PostgreSQL) and of wrk, per request; a table printed and written to
bench/RESULTS.md, and a chart to bench/results.svg. The servers are stopped whatever happens
(error, Ctrl-C, SIGTERM).

Exit status: 0 when every request of every scenario got a 2xx answer, even if a target is
missed (the table says so); 1 when any scenario had a non-2xx answer or a socket error, or
the run could not be made. bench/README.md describes the knobs (BENCH_* variables).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from string import Template
from types import FrameType
from typing import Protocol
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chart import chart_svg  # noqa: E402

BENCH = ROOT / "bench"
WORK = BENCH / "work"
RESULTS = BENCH / "RESULTS.md"
CHART = BENCH / "results.svg"
LUA_SCRIPT = BENCH / "request.lua"
PYTHON = sys.executable
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw else default


# The server the image ships (Dockerfile, gunicorn.conf.py); BENCH_SERVER=a,b,c compares.
SHIPPED_SERVER = "gunicorn-gthread"
# The older targets are shares of healthz under gunicorn's sync workers.
SYNC_SERVER = "gunicorn-sync"
# Several workers need the shared cache (Redis); without BENCH_REDIS_URL one worker runs, on
# the database's cache table, as a production single process would (SINGLE_PROCESS=true).
WORKERS = _env_int("BENCH_WORKERS", 2 if os.environ.get("BENCH_REDIS_URL") else 1)
# Threads per worker of the threaded servers (gunicorn gthread, granian's blocking threads).
SERVER_THREADS = _env_int("BENCH_SERVER_THREADS", 4)
THREADS = _env_int("BENCH_THREADS", 2)
CONNECTIONS = _env_int("BENCH_CONNECTIONS", 16)
# Measured seconds per scenario, in ROUNDS runs of equal length.
DURATION_SECONDS = _env_int("BENCH_DURATION", 10)
ROUNDS = max(1, _env_int("BENCH_ROUNDS", 2))
ROUND_SECONDS = max(1, DURATION_SECONDS // ROUNDS)
WARMUP_SECONDS = _env_int("BENCH_WARMUP", 2)
# The server's loopback port; 0: a free one.
PORT = _env_int("BENCH_PORT", 0)
# Never reached under this load, so the throttles run but never refuse; per second, so that
# what a throttle keeps per window (DRF's own keeps every timestamp) stays small.
UNTHROTTLED_RATE = "1000000/s"
# Add to cart adds to the same lines for the whole run.
MAX_QUANTITY_PER_LINE = 1_000_000_000
# The password grant signs in again and again; a lockout (failures only) must never start.
UNLOCKED_PASSWORD_ATTEMPTS = 1_000_000_000
READY_TIMEOUT_SECONDS = 60
# Baseline rounds further apart than this share make the ratios unreliable.
BASELINE_SPREAD_WARNING = 0.15
# No scenario's p99 above this many times its p50.
TAIL_FACTOR = 10
RESULT_LINE = re.compile(r"^BENCH-RESULT (.*)$", re.MULTILINE)
MARK_BEGIN = "<!-- bench:results:begin -->"
MARK_END = "<!-- bench:results:end -->"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- Results and targets --------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    requests: int
    duration_us: int
    non_2xx: int
    socket_errors: int
    p50_us: int
    p99_us: int
    # CPU time during the run: the server's processes, the database's backends, wrk.
    server_cpu_us: int = 0
    database_cpu_us: int = 0
    wrk_cpu_us: int = 0

    @property
    def requests_per_second(self) -> float:
        return self.requests / (self.duration_us / 1_000_000) if self.duration_us else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def per_request(self, cpu_us: int) -> float:
        return cpu_us / self.requests if self.requests else 0.0

    def combined(self, other: Result) -> Result:
        """Two runs as one: throughput over both, errors and CPU of both, the worse
        percentiles."""
        return Result(
            requests=self.requests + other.requests,
            duration_us=self.duration_us + other.duration_us,
            non_2xx=self.non_2xx + other.non_2xx,
            socket_errors=self.socket_errors + other.socket_errors,
            p50_us=max(self.p50_us, other.p50_us),
            p99_us=max(self.p99_us, other.p99_us),
            server_cpu_us=self.server_cpu_us + other.server_cpu_us,
            database_cpu_us=self.database_cpu_us + other.database_cpu_us,
            wrk_cpu_us=self.wrk_cpu_us + other.wrk_cpu_us,
        )


API = "api"
REFERENCE = "reference"


@dataclass(frozen=True)
class Key:
    """What one load measured: a scenario of an app (the API or the reference) on a server."""

    server: str
    app: str
    scenario: str


@dataclass(frozen=True)
class Measured:
    results: dict[Key, Result]
    # Requests/s of each round, per load: the medians the reference targets compare.
    rounds: dict[Key, list[float]]

    def median_rps(self, key: Key) -> float | None:
        rounds = self.rounds.get(key)
        return statistics.median(rounds) if rounds else None


class Target(Protocol):
    def describe(self) -> str: ...

    def ratio(self, key: Key, measured: Measured) -> float | None:
        """What is compared with the bound, or None when this run did not measure both."""

    def is_met(self, key: Key, measured: Measured) -> bool | None: ...


@dataclass(frozen=True)
class ShareOfReference:
    """Requests/s (median of the rounds) at least ``minimum`` times the reference's doing the
    same work, on the same server in the same run."""

    minimum: float
    reference: str

    def describe(self) -> str:
        return f"≥ {self.minimum:.0%} of reference"

    def ratio(self, key: Key, measured: Measured) -> float | None:
        ours = measured.median_rps(key)
        theirs = measured.median_rps(Key(key.server, REFERENCE, self.reference))
        return ours / theirs if ours is not None and theirs else None

    def is_met(self, key: Key, measured: Measured) -> bool | None:
        ratio = self.ratio(key, measured)
        return None if ratio is None else ratio >= self.minimum


@dataclass(frozen=True)
class ShareOfSyncHealthz:
    """Requests/s at least ``minimum`` times healthz's under gunicorn's sync workers (the
    baseline of the earlier runs), in the same run."""

    minimum: float

    def describe(self) -> str:
        return f"≥ {self.minimum:.0%} of sync healthz"

    def ratio(self, key: Key, measured: Measured) -> float | None:
        result = measured.results.get(key)
        baseline = measured.results.get(Key(SYNC_SERVER, API, SCENARIOS[0].name))
        if result is None or baseline is None or not baseline.requests_per_second:
            return None
        return result.requests_per_second / baseline.requests_per_second

    def is_met(self, key: Key, measured: Measured) -> bool | None:
        ratio = self.ratio(key, measured)
        return None if ratio is None else ratio >= self.minimum


@dataclass(frozen=True)
class P99Within:
    """p99 latency at most ``factor`` times another scenario's p99 in the same run."""

    factor: float
    reference: str

    def describe(self) -> str:
        return f"p99 ≤ {self.factor:g}x {self.reference}"

    def ratio(self, key: Key, measured: Measured) -> float | None:
        result = measured.results.get(key)
        other = measured.results.get(Key(key.server, key.app, self.reference))
        if result is None or other is None or not other.p99_us:
            return None
        return result.p99_us / other.p99_us

    def is_met(self, key: Key, measured: Measured) -> bool | None:
        ratio = self.ratio(key, measured)
        return None if ratio is None else ratio <= self.factor


# --- Scenarios ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One endpoint under load. ``$name`` in path, headers and body is replaced by the value
    of that name in bench/seed.py's output.

    With ``each`` set, bench/seed.py's value of that name is a list of objects and one request
    is made per object (its names override the shared ones). wrk's threads take turns through
    the requests and start over at the end. With ``once`` too, each wrk run (warm-up, rounds,
    on each server) gets a part of the list of its own, for requests that succeed only once
    (seed enough of them for a run); each preflight then uses up a request, which goes in no
    part.

    ``connections``: wrk's connections for this scenario instead of BENCH_CONNECTIONS, for an
    endpoint so slow that 16 connections would measure their queue (and near wrk's timeout).

    ``reference``: the reference's scenario doing the same work (bench/reference/), run on the
    same servers; ``app`` is ``reference`` for those.
    """

    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    targets: tuple[Target, ...] = ()
    each: str = ""
    once: bool = False
    connections: int = 0
    reference: Scenario | None = None
    app: str = API


def reference_scenario(name: str, method: str, path: str, **options: object) -> Scenario:
    return Scenario(f"reference: {name}", method, path, app=REFERENCE, **options)  # type: ignore[arg-type]


CART_HEADERS = {"Authorization": "Bearer $cart_token", "X-Customer-Context": "$cart_context"}
ADD_HEADERS = {
    "Authorization": "Bearer $add_token",
    "X-Customer-Context": "$add_context",
    "Content-Type": "application/json",
}

MIGRATE_HEADERS = {
    "Authorization": "Bearer $migrate_token",
    "X-Customer-Context": "$migrate_context",
    "Content-Type": "application/json",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# The password grant runs the production hasher (about a quarter of a second of CPU): two
# connections per worker keep both workers busy without queueing.
PASSWORD_CONNECTIONS = 4

REFERENCE_HEALTHZ = reference_scenario("healthz", "GET", "/healthz")
REFERENCE_TOKEN = reference_scenario(
    "issue one HS256 token", "POST", "/token", headers={"X-Tenant": "$tenant_id"}
)
REFERENCE_CART = reference_scenario(
    "verify one HS256 token, one SQL statement",
    "GET",
    "/cart",
    headers={"Authorization": "Bearer $reference_cart_token"},
)
REFERENCE_CONTEXT = reference_scenario(
    "verify one RS256 token, issue one HS256 token",
    "GET",
    "/context",
    headers={
        "Authorization": "Bearer $customer_token",
        "X-Tenant": "$tenant_id",
        "X-Audience": "$provider_audience",
    },
)
REFERENCE_ADD = reference_scenario(
    "verify one HS256 token, one guarded UPDATE and the read",
    "POST",
    "/cart/lines",
    headers={"Authorization": "Bearer $reference_add_token", "Content-Type": "application/json"},
    body='{"sku": "$add_sku", "quantity": 1}',
    each="add_shoppers",
)

# The first scenario is the baseline that the others' throughput is compared with.
SCENARIOS = [
    Scenario("healthz", "GET", "/healthz", reference=REFERENCE_HEALTHZ),
    Scenario(
        "anonymous token",
        "POST",
        "/commerceapi/authentication/",
        headers={"X-Auth-Key": "$auth_key"},
        targets=(ShareOfReference(0.90, REFERENCE_TOKEN.name),),
        reference=REFERENCE_TOKEN,
    ),
    Scenario(
        "GET cart, 5 lines",
        "GET",
        "/commerceapi/cart",
        headers=CART_HEADERS,
        targets=(ShareOfReference(0.90, REFERENCE_CART.name),),
        reference=REFERENCE_CART,
    ),
    Scenario(
        "customer context, RS256 provider token",
        "GET",
        "/commerceapi/authentication/customercontext",
        headers={"Authorization": "Bearer $customer_token", "X-Auth-Key": "$auth_key"},
        targets=(ShareOfReference(0.85, REFERENCE_CONTEXT.name),),
        reference=REFERENCE_CONTEXT,
    ),
    Scenario(
        "GET cart, customer, 5 lines",
        "GET",
        "/commerceapi/cart",
        headers={
            "Authorization": "Bearer $customer_token",
            "X-Customer-Context": "$customer_context",
        },
    ),
    Scenario(
        "add to cart",
        "POST",
        "/commerceapi/cart/lines",
        headers=ADD_HEADERS,
        body='{"sku": "$add_sku", "quantity": 1}',
        targets=(ShareOfReference(0.75, REFERENCE_ADD.name), ShareOfSyncHealthz(0.15)),
        each="add_shoppers",
        reference=REFERENCE_ADD,
    ),
    Scenario(
        "migrate 5 lines into 5",
        "POST",
        "/commerceapi/cart/migrate",
        headers=MIGRATE_HEADERS,
        body="$migrate_body",
        each="migrations_5",
        once=True,
    ),
    Scenario(
        "migrate 50 lines into 5",
        "POST",
        "/commerceapi/cart/migrate",
        headers=MIGRATE_HEADERS,
        body="$migrate_body",
        targets=(P99Within(2, "migrate 5 lines into 5"),),
        each="migrations_50",
        once=True,
    ),
    Scenario(
        "oauth client_credentials, sales channel (guest)",
        "POST",
        "/oauth/token",
        headers=FORM,
        body="$guest_body",
    ),
    Scenario(
        "oauth client_credentials, integration (Basic)",
        "POST",
        "/oauth/token",
        headers={**FORM, "Authorization": "$integration_basic"},
        body="$integration_body",
    ),
    Scenario(
        f"oauth password, PBKDF2, {PASSWORD_CONNECTIONS} connections",
        "POST",
        "/oauth/token",
        headers=FORM,
        body="$password_body",
        connections=PASSWORD_CONNECTIONS,
    ),
    Scenario(
        "oauth refresh_token rotation",
        "POST",
        "/oauth/token",
        headers=FORM,
        body="$refresh_body",
        targets=(ShareOfSyncHealthz(0.25),),
        each="refreshes",
        once=True,
    ),
    Scenario(
        "checkout, 5 lines",
        "POST",
        "/commerceapi/orders",
        headers={
            "Authorization": "Bearer $checkout_token",
            "X-Customer-Context": "$checkout_context",
            "Idempotency-Key": "$checkout_key",
            "Content-Type": "application/json",
        },
        body='{"email": "guest@bench.local"}',
        targets=(ShareOfSyncHealthz(0.10),),
        each="checkouts",
        once=True,
    ),
    Scenario(
        "reseller Generate Token",
        "POST",
        "/reseller/token",
        headers={"Content-Type": "application/json"},
        body="$reseller_credentials",
    ),
    Scenario(
        "reseller order, 5 lines",
        "POST",
        "/reseller/orders",
        headers={
            "Authorization": "Bearer $reseller_token",
            "Idempotency-Key": "$reseller_key",
            "Content-Type": "application/json",
        },
        body="$reseller_order_body",
        each="reseller_orders",
        once=True,
    ),
    Scenario(
        "supplier product list, 50 of 100",
        "GET",
        "/supplier/products?pageSize=50",
        headers={"ApiKey": "$supplier_key"},
    ),
    Scenario(
        "payment event, capture",
        "POST",
        "/payment/orders/$payment_order/events",
        headers={
            "ApiKey": "$payment_api_key",
            "Idempotency-Key": "$payment_key",
            "Content-Type": "application/json",
        },
        body='{"type": "captured", "amount": "0.01", "currency": "EUR", '
        '"pspReference": "$payment_psp", "occurredAt": "2026-12-03T12:00:00Z"}',
        each="payment_events",
        once=True,
    ),
]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: str


def render(scenario: Scenario, seed: dict[str, object]) -> list[HttpRequest]:
    shared = {name: value for name, value in seed.items() if isinstance(value, str)}
    if scenario.each:
        items = seed[scenario.each]
        assert isinstance(items, list) and items, f"seed value {scenario.each!r} is not a list"
        variants = [{**shared, **item} for item in items]
    else:
        variants = [shared]
    return [
        HttpRequest(
            method=scenario.method,
            path=Template(scenario.path).substitute(values),
            headers={
                name: Template(value).substitute(values) for name, value in scenario.headers.items()
            },
            body=Template(scenario.body).substitute(values),
        )
        for values in variants
    ]


def requests_file_write(path: Path, requests: list[HttpRequest]) -> None:
    """The format bench/request.lua reads: request line, headers, empty line, body line."""
    blocks = []
    for request in requests:
        if "\n" in request.body or any("\n" in value for value in request.headers.values()):
            raise ValueError("request bodies and headers must fit on one line")
        header_lines = "".join(f"{name}: {value}\n" for name, value in request.headers.items())
        blocks.append(f"{request.method} {request.path}\n{header_lines}\n{request.body}\n")
    path.write_text("".join(blocks))


def selected_scenarios() -> list[Scenario]:
    """BENCH_ONLY=word,word: the scenarios whose name contains a word, and the baseline."""
    words = [word.strip().lower() for word in os.environ.get("BENCH_ONLY", "").split(",")]
    return [
        scenario
        for index, scenario in enumerate(SCENARIOS)
        if index == 0
        or not any(words)
        or any(word and word in scenario.name.lower() for word in words)
    ]


# --- The servers ----------------------------------------------------------------------------


class BenchError(Exception):
    pass


def database_url() -> tuple[str, str]:
    """The database URL and how to describe it (without its password).

    BENCH_DATABASE_URL names a database that exists; it is migrated and each run adds a tenant
    of its own to it (nothing is dropped). Without it, a fresh SQLite file.
    """
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if url:
        parts = urlsplit(url)
        host = parts.hostname or "local socket"
        port = f":{parts.port}" if parts.port else ""
        return url, f"{parts.scheme} {host}{port}{parts.path} (BENCH_DATABASE_URL)"
    path = WORK / "bench.sqlite3"
    return f"sqlite:///{path}", f"SQLite, fresh file {relative(str(path))}"


# Kept across runs (bench/work/keep/ survives a run's clean-up): a database reused with
# BENCH_DATABASE_URL holds signing keys encrypted with it by the earlier runs.
ENCRYPTION_KEY_FILE = WORK / "keep" / "secrets-encryption-key"


def secrets_encryption_key() -> str:
    """A Fernet key (32 random bytes, url-safe base64) for the secrets stored encrypted, made on
    the first run."""
    if not ENCRYPTION_KEY_FILE.exists():
        ENCRYPTION_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        ENCRYPTION_KEY_FILE.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        ENCRYPTION_KEY_FILE.chmod(0o600)
    return ENCRYPTION_KEY_FILE.read_text().strip()


def server_environment(url: str) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        # The shell's own database and cache must not leak into the benchmark's server.
        if name not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "WEB_CONCURRENCY"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="commerceapi.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECRETS_ENCRYPTION_KEYS=secrets_encryption_key(),
        TOKEN_ISSUER=f"https://{HOST}",
        ALLOWED_HOSTS=HOST,
        DATABASE_URL=url,
        THROTTLE_ANONYMOUS_TOKEN_PER_ADDRESS=UNTHROTTLED_RATE,
        THROTTLE_ANONYMOUS_TOKEN_PER_KEY=UNTHROTTLED_RATE,
        THROTTLE_OAUTH_TOKEN_PER_ADDRESS=UNTHROTTLED_RATE,
        THROTTLE_OAUTH_PASSWORD_PER_ADDRESS=UNTHROTTLED_RATE,
        THROTTLE_API_KEY=UNTHROTTLED_RATE,
        PASSWORD_LOCKOUT_ATTEMPTS=str(UNLOCKED_PASSWORD_ATTEMPTS),
        CART_MAX_QUANTITY_PER_LINE=str(MAX_QUANTITY_PER_LINE),
    )
    if os.environ.get("BENCH_REDIS_URL"):
        environment["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    else:
        environment["SINGLE_PROCESS"] = "true"
    return environment


APPLICATIONS = {API: "commerceapi.wsgi:application", REFERENCE: "bench.reference.wsgi:application"}


def _gunicorn(worker_class: str, *extra: str) -> ServerCommand:
    def command(application: str, port: int) -> list[str]:
        return [
            str(BIN / "gunicorn"),
            "--config=gunicorn.conf.py",
            application,
            f"--bind={HOST}:{port}",
            f"--worker-class={worker_class}",
            f"--workers={WORKERS}",
            *extra,
            # No worker restarts mid-run: they would close kept-alive connections (a socket
            # error for wrk) and take the worker's CPU time out of the reading.
            "--max-requests=0",
            "--backlog=2048",
            "--graceful-timeout=5",
            "--log-level=warning",
        ]

    return command


def _granian(application: str, port: int) -> list[str]:
    return [
        str(BIN / "granian"),
        "--interface=wsgi",
        f"--host={HOST}",
        f"--port={port}",
        f"--workers={WORKERS}",
        f"--blocking-threads={SERVER_THREADS}",
        "--backlog=2048",
        "--no-ws",
        "--log-level=warning",
        application,
    ]


class ServerCommand(Protocol):
    def __call__(self, application: str, port: int) -> list[str]: ...


SERVERS: dict[str, ServerCommand] = {
    "gunicorn-sync": _gunicorn("core.gunicorn_worker.ProblemSyncWorker"),
    "gunicorn-gthread": _gunicorn(
        "core.gunicorn_worker.ProblemThreadWorker", f"--threads={SERVER_THREADS}"
    ),
    "granian": _granian,
}


def selected_servers() -> list[str]:
    """BENCH_SERVER=a,b: the servers to compare (the first one's table is the main one)."""
    names = [name.strip() for name in os.environ.get("BENCH_SERVER", SHIPPED_SERVER).split(",")]
    names = [name for name in names if name]
    unknown = [name for name in names if name not in SERVERS]
    if unknown or not names:
        raise BenchError(
            f"BENCH_SERVER: unknown server {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(SERVERS)}"
        )
    return names


def port_range() -> range:
    """BENCH_PORTS=8400-8499: where the servers listen; any free loopback port without it."""
    raw = os.environ.get("BENCH_PORTS", "")
    if not raw:
        return range(0, 1)
    low, _, high = raw.partition("-")
    return range(int(low), int(high or low) + 1)


_ports_taken: set[int] = set()


def free_port() -> int:
    for port in port_range():
        if port in _ports_taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            chosen = int(probe.getsockname()[1])
        _ports_taken.add(chosen)
        return chosen
    raise BenchError(f"no free port in BENCH_PORTS={os.environ.get('BENCH_PORTS')}")


def _descendants(pid: int) -> list[int]:
    """``pid`` and the processes under it (the server's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def cpu_microseconds(pids: list[int]) -> dict[int, int]:
    """User and system CPU time of each of ``pids`` (all its threads), from /proc."""
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) * 1_000_000 // CLOCK_TICKS
    return found


def cpu_spent(before: dict[int, int], after: dict[int, int]) -> int:
    """CPU time between two readings; a process started in between counts from zero (one that
    ended in between is lost: the bench turns worker restarts off)."""
    return sum(cpu - before.get(pid, 0) for pid, cpu in after.items())


class Server:
    """One server process (and its workers) serving one application on a loopback port."""

    def __init__(self, kind: str, app: str, environment: dict[str, str]) -> None:
        self.kind = kind
        self.app = app
        self.environment = environment
        self.log_path = WORK / f"server.{kind}.{app}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.command: list[str] = []

    @property
    def label(self) -> str:
        return f"{self.kind} ({self.app})"

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.port = PORT or free_port()
        self.command = SERVERS[self.kind](APPLICATIONS[self.app], self.port)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A session of its own: Ctrl-C reaches this script, which stops the server.
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BenchError(f"{self.label} exited at start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"{self.label} did not answer within {READY_TIMEOUT_SECONDS} s")

    def cpu_us(self) -> dict[int, int]:
        assert self.process is not None
        return cpu_microseconds(_descendants(self.process.pid))

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class DatabaseBackends:
    """The PostgreSQL backends serving the bench database (CPU time from /proc: the server
    runs on this machine); nothing for SQLite, which runs inside the server's processes."""

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def measured(self) -> bool:
        return self.url.startswith("postgres")

    def cpu_us(self) -> dict[int, int]:
        if not self.measured:
            return {}
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://", 1)) as db:
            rows = db.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        return cpu_microseconds([int(pid) for (pid,) in rows])

    def checkpoints(self) -> tuple[int, float]:
        """Checkpoints so far on the whole server (any database's), and their sync seconds:
        each one makes commits wait behind its fsyncs."""
        if not self.measured:
            return 0, 0.0
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://", 1)) as db:
            row = db.execute(
                "SELECT checkpoints_timed + checkpoints_req, checkpoint_sync_time "
                "FROM pg_stat_bgwriter"
            ).fetchone()
        assert row is not None
        return int(row[0]), float(row[1]) / 1000


# --- Load ------------------------------------------------------------------------------------


def preflight(base_url: str, request: HttpRequest) -> None:
    """One request before the load: anything but a 2xx stops the run, with the answer shown."""
    data = request.body.encode() if request.body else None
    prepared = urllib.request.Request(
        base_url + request.path, data=data, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(prepared, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    if not 200 <= status < 300:
        answer = body[:500].decode(errors="replace")
        raise BenchError(f"{request.method} {request.path} answered {status}: {answer}")


def wrk_command(url: str, seconds: int, connections: int = CONNECTIONS) -> list[str]:
    return [
        "wrk",
        f"--threads={THREADS}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=5s",
        "--latency",
        f"--script={LUA_SCRIPT}",
        url,
    ]


def _children_cpu_us() -> int:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int((usage.ru_utime + usage.ru_stime) * 1_000_000)


def wrk_run(
    url: str,
    requests_file: Path,
    seconds: int,
    output: Path,
    connections: int,
    server: Server,
    database: DatabaseBackends,
) -> Result:
    """One wrk run; its output is kept in ``output``, its numbers read from bench/request.lua's
    result line (microseconds, wrk's own counts of non-2xx/3xx answers and socket errors), the
    CPU time of the server, the database and wrk read around it."""
    environment = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_THREADS": str(THREADS),
    }
    server_before, database_before = server.cpu_us(), database.cpu_us()
    wrk_before = _children_cpu_us()
    completed = subprocess.run(
        wrk_command(url, seconds, connections),
        env=environment,
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
    wrk_cpu = _children_cpu_us() - wrk_before
    server_cpu = cpu_spent(server_before, server.cpu_us())
    database_cpu = cpu_spent(database_before, database.cpu_us())
    output.write_text(completed.stdout + completed.stderr)
    match = RESULT_LINE.search(completed.stdout)
    if completed.returncode != 0 or match is None:
        raise BenchError(
            f"wrk failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )
    values = {key: int(value) for key, value in (pair.split("=") for pair in match[1].split())}
    return Result(
        requests=values["requests"],
        duration_us=values["duration_us"],
        non_2xx=values["non_2xx_3xx"],
        socket_errors=sum(values[key] for key in ("connect", "read", "write", "timeout")),
        p50_us=values["p50_us"],
        p99_us=values["p99_us"],
        server_cpu_us=server_cpu,
        database_cpu_us=database_cpu,
        wrk_cpu_us=wrk_cpu,
    )


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class Load:
    """One scenario on one server: its requests files (one per wrk run) and what its runs
    measured."""

    scenario: Scenario
    server: Server
    requests_files: list[Path]
    requests_counts: list[int]
    url: str
    rounds: list[Result] = field(default_factory=list)
    warmup_non_2xx: int = 0
    warmup_socket_errors: int = 0

    @property
    def key(self) -> Key:
        return Key(self.server.kind, self.scenario.app, self.scenario.name)

    @property
    def label(self) -> str:
        return f"{self.scenario.name} on {self.server.kind}"

    @property
    def result(self) -> Result:
        combined = self.rounds[0]
        for result in self.rounds[1:]:
            combined = combined.combined(result)
        return Result(
            requests=combined.requests,
            duration_us=combined.duration_us,
            # The warm-up's errors count too: an error is an error whenever it happens.
            non_2xx=combined.non_2xx + self.warmup_non_2xx,
            socket_errors=combined.socket_errors + self.warmup_socket_errors,
            p50_us=combined.p50_us,
            p99_us=combined.p99_us,
            server_cpu_us=combined.server_cpu_us,
            database_cpu_us=combined.database_cpu_us,
            wrk_cpu_us=combined.wrk_cpu_us,
        )


def loads_prepare(scenario: Scenario, servers: list[Server], seed: dict[str, object]) -> list[Load]:
    """The scenario's loads, one per server: requests files rendered, first requests checked.

    A request that succeeds once is sent by one run only: the list is split into a part per
    run (warm-up and rounds) per server, after one request per server for its preflight.
    """
    requests = render(scenario, seed)
    runs = 1 + ROUNDS  # the warm-up, then the rounds
    if scenario.once:
        needed = len(servers) * (1 + runs)
        if len(requests) < needed:
            raise BenchError(f"{scenario.name}: seed at least {needed} requests, one set per run")
        preflights, rest = requests[: len(servers)], requests[len(servers) :]
        count = len(servers) * runs
        parts = [rest[index::count] for index in range(count)]
    else:
        preflights, parts = [requests[0]] * len(servers), [requests] * len(servers) * runs
    loads = []
    for number, server in enumerate(servers):
        own = parts[number * runs : (number + 1) * runs] if scenario.once else parts[:1]
        files = []
        for index, part in enumerate(own):
            path = WORK / f"{slug(scenario.name)}.{server.kind}.{index}.requests"
            requests_file_write(path, part)
            files.append(path)
        preflight(server.base_url, preflights[number])
        # wrk needs a URL, but every request's own path comes from the requests file.
        loads.append(
            Load(
                scenario,
                server,
                files,
                requests_counts=[len(part) for part in own],
                url=server.base_url + requests[0].path,
            )
        )
    return loads


def load_run(load: Load, run_index: int, database: DatabaseBackends) -> None:
    """Run 0 is the warm-up; runs 1.. are the measured rounds."""
    part = run_index % len(load.requests_files)
    requests_file = load.requests_files[part]
    name = f"{slug(load.scenario.name)}.{load.server.kind}"
    connections = load.scenario.connections or CONNECTIONS
    arguments = (connections, load.server, database)
    if run_index == 0:
        output = WORK / f"{name}.warmup.txt"
        warmup = wrk_run(load.url, requests_file, WARMUP_SECONDS, output, *arguments)
        load.warmup_non_2xx = warmup.non_2xx
        load.warmup_socket_errors = warmup.socket_errors
        sent = warmup.requests
    else:
        output = WORK / f"{name}.round{run_index}.txt"
        load.rounds.append(wrk_run(load.url, requests_file, ROUND_SECONDS, output, *arguments))
        sent = load.rounds[-1].requests
    if load.scenario.once:
        seeded = load.requests_counts[part]
        if sent > seeded:
            raise BenchError(
                f"{load.label}: {sent} requests but {seeded} seeded; repeated requests "
                "would measure something else. Seed more in bench/seed.py."
            )


# --- Report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    measured: Measured
    servers: list[str]
    scenarios: list[Scenario]
    load_before: float
    load_after: float
    database: str
    database_measured: bool
    server_commands: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)

    @property
    def primary(self) -> str:
        return self.servers[0]

    @property
    def baseline_rounds(self) -> list[float]:
        return self.measured.rounds.get(Key(self.primary, API, SCENARIOS[0].name), [])

    @property
    def baseline_spread(self) -> float:
        """How far apart the baseline's fastest and slowest rounds are, as a share."""
        rounds = self.baseline_rounds
        fastest = max(rounds) if rounds else 0
        return (fastest - min(rounds)) / fastest if fastest else 0.0

    def verdicts(self, server: str) -> list[bool | None]:
        found: list[bool | None] = []
        for scenario in self.scenarios:
            key = Key(server, API, scenario.name)
            if key not in self.measured.results:
                continue
            found.extend(target.is_met(key, self.measured) for target in scenario.targets)
            found.append(tail_met(self.measured.results[key]))
        return found

    def all_met(self, server: str) -> bool:
        return all(verdict is not False for verdict in self.verdicts(server))


def tail_met(result: Result) -> bool:
    return result.p99_us <= TAIL_FACTOR * result.p50_us


def relative(text: str) -> str:
    return text.replace(str(ROOT) + "/", "")


def milliseconds(microseconds: int) -> str:
    return f"{microseconds / 1000:.1f} ms"


def per_second(rate: float) -> str:
    """Requests/s; below 10 with a decimal (the password grant's few a second)."""
    return f"{rate:.1f}" if rate < 10 else f"{rate:,.0f}"


def share(ratio: float) -> str:
    """A share of the baseline; below 1% with a decimal, which 0% would hide."""
    return f"{ratio:.1%}" if ratio < 0.01 else f"{ratio:.0%}"


def cpu_cell(result: Result, cpu_us: int) -> str:
    return f"{result.per_request(cpu_us):,.0f}"


def target_cells(scenario: Scenario, key: Key, measured: Measured) -> tuple[str, str]:
    """The targets with what was measured, and the verdict."""
    result = measured.results[key]
    texts, verdicts = [], []
    for target in scenario.targets:
        ratio, met = target.ratio(key, measured), target.is_met(key, measured)
        if isinstance(target, P99Within):
            measured_text = "not measured" if ratio is None else f"{ratio:.2f}x"
        else:
            measured_text = "not measured" if ratio is None else share(ratio)
        texts.append(f"{target.describe()}: {measured_text}")
        verdicts.append(met)
    ratio = result.p99_us / result.p50_us if result.p50_us else 0.0
    texts.append(f"p99 ≤ {TAIL_FACTOR}x p50: {ratio:.1f}x")
    verdicts.append(tail_met(result))
    if result.errors:
        return "; ".join(texts), "ERRORS"
    if any(verdict is False for verdict in verdicts):
        verdict = "MISSED"
    elif any(verdict is None for verdict in verdicts):
        verdict = "pass (part not measured)"
    else:
        verdict = "pass"
    return "; ".join(texts), verdict


def table(run: Run, server: str) -> str:
    measured = run.measured
    baseline = measured.results.get(Key(server, API, SCENARIOS[0].name))
    base_rps = baseline.requests_per_second if baseline else 0.0
    database = " | db CPU µs/req" if run.database_measured else ""
    rows = [
        "| scenario | requests/s | p50 | p99 | vs healthz | vs reference | server CPU µs/req"
        f"{database} | targets | result | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        + (" ---: |" if database else "")
        + " --- | --- | ---: |",
    ]
    for scenario in run.scenarios:
        key = Key(server, API, scenario.name)
        result = measured.results.get(key)
        if result is None:
            continue
        ratio = result.requests_per_second / base_rps if base_rps else 0.0
        reference = "—"
        if scenario.reference is not None:
            theirs = measured.median_rps(Key(server, REFERENCE, scenario.reference.name))
            ours = measured.median_rps(key)
            if theirs and ours is not None:
                reference = share(ours / theirs)
        targets, verdict = target_cells(scenario, key, measured)
        database_cell = f" {cpu_cell(result, result.database_cpu_us)} |" if database else ""
        rows.append(
            f"| {scenario.name} | {per_second(result.requests_per_second)} | "
            f"{milliseconds(result.p50_us)} | {milliseconds(result.p99_us)} | {share(ratio)} | "
            f"{reference} | {cpu_cell(result, result.server_cpu_us)} |{database_cell} "
            f"{targets} | {verdict} | {result.errors} |"
        )
    return "\n".join(rows)


def reference_table(run: Run, server: str) -> str:
    database = " | db CPU µs/req" if run.database_measured else ""
    rows = [
        f"| reference ({server}) | requests/s | p50 | p99 | server CPU µs/req{database} | errors |",
        "| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if database else "") + " ---: |",
    ]
    for scenario in run.scenarios:
        if scenario.reference is None:
            continue
        result = run.measured.results.get(Key(server, REFERENCE, scenario.reference.name))
        if result is None:
            continue
        database_cell = f" {cpu_cell(result, result.database_cpu_us)} |" if database else ""
        rows.append(
            f"| {scenario.reference.name.removeprefix('reference: ')} | "
            f"{per_second(result.requests_per_second)} | {milliseconds(result.p50_us)} | "
            f"{milliseconds(result.p99_us)} | {cpu_cell(result, result.server_cpu_us)} |"
            f"{database_cell} {result.errors} |"
        )
    return "\n".join(rows)


def comparison_table(run: Run) -> str:
    """Requests/s and server CPU µs per request of each scenario on each server."""
    header = " | ".join(f"{server} req/s | µs/req" for server in run.servers)
    rows = [
        f"| scenario | {header} |",
        "| --- |" + " ---: | ---: |" * len(run.servers),
    ]
    names = [(API, scenario.name) for scenario in run.scenarios] + [
        (REFERENCE, scenario.reference.name)
        for scenario in run.scenarios
        if scenario.reference is not None
    ]
    for app, name in names:
        cells = []
        for server in run.servers:
            result = run.measured.results.get(Key(server, app, name))
            cells.append(
                "— | —"
                if result is None
                else f"{per_second(result.requests_per_second)} | "
                f"{cpu_cell(result, result.server_cpu_us)}"
            )
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(rows)


def baseline_note(run: Run) -> str:
    rounds = ", ".join(f"{rps:,.0f}" for rps in run.baseline_rounds)
    note = (
        f"{SCENARIOS[0].name} on {run.primary} per round: {rounds} requests/s "
        f"({run.baseline_spread:.0%} apart). Requests/s over all rounds (shares of the reference:"
        " medians of the rounds); p50 and p99 of the slowest round."
    )
    sync = run.measured.results.get(Key(SYNC_SERVER, API, SCENARIOS[0].name))
    if sync is not None:
        note += (
            f" {SCENARIOS[0].name} on {SYNC_SERVER} (the older targets' baseline): "
            f"{per_second(sync.requests_per_second)} requests/s."
        )
    if run.baseline_spread > BASELINE_SPREAD_WARNING:
        note += " **The machine's load changed during the run: ratios are unreliable.**"
    return note


def verdict_line(run: Run) -> str:
    return (
        "Targets: shares of the reference on the same server, of healthz under gunicorn's "
        f"sync workers, and p99 ≤ {TAIL_FACTOR}x p50. "
        + (
            f"Every target met on {run.primary}."
            if run.all_met(run.primary)
            else f"**At least one target missed on {run.primary}.**"
        )
    )


def machine_description(run: Run) -> list[str]:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found[1] if found else cpu
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_name = wrk_version.stdout.split(" [")[0] if wrk_version.stdout else "wrk"
    cache = (
        "Redis (BENCH_REDIS_URL)"
        if os.environ.get("BENCH_REDIS_URL")
        else "the database's cache table (SINGLE_PROCESS)"
    )
    versions = [f"gunicorn {metadata.version('gunicorn')}"]
    if "granian" in run.servers:
        versions.append(f"granian {metadata.version('granian')}")
    load_command = wrk_command(f"http://{HOST}:PORT/PATH", ROUND_SECONDS)
    lines = [
        f"- Machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}; "
        f"load average {run.load_before:.2f} before the run, {run.load_after:.2f} after",
        f"- Python {platform.python_version()}, Django {metadata.version('django')}, "
        f"{', '.join(versions)}; {WORKERS} workers, {SERVER_THREADS} threads each "
        "(gthread, granian)",
        f"- Database: {run.database}; cache: {cache}",
        f"- Load: {wrk_name}, {THREADS} threads, {CONNECTIONS} connections (kept alive where the "
        f"server keeps them), on the same machine; per scenario a {WARMUP_SECONDS} s warm-up, "
        f"then {ROUNDS} rounds of {ROUND_SECONDS} s taking the scenarios and servers in turn",
        f"- Load command: `{relative(shlex.join(load_command))}`",
        "- CPU µs/req: user + system time of the server's processes"
        + (" and of the database's backends" if run.database_measured else "")
        + " (/proc) during the rounds, per request",
    ]
    for label, command in run.server_commands.items():
        lines.append(f"- {label}: `{relative(shlex.join(command))}`")
    lines.extend(f"- {note}" for note in run.notes)
    return lines


def command_line() -> str:
    secret_names = {"BENCH_DATABASE_URL", "BENCH_REDIS_URL"}
    overrides = [
        f"{name}={'…' if name in secret_names else os.environ[name]}"
        for name in sorted(os.environ)
        if name.startswith("BENCH_") and os.environ[name]
    ]
    return " ".join([*overrides, "make bench"])


def report(run: Run) -> str:
    parts = [table(run, run.primary), "", reference_table(run, run.primary), ""]
    if len(run.servers) > 1:
        parts += ["Servers side by side:", "", comparison_table(run), ""]
    parts += [verdict_line(run), baseline_note(run)]
    return "\n".join(parts)


def results_write(run: Run) -> None:
    """Replace the measured block of bench/RESULTS.md; notes around it are kept."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join(
        [
            MARK_BEGIN,
            f"Measured {now} with `{command_line()}` on {run.primary}.",
            "",
            report(run),
            "",
            *machine_description(run),
            "",
            f"![requests/s per scenario]({CHART.name})",
            MARK_END,
        ]
    )
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    if MARK_BEGIN in previous and MARK_END in previous:
        before, rest = previous.split(MARK_BEGIN, 1)
        after = rest.split(MARK_END, 1)[1]
        RESULTS.write_text(before + block + after)
    else:
        RESULTS.write_text("# Benchmark results\n\n" + block + "\n" + previous)


def chart_write(run: Run) -> None:
    groups = []
    for scenario in run.scenarios:
        bars = []
        for server in run.servers:
            result = run.measured.results.get(Key(server, API, scenario.name))
            if result is not None:
                bars.append((server, result.requests_per_second))
        if scenario.reference is not None:
            result = run.measured.results.get(Key(run.primary, REFERENCE, scenario.reference.name))
            if result is not None:
                bars.append((f"reference on {run.primary}", result.requests_per_second))
        if bars:
            groups.append((scenario.name, bars))
    title = f"requests/s, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    CHART.write_text(chart_svg(title, groups))


# --- Main -----------------------------------------------------------------------------------


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def step(message: str) -> None:
    print(f"bench: {message}", flush=True)


def servers_for(kinds: list[str], environment: dict[str, str]) -> list[Server]:
    """The API and the reference under each server compared; gunicorn's sync workers serve
    the API's healthz for the older targets if they are not compared anyway."""
    reference_environment = {**environment, "DJANGO_SETTINGS_MODULE": "bench.reference.settings"}
    servers = []
    for kind in kinds:
        servers.append(Server(kind, API, environment))
        servers.append(Server(kind, REFERENCE, reference_environment))
    if SYNC_SERVER not in kinds:
        servers.append(Server(SYNC_SERVER, API, environment))
    return servers


def measure(
    servers: list[Server],
    kinds: list[str],
    seed: dict[str, object],
    database: str,
    backends: DatabaseBackends,
) -> Run:
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        step(f"warning: load average {load_before:.2f}: other programs compete for the CPUs")
    scenarios = selected_scenarios()
    loads: list[Load] = []
    for scenario in scenarios:
        api = [s for s in servers if s.app == API and (s.kind in kinds or scenario is SCENARIOS[0])]
        loads.extend(loads_prepare(scenario, api, seed))
        if scenario.reference is not None:
            references = [s for s in servers if s.app == REFERENCE]
            loads.extend(loads_prepare(scenario.reference, references, seed))
    checkpoints_before = backends.checkpoints()
    total = len(loads) * (WARMUP_SECONDS + ROUNDS * ROUND_SECONDS)
    step(f"{len(loads)} loads, about {total // 60} min {total % 60} s of load from here")
    for number, load in enumerate(loads, start=1):
        step(f"warm-up {number}/{len(loads)}: {load.label}, {WARMUP_SECONDS} s")
        load_run(load, 0, backends)
    for round_index in range(1, ROUNDS + 1):
        for number, load in enumerate(loads, start=1):
            step(
                f"round {round_index}/{ROUNDS}, {number}/{len(loads)}: {load.label}, "
                f"{ROUND_SECONDS} s"
            )
            load_run(load, round_index, backends)
            last = load.rounds[-1]
            print(
                f"       {per_second(last.requests_per_second)} requests/s, p99 "
                f"{milliseconds(last.p99_us)}, {last.errors} errors",
                flush=True,
            )
    notes = [f"Password hasher: {seed['password_hasher']}"] if "password_hasher" in seed else []
    if backends.measured:
        count, sync_seconds = backends.checkpoints()
        notes.append(
            f"PostgreSQL checkpoints during the load (the whole server's): "
            f"{count - checkpoints_before[0]}, {sync_seconds - checkpoints_before[1]:.1f} s of "
            "fsync; commits wait behind them (the write scenarios' p99)"
        )
    return Run(
        measured=Measured(
            results={load.key: load.result for load in loads},
            rounds={
                load.key: [result.requests_per_second for result in load.rounds] for load in loads
            },
        ),
        servers=kinds,
        scenarios=scenarios,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        database=database,
        database_measured=backends.measured,
        server_commands={server.label: server.command for server in servers},
        notes=notes,
    )


def prepare(environment: dict[str, str], servers: int) -> dict[str, object]:
    """Migrate the database and seed it (the seed's progress shown); the seeded values by
    name. Requests that succeed once are seeded for ``servers`` servers, and only for the
    selected scenarios."""
    sent = {scenario.each for scenario in selected_scenarios() if scenario.once}
    unsent = {scenario.each for scenario in SCENARIOS if scenario.once} - sent
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    subprocess.run([PYTHON, "manage.py", "createcachetable"], cwd=ROOT, env=environment, check=True)
    seeded = subprocess.run(
        [PYTHON, str(BENCH / "seed.py")],
        cwd=ROOT,
        env={
            **environment,
            "BENCH_SEED_SERVERS": str(servers),
            "BENCH_SEED_UNSENT": ",".join(sorted(unsent)),
        },
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    seed = json.loads(seeded.stdout)
    assert isinstance(seed, dict)
    return seed


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 1
    # Also when started with SIGINT ignored (in the background of a script): stop cleanly.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    WORK.mkdir(exist_ok=True)
    for stale in WORK.iterdir():
        if stale.is_file():
            stale.unlink()
    url, database = database_url()
    environment = server_environment(url)
    servers: list[Server] = []
    try:
        kinds = selected_servers()
        if "granian" in kinds and shutil.which(str(BIN / "granian")) is None:
            raise BenchError("granian is not installed: pip install -e '.[bench]'")
        step(f"migrating and seeding: {database}")
        seed = prepare(environment, len(kinds))
        servers = servers_for(kinds, environment)
        for server in servers:
            step(f"starting {server.label}")
            server.start()
        for server in servers:
            server.wait_ready()
            step(f"{server.label} serving on {server.base_url}")
        run = measure(servers, kinds, seed, database, DatabaseBackends(url))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"bench: {relative(shlex.join(map(str, error.cmd)))} failed", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            server.stop()
    print()
    print(report(run))
    results_write(run)
    chart_write(run)
    print(f"bench: written to {relative(str(RESULTS))} and {relative(str(CHART))}")
    results = run.measured.results
    failed = [f"{key.scenario} ({key.server})" for key, r in results.items() if r.errors]
    if failed:
        print(f"bench: FAILED: non-2xx answers or socket errors in: {', '.join(failed)}")
        print(f"bench: wrk's output and the server logs are in {relative(str(WORK))}/")
        return 1
    for kind in run.servers:
        met = run.all_met(kind)
        print(f"bench: {kind}: " + ("every target met" if met else "at least one target MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
