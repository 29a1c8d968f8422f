"""``make bench``: the API under gunicorn with production settings, driven by wrk on loopback.

Steps: a database of its own (a fresh SQLite file under bench/work/, or BENCH_DATABASE_URL),
migrated; data seeded through the project's services (bench/seed.py); gunicorn on a free
127.0.0.1 port; for each scenario a preflight request that must answer 2xx and a warm-up;
then the measured wrk runs, in rounds that take every scenario in turn, so that a change in
the machine's load during the run weighs on all scenarios alike (and shows as a spread of the
baseline's rounds); a table printed and written to bench/RESULTS.md. The server is stopped
whatever happens (error, Ctrl-C, SIGTERM).

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
import secrets
import shlex
import shutil
import signal
import socket
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
BENCH = ROOT / "bench"
WORK = BENCH / "work"
RESULTS = BENCH / "RESULTS.md"
LUA_SCRIPT = BENCH / "request.lua"
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
HOST = "127.0.0.1"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw else default


# Several workers need the shared cache (Redis); without BENCH_REDIS_URL one worker runs, on
# the database's cache table, as a production single process would (SINGLE_PROCESS=true).
WORKERS = _env_int("BENCH_WORKERS", 2 if os.environ.get("BENCH_REDIS_URL") else 1)
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
READY_TIMEOUT_SECONDS = 30
# Baseline rounds further apart than this share make the ratios unreliable.
BASELINE_SPREAD_WARNING = 0.15
RESULT_LINE = re.compile(r"^BENCH-RESULT (.*)$", re.MULTILINE)
MARK_BEGIN = "<!-- bench:results:begin -->"
MARK_END = "<!-- bench:results:end -->"


# --- Results and targets --------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    requests: int
    duration_us: int
    non_2xx: int
    socket_errors: int
    p50_us: int
    p99_us: int

    @property
    def requests_per_second(self) -> float:
        return self.requests / (self.duration_us / 1_000_000) if self.duration_us else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def combined(self, other: Result) -> Result:
        """Two runs as one: throughput over both, errors of both, the worse percentiles."""
        return Result(
            requests=self.requests + other.requests,
            duration_us=self.duration_us + other.duration_us,
            non_2xx=self.non_2xx + other.non_2xx,
            socket_errors=self.socket_errors + other.socket_errors,
            p50_us=max(self.p50_us, other.p50_us),
            p99_us=max(self.p99_us, other.p99_us),
        )


class Target(Protocol):
    def describe(self) -> str: ...

    def is_met(self, result: Result, results: dict[str, Result]) -> bool: ...


@dataclass(frozen=True)
class ThroughputRatio:
    """Requests/s at least ``minimum`` times the baseline scenario's in the same run."""

    minimum: float

    def describe(self) -> str:
        return f"≥ {self.minimum:.0%}"

    def is_met(self, result: Result, results: dict[str, Result]) -> bool:
        baseline = results[SCENARIOS[0].name]
        return result.requests_per_second >= self.minimum * baseline.requests_per_second


@dataclass(frozen=True)
class P99Within:
    """p99 latency at most ``factor`` times another scenario's p99 in the same run."""

    factor: float
    reference: str

    def describe(self) -> str:
        return f"p99 ≤ {self.factor:g}x {self.reference}"

    def is_met(self, result: Result, results: dict[str, Result]) -> bool:
        return result.p99_us <= self.factor * results[self.reference].p99_us


# --- Scenarios ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One endpoint under load. ``$name`` in path, headers and body is replaced by the value
    of that name in bench/seed.py's output.

    With ``each`` set, bench/seed.py's value of that name is a list of objects and one request
    is made per object (its names override the shared ones). wrk's threads take turns through
    the requests and start over at the end. With ``once`` too, each wrk run (warm-up, rounds)
    gets a part of the list of its own, for requests that succeed only once (seed enough of
    them for a run); the preflight then uses up the first request, which goes in no part.

    ``connections``: wrk's connections for this scenario instead of BENCH_CONNECTIONS, for an
    endpoint so slow that 16 connections would measure their queue (and near wrk's timeout).
    """

    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    target: Target | None = None
    each: str = ""
    once: bool = False
    connections: int = 0


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

# The first scenario is the baseline that the others' throughput is compared with.
SCENARIOS = [
    Scenario("healthz", "GET", "/healthz"),
    Scenario(
        "anonymous token",
        "POST",
        "/commerceapi/authentication/",
        headers={"X-Auth-Key": "$auth_key"},
        target=ThroughputRatio(0.50),
    ),
    Scenario(
        "GET cart, 5 lines",
        "GET",
        "/commerceapi/cart",
        headers=CART_HEADERS,
        target=ThroughputRatio(0.25),
    ),
    Scenario(
        "customer context, RS256 provider token",
        "GET",
        "/commerceapi/authentication/customercontext",
        headers={"Authorization": "Bearer $customer_token", "X-Auth-Key": "$auth_key"},
        target=ThroughputRatio(0.40),
    ),
    Scenario(
        "GET cart, customer, 5 lines",
        "GET",
        "/commerceapi/cart",
        headers={
            "Authorization": "Bearer $customer_token",
            "X-Customer-Context": "$customer_context",
        },
        target=ThroughputRatio(0.22),
    ),
    Scenario(
        "add to cart",
        "POST",
        "/commerceapi/cart/lines",
        headers=ADD_HEADERS,
        body='{"sku": "$add_sku", "quantity": 1}',
        target=ThroughputRatio(0.15),
        each="add_shoppers",
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
        target=P99Within(2, "migrate 5 lines into 5"),
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


# --- The server -----------------------------------------------------------------------------


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


def server_environment(url: str) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        # The shell's own database and cache must not leak into the benchmark's server.
        if name not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="commerceapi.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        # A Fernet key (32 random bytes, url-safe base64) for the secrets stored encrypted.
        SECRETS_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
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


def gunicorn_command(fd: int) -> list[str]:
    return [
        GUNICORN,
        "--config=gunicorn.conf.py",
        "commerceapi.wsgi:application",
        f"--bind=fd://{fd}",
        f"--workers={WORKERS}",
        "--backlog=2048",
        "--graceful-timeout=5",
        "--log-level=warning",
    ]


class Server:
    """gunicorn on a socket this process binds to a free loopback port and hands over, so that
    no other program can take the port in between."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self.log_path = WORK / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.command: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind((HOST, PORT))
            listener.set_inheritable(True)
            self.port = listener.getsockname()[1]
            self.command = gunicorn_command(listener.fileno())
            with self.log_path.open("wb") as log:
                self.process = subprocess.Popen(
                    self.command,
                    cwd=ROOT,
                    env=self.environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                    # A session of its own: Ctrl-C reaches this script, which stops the server.
                    start_new_session=True,
                )
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited at start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within {READY_TIMEOUT_SECONDS} s")

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


def wrk_run(
    url: str, requests_file: Path, seconds: int, output: Path, connections: int = CONNECTIONS
) -> Result:
    """One wrk run; its output is kept in ``output``, its numbers read from bench/request.lua's
    result line (microseconds, wrk's own counts of non-2xx/3xx answers and socket errors)."""
    environment = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_THREADS": str(THREADS),
    }
    completed = subprocess.run(
        wrk_command(url, seconds, connections),
        env=environment,
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
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
    )


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@dataclass
class Load:
    """One scenario's requests files (one per wrk run) and what its runs measured."""

    scenario: Scenario
    requests_files: list[Path]
    requests_counts: list[int]
    url: str
    rounds: list[Result] = field(default_factory=list)
    warmup_non_2xx: int = 0
    warmup_socket_errors: int = 0

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
        )


def load_prepare(server: Server, scenario: Scenario, seed: dict[str, object]) -> Load:
    """Render the scenario's requests files and check its first request answers 2xx."""
    requests = render(scenario, seed)
    runs = 1 + ROUNDS  # the warm-up, then the rounds
    if scenario.once and len(requests) < 1 + runs:
        raise BenchError(f"{scenario.name}: seed at least {1 + runs} requests, one set per run")
    # A request that succeeds once is used up by the preflight: it goes in no run's part.
    rest = requests[1:] if scenario.once else requests
    parts = [rest[index::runs] for index in range(runs)] if scenario.once else [rest]
    files = []
    for index, part in enumerate(parts):
        path = WORK / f"{slug(scenario.name)}.{index}.requests"
        requests_file_write(path, part)
        files.append(path)
    preflight(server.base_url, requests[0])
    # wrk needs a URL, but every request's own path comes from the requests file.
    return Load(
        scenario,
        files,
        requests_counts=[len(part) for part in parts],
        url=server.base_url + requests[0].path,
    )


def load_run(load: Load, run_index: int) -> None:
    """Run 0 is the warm-up; runs 1.. are the measured rounds."""
    part = run_index % len(load.requests_files)
    requests_file = load.requests_files[part]
    name = slug(load.scenario.name)
    connections = load.scenario.connections or CONNECTIONS
    if run_index == 0:
        output = WORK / f"{name}.warmup.txt"
        warmup = wrk_run(load.url, requests_file, WARMUP_SECONDS, output, connections)
        load.warmup_non_2xx = warmup.non_2xx
        load.warmup_socket_errors = warmup.socket_errors
        sent = warmup.requests
    else:
        output = WORK / f"{name}.round{run_index}.txt"
        load.rounds.append(wrk_run(load.url, requests_file, ROUND_SECONDS, output, connections))
        sent = load.rounds[-1].requests
    if load.scenario.once:
        seeded = load.requests_counts[part]
        if sent > seeded:
            raise BenchError(
                f"{load.scenario.name}: {sent} requests but {seeded} seeded; repeated requests "
                "would measure something else. Seed more in bench/seed.py."
            )


# --- Report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    results: dict[str, Result]
    baseline_rounds: list[float]
    load_before: float
    load_after: float
    database: str
    server_command: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def baseline_spread(self) -> float:
        """How far apart the baseline's fastest and slowest rounds are, as a share."""
        fastest = max(self.baseline_rounds)
        return (fastest - min(self.baseline_rounds)) / fastest if fastest else 0.0

    @property
    def all_met(self) -> bool:
        return all(
            scenario.target.is_met(self.results[scenario.name], self.results)
            for scenario in SCENARIOS
            if scenario.target is not None and scenario.name in self.results
        )


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


def table(results: dict[str, Result]) -> str:
    baseline = SCENARIOS[0].name
    base_rps = results[baseline].requests_per_second
    rows = [
        f"| scenario | requests/s | p50 | p99 | vs {baseline} | target | result | errors |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for scenario in SCENARIOS:
        result = results.get(scenario.name)
        if result is None:
            continue
        ratio = result.requests_per_second / base_rps if base_rps else 0.0
        if scenario.target is None:
            target_text, verdict = ("baseline" if scenario.name == baseline else "—"), "—"
        else:
            target_text = scenario.target.describe()
            verdict = "pass" if scenario.target.is_met(result, results) else "MISSED"
        if result.errors:
            verdict = "ERRORS"
        rows.append(
            f"| {scenario.name} | {per_second(result.requests_per_second)} | "
            f"{milliseconds(result.p50_us)} | {milliseconds(result.p99_us)} | {share(ratio)} | "
            f"{target_text} | {verdict} | {result.errors} |"
        )
    return "\n".join(rows)


def baseline_note(run: Run) -> str:
    rounds = ", ".join(f"{rps:,.0f}" for rps in run.baseline_rounds)
    note = (
        f"{SCENARIOS[0].name} per round: {rounds} requests/s ({run.baseline_spread:.0%} apart). "
        "Requests/s over all rounds; p50 and p99 of the slowest round."
    )
    if run.baseline_spread > BASELINE_SPREAD_WARNING:
        note += " **The machine's load changed during the run: ratios are unreliable.**"
    return note


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
    load_command = wrk_command(f"http://{HOST}:PORT/PATH", ROUND_SECONDS)
    return [
        f"- Machine: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}; "
        f"load average {run.load_before:.2f} before the run, {run.load_after:.2f} after",
        f"- Python {platform.python_version()}, Django {metadata.version('django')}, "
        f"gunicorn {metadata.version('gunicorn')} with {WORKERS} sync workers",
        f"- Database: {run.database}; cache: {cache}",
        f"- Load: {wrk_name}, {THREADS} threads, {CONNECTIONS} connections, on the same "
        f"machine; per scenario a {WARMUP_SECONDS} s warm-up, then {ROUNDS} rounds of "
        f"{ROUND_SECONDS} s taking the scenarios in turn",
        f"- Server: `{relative(shlex.join(run.server_command))}` "
        f"(DEBUG=false, random SECRET_KEY and SECRETS_ENCRYPTION_KEYS, ALLOWED_HOSTS={HOST})",
        f"- Load command: `{relative(shlex.join(load_command))}`",
        *(f"- {note}" for note in run.notes),
    ]


def command_line() -> str:
    secret_names = {"BENCH_DATABASE_URL", "BENCH_REDIS_URL"}
    overrides = [
        f"{name}={'…' if name in secret_names else os.environ[name]}"
        for name in sorted(os.environ)
        if name.startswith("BENCH_") and os.environ[name]
    ]
    return " ".join([*overrides, "make bench"])


def results_write(run: Run) -> None:
    """Replace the measured block of bench/RESULTS.md; notes around it are kept."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join(
        [
            MARK_BEGIN,
            f"Measured {now} with `{command_line()}`.",
            "",
            table(run.results),
            "",
            "Targets are requests/s as a share of the baseline's in the same run. "
            + ("Every target met." if run.all_met else "**At least one target missed.**"),
            baseline_note(run),
            "",
            *machine_description(run),
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


# --- Main -----------------------------------------------------------------------------------


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def step(message: str) -> None:
    print(f"bench: {message}", flush=True)


def measure(server: Server, seed: dict[str, object], database: str) -> Run:
    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        step(f"warning: load average {load_before:.2f}: other programs compete for the CPUs")
    loads = [load_prepare(server, scenario, seed) for scenario in selected_scenarios()]
    for load in loads:
        step(f"warm-up: {load.scenario.name}, {WARMUP_SECONDS} s")
        load_run(load, 0)
    for round_index in range(1, ROUNDS + 1):
        step(f"round {round_index} of {ROUNDS}: {ROUND_SECONDS} s per scenario")
        for load in loads:
            load_run(load, round_index)
    return Run(
        results={load.scenario.name: load.result for load in loads},
        baseline_rounds=[result.requests_per_second for result in loads[0].rounds],
        load_before=load_before,
        load_after=os.getloadavg()[0],
        database=database,
        server_command=server.command,
        notes=[f"Password hasher: {seed['password_hasher']}"] if "password_hasher" in seed else [],
    )


def prepare(environment: dict[str, str]) -> dict[str, object]:
    """Migrate the database and seed it; the seeded values by name."""
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
        env=environment,
        check=True,
        capture_output=True,
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
    server = Server(environment)
    try:
        step(f"migrating and seeding: {database}")
        seed = prepare(environment)
        step(f"starting gunicorn ({WORKERS} sync workers)")
        server.start()
        step(f"serving on {server.base_url}")
        run = measure(server, seed, database)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"bench: {relative(shlex.join(map(str, error.cmd)))} failed", file=sys.stderr)
        if error.stderr:
            print(error.stderr, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        server.stop()
    print()
    print(table(run.results))
    print()
    print(baseline_note(run))
    results_write(run)
    print(f"bench: written to {relative(str(RESULTS))}")
    failed = [name for name, result in run.results.items() if result.errors]
    if failed:
        print(f"bench: FAILED: non-2xx answers or socket errors in: {', '.join(failed)}")
        print(f"bench: wrk's output and the server log are in {relative(str(WORK))}/")
        return 1
    print("bench: " + ("every target met" if run.all_met else "at least one target MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
