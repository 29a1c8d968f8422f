"""The database cache of the embedded default: what the API needs atomic is atomic across
processes (the throttles' and the lockout's counters, ``add``), and a counter keeps its own
expiry when it is incremented."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from core.counters import cache_counter_increment
from core.database_cache import expiry_read
from tests.servers import ROOT, manage, project_environment

DATABASE_CACHE = {
    "default": {"BACKEND": "core.database_cache.DatabaseCache", "LOCATION": "commerceapi_cache"}
}

COUNTING = """
import sys, time
from pathlib import Path

import django

django.setup()

from django.core.cache import cache

from core.database_cache import expiry_read
from core.counters import cache_counter_increment

start = Path(sys.argv[1])
while not start.exists():
    time.sleep(0.005)
added = cache.add("only-once", sys.argv[2], 60)
for _ in range(int(sys.argv[3])):
    cache_counter_increment("shared-counter", 60)
print("added" if added else "not added")
"""


def test_counters_and_add_are_atomic_across_processes(tmp_path: Path) -> None:
    # given four processes on one SQLite file and its cache table, released at once
    environment = project_environment(
        DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )
    manage(environment, "createcachetable")
    start = tmp_path / "start"
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", COUNTING, str(start), f"process-{n}", "50"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    time.sleep(2)  # every process has started Django and waits

    # when each adds the same key once and counts 50 times
    start.touch()
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outcomes.append(out.strip())

    # then one add won, and no increment was lost
    assert sorted(outcomes) == ["added", "not added", "not added", "not added"]
    counted = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.cache import cache; "
            "print(cache.get('shared-counter'))",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert counted.stdout.strip() == "200"


@pytest.mark.django_db
def test_an_increment_keeps_the_counter_s_own_expiry() -> None:
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable")
        cache = caches["default"]
        # given a counter that lives 900 s, as the sign-in lockout's does
        assert cache_counter_increment("failures", 900, store=cache) == 1
        before = _expiry("failures")

        # when it is incremented
        assert cache_counter_increment("failures", 900, store=cache) == 2
        assert cache.incr("failures", 3) == 5

        # then it still expires when it did (the default timeout would be 300 s)
        assert _expiry("failures") == before
        assert before - timezone.now() > timedelta(seconds=800)


@pytest.mark.django_db
def test_an_expired_or_missing_counter_cannot_be_incremented() -> None:
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable")
        cache = caches["default"]
        with pytest.raises(ValueError, match="not found"):
            cache.incr("never-set")
        cache.set("expired", 1, 1)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE commerceapi_cache SET expires = %s",
                [connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(1))],
            )
        with pytest.raises(ValueError, match="not found"):
            cache.incr("expired")
        # and the counter helper starts such a counter again
        assert cache_counter_increment("expired", 60, store=cache) == 1


def _expiry(key: str) -> object:
    cache = caches["default"]
    cache_key = cache.make_and_validate_key(key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM commerceapi_cache WHERE cache_key = %s", [cache_key])
        row = cursor.fetchone()
    assert row is not None
    return expiry_read(row[0], connection)
