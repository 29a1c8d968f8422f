"""The README's walk-through runs as printed: the block in README.md is the script that
``make run`` prints (examples/walkthrough.sh), and that script, run by bash with every unset
variable and failed command an error, does what its comments say against a server seeded as
``make run`` seeds it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from identity.management.commands.demo_seed import walkthrough
from tests.servers import ROOT, Server, embedded_environment, manage, runserver_command, served

README = ROOT / "README.md"
DEFAULT_API = "http://127.0.0.1:8000"


def readme_walkthrough() -> str:
    text = README.read_text()
    section = text[text.index("## Walk-through") :]
    start = section.index("```sh\n") + len("```sh\n")
    return section[start : section.index("```\n", start)]


def test_the_readme_walkthrough_is_the_printed_one() -> None:
    assert readme_walkthrough() == walkthrough(DEFAULT_API)


def test_the_walkthrough_has_no_placeholder_left() -> None:
    commands = [
        line for line in walkthrough(DEFAULT_API).splitlines() if not line.lstrip().startswith("#")
    ]
    for line in commands:
        code = line.split("  # ")[0]
        assert "…" not in code, line
        assert "<" not in code.replace("<<", ""), line


@dataclass
class Walked:
    output: str
    server: Server


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walked]:
    """The walk-through run once by bash in a folder seeded as ``make run`` seeds it."""
    assert shutil.which("curl"), "the walk-through needs curl"
    directory = tmp_path_factory.mktemp("walkthrough")
    environment = embedded_environment(directory)
    with served(runserver_command(), environment, directory / "api.log") as server:
        printed = manage(
            environment, "demo_seed", f"--files-dir={directory}", f"--api={server.base_url}"
        ).stdout
        assert walkthrough(server.base_url) in printed
        done = subprocess.run(  # noqa: S603 - bash runs the project's own script
            ["/bin/bash", "-euo", "pipefail", "-c", walkthrough(server.base_url)],
            cwd=directory,
            env={**environment, "MANAGE": f"{sys.executable} {ROOT / 'manage.py'}"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        assert done.stderr == ""
        yield Walked(output=done.stdout, server=server)


def json_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_step_one_authenticates_once_and_its_id_is_the_one_migrated(walked: Walked) -> None:
    answers = json_lines(walked.output)
    anonymous = [answer for answer in answers if "accessToken" in answer]
    assert len(anonymous) == 1
    migration = next(answer for answer in answers if "migration" in answer)
    assert migration["migration"]["anonymousId"] == anonymous[0]["anonymousId"]  # type: ignore[index]
    assert migration["cart"]["itemCount"] == 5  # type: ignore[index]


def test_the_walkthrough_orders_once_and_the_retry_is_a_replay(walked: Walked) -> None:
    orders = [answer for answer in json_lines(walked.output) if "orderNumber" in answer]
    # the customer's two orders, and the partner's (step 12)
    assert {order["orderNumber"] for order in orders} == {
        "DEMO-000001",
        "DEMO-000002",
        "DEMO-000003",
    }
    assert walked.output.count("Idempotent-Replayed: true") == 1


def test_the_supplier_stocks_a_product_the_customer_buys_and_the_payment_pays(
    walked: Walked,
) -> None:
    answers = json_lines(walked.output)
    paid = [answer for answer in answers if answer.get("orderNumber") == "DEMO-000002"]
    assert paid[-1]["paymentStatus"] == "captured"
    events = [answer["event"] for answer in answers if "alreadyProcessed" in answer]
    assert [event["type"] for event in events] == ["authorized", "captured"]  # type: ignore[index]
    assert "\n200\n200\n" in walked.output  # the old and the rolled key, in the overlap
    assert 2100 in [answer.get("code") for answer in answers]  # the revoked key


def test_after_sign_out_the_refresh_token_is_refused(walked: Walked) -> None:
    answers = json_lines(walked.output)
    refreshed = [answer for answer in answers if "refresh_token" in answer]
    assert len(refreshed) == 2  # the sign-in and the refresh
    assert answers[-2]["error"] == "invalid_grant"
    assert answers[-1]["status"] == 401


def test_the_walkthrough_shows_the_refusals_its_comments_announce(walked: Walked) -> None:
    codes = [answer.get("code") for answer in json_lines(walked.output)]
    assert 2013 in codes  # the migrated anonymous session
    assert 4003 in codes  # nine caps of a stock of three
    assert codes[-1] == 2012  # the access token after sign-out


def test_a_partner_orders_and_lists_and_a_second_partner_sees_nothing(walked: Walked) -> None:
    answers = json_lines(walked.output)
    placed = next(answer for answer in answers if answer.get("orderNumber") == "DEMO-000003")
    assert placed["customer"] == {  # type: ignore[comparison-overlap]
        "email": "bob@example.com",
        "name": "Bob",
        "externalReference": "CRM-42",
    }
    pages = [answer for answer in answers if "count" in answer]
    assert [page["count"] for page in pages][-2:] == [1, 0]
    codes = [answer.get("code") for answer in answers]
    assert 7001 in codes and 2131 in codes
