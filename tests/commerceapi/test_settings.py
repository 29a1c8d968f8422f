"""Settings from the environment: safe development defaults, and no start without secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from commerceapi.env import env_bool, env_int, env_list, env_str, require

START = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'debug': settings.DEBUG, 'secret': settings.SECRET_KEY, "
    "'num_proxies': settings.REST_FRAMEWORK['NUM_PROXIES'], "
    "'proxy_ssl': settings.SECURE_PROXY_SSL_HEADER, "
    "'cache': settings.CACHES['default']['BACKEND'], "
    "'database': settings.DATABASES['default']['ENGINE'], "
    "'cookies_secure': settings.SESSION_COOKIE_SECURE, "
    "'issuer': settings.TOKEN_ISSUER, 'base_url': settings.PUBLIC_BASE_URL, "
    "'encryption_keys': settings.SECRETS_ENCRYPTION_KEYS}))"
)


_FROM_THE_TEST = {
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "REDIS_URL",
    "TRUSTED_PROXY_COUNT",
    "SECRETS_ENCRYPTION_KEYS",
    "TOKEN_ISSUER",
    "PUBLIC_BASE_URL",
    "SINGLE_PROCESS",
}
# What production needs besides the ones a test is about.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-from-the-environment",
    "DATABASE_URL": "postgres://user@db.internal:5432/shop",
    "SECRETS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "TOKEN_ISSUER": "https://api.shop.example",
    "REDIS_URL": "redis://cache.internal:6379/1",
}


def production_without(*names: str) -> dict[str, str]:
    return {name: value for name, value in PRODUCTION.items() if name not in names}


def start(**environment: str) -> subprocess.CompletedProcess[str]:
    """Start Django in a fresh interpreter with this environment (and no inherited secrets)."""
    env = {name: value for name, value in os.environ.items() if name not in _FROM_THE_TEST}
    env.update(DJANGO_SETTINGS_MODULE="commerceapi.settings", **environment)
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", START],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def started(process: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert process.returncode == 0, process.stderr
    loaded: dict[str, object] = json.loads(process.stdout.strip().splitlines()[-1])
    return loaded


# --- start-up -------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, ""], ids=["unset", "empty"])
def test_without_debug_a_missing_secret_key_stops_start_up(secret):
    # given
    environment = {"DEBUG": "false"}
    if secret is not None:
        environment["SECRET_KEY"] = secret

    # when
    process = start(**environment)

    # then
    assert process.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set." in process.stderr
    assert "required when DEBUG is off" in process.stderr
    assert process.stdout == ""


def test_without_debug_a_missing_database_url_stops_start_up():
    # when
    process = start(**{name: value for name, value in PRODUCTION.items() if name != "DATABASE_URL"})

    # then production does not fall back to a SQLite file of its own
    assert process.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is not set." in process.stderr


def test_without_debug_and_with_its_secrets_it_starts():
    # when
    process = start(**PRODUCTION)

    # then
    loaded = started(process)
    assert loaded["debug"] is False
    assert loaded["secret"] == "a-production-secret-from-the-environment"
    assert loaded["cookies_secure"] is True
    assert loaded["issuer"] == loaded["base_url"] == "https://api.shop.example"
    assert loaded["encryption_keys"] == [PRODUCTION["SECRETS_ENCRYPTION_KEYS"]]
    assert loaded["cache"] == "core.redis_cache.RedisCache"


@pytest.mark.parametrize("single_process", [None, "false"], ids=["unset", "false"])
def test_without_debug_several_processes_need_a_shared_cache(single_process):
    # given production settings without REDIS_URL, and no single process stated
    environment = production_without("REDIS_URL")
    if single_process is not None:
        environment["SINGLE_PROCESS"] = single_process

    # when
    process = start(**environment)

    # then it does not start: each process would keep revocations and throttles to itself
    assert process.returncode != 0
    assert "ImproperlyConfigured: REDIS_URL is not set." in process.stderr
    assert "SINGLE_PROCESS=true" in process.stderr
    assert process.stdout == ""


def test_without_debug_a_stated_single_process_runs_on_the_database_cache():
    # when the operator states that one process serves the API
    loaded = started(start(**production_without("REDIS_URL"), SINGLE_PROCESS="true"))

    # then it starts on the database's cache table, which management commands share
    assert loaded["debug"] is False
    assert loaded["cache"] == "core.database_cache.DatabaseCache"


@pytest.mark.parametrize("keys", [None, "", " , "], ids=["unset", "empty", "blank"])
def test_without_debug_missing_encryption_keys_stop_start_up(keys):
    # given production without the keys that encrypt stored secrets
    environment = {
        name: value for name, value in PRODUCTION.items() if name != "SECRETS_ENCRYPTION_KEYS"
    }
    if keys is not None:
        environment["SECRETS_ENCRYPTION_KEYS"] = keys

    # when
    process = start(**environment)

    # then
    assert process.returncode != 0
    assert "ImproperlyConfigured: SECRETS_ENCRYPTION_KEYS is not set." in process.stderr
    assert "Fernet.generate_key()" in process.stderr
    assert process.stdout == ""


def test_a_malformed_encryption_key_stops_start_up_naming_its_position():
    # when the second of two keys is no Fernet key
    keys = f"{Fernet.generate_key().decode()},not-a-fernet-key"
    process = start(**{**PRODUCTION, "SECRETS_ENCRYPTION_KEYS": keys})

    # then
    assert process.returncode != 0
    assert "SECRETS_ENCRYPTION_KEYS: key 2 is not a Fernet key" in process.stderr
    assert "not-a-fernet-key" not in process.stderr


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        (None, "TOKEN_ISSUER is not set. It is required when DEBUG is off"),
        ("commerceapi", "TOKEN_ISSUER 'commerceapi' is not a URL"),
        ("http://api.shop.example", "must use https"),
        ("http://127.0.0.1:8000", "must use https"),
        ("https://api.shop.example/oauth", "must be a bare origin"),
        ("https://api.shop.example?x=1", "must be a bare origin"),
        ("https://api.shop.example#top", "must be a bare origin"),
    ],
)
def test_without_debug_an_issuer_that_is_not_an_https_origin_stops_start_up(issuer, problem):
    # given production with this TOKEN_ISSUER (None: unset)
    environment = {name: value for name, value in PRODUCTION.items() if name != "TOKEN_ISSUER"}
    if issuer is not None:
        environment["TOKEN_ISSUER"] = issuer

    # when
    process = start(**environment)

    # then
    assert process.returncode != 0
    assert "ImproperlyConfigured: TOKEN_ISSUER" in process.stderr
    assert problem in process.stderr
    assert process.stdout == ""


def test_public_base_url_and_an_issuer_elsewhere_stop_start_up():
    # when the metadata would be served at another address than the issuer's
    process = start(**PRODUCTION, PUBLIC_BASE_URL="https://shop.example")

    # then
    assert process.returncode != 0
    assert "PUBLIC_BASE_URL 'https://shop.example' and TOKEN_ISSUER" in process.stderr


@pytest.mark.parametrize(
    ("environment", "issuer"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PUBLIC_BASE_URL": "http://127.0.0.1:8123"}, "http://127.0.0.1:8123"),
        ({"PUBLIC_BASE_URL": "http://localhost:8123/"}, "http://localhost:8123"),
        ({"TOKEN_ISSUER": "https://api.shop.example"}, "https://api.shop.example"),
    ],
)
def test_in_development_the_issuer_is_the_served_address(environment, issuer):
    # when
    loaded = started(start(**environment))

    # then the issuer is the served address, and the metadata is served there
    assert loaded["issuer"] == loaded["base_url"] == issuer


def test_in_development_plain_http_is_for_loopback_only():
    # when
    process = start(PUBLIC_BASE_URL="http://shop.example:8000")

    # then
    assert process.returncode != 0
    assert "must use https (plain http only on a loopback host" in process.stderr


def test_in_development_it_starts_with_safe_defaults():
    # when
    loaded = started(start())

    # then
    assert loaded["debug"] is True
    assert loaded["secret"] == "development-only-secret-key-not-for-production"
    assert loaded["database"] == "django.db.backends.sqlite3"
    # the cache that every process of this database shares (make run's server and commands)
    assert loaded["cache"] == "core.database_cache.DatabaseCache"
    assert loaded["num_proxies"] == 0
    assert loaded["proxy_ssl"] is None
    assert loaded["issuer"] == "http://127.0.0.1:8000"
    assert len(loaded["encryption_keys"]) == 1  # derived from the development SECRET_KEY


def test_services_and_proxies_come_from_the_environment():
    # when
    loaded = started(
        start(
            DATABASE_URL="postgres://user@db.internal:5432/shop",
            REDIS_URL="redis://cache.internal:6379/1",
            TRUSTED_PROXY_COUNT="2",
        )
    )

    # then
    assert loaded["database"] == "django.db.backends.postgresql"
    assert loaded["cache"] == "core.redis_cache.RedisCache"
    assert loaded["num_proxies"] == 2
    assert loaded["proxy_ssl"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false, not 'maybe'."),
        ("TRUSTED_PROXY_COUNT", "-1", "TRUSTED_PROXY_COUNT must be at least 0, not -1."),
        ("TRUSTED_PROXY_COUNT", "one", "TRUSTED_PROXY_COUNT must be a whole number, not 'one'."),
        (
            "IDEMPOTENCY_KEY_RETENTION_SECONDS",
            "3600",
            "IDEMPOTENCY_KEY_RETENTION_SECONDS must be at least 86400, not 3600.",
        ),
        ("IDEMPOTENCY_WAIT_SECONDS", "0", "IDEMPOTENCY_WAIT_SECONDS must be at least 1, not 0."),
        ("SINGLE_PROCESS", "perhaps", "SINGLE_PROCESS must be true or false, not 'perhaps'."),
    ],
)
def test_a_malformed_setting_stops_start_up_naming_it(name, value, message):
    # when
    process = start(**{name: value})

    # then
    assert process.returncode != 0
    assert message in process.stderr


# --- the helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), (" yes ", True), ("on", True), ("0", False), ("off", False)],
)
def test_env_bool(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", not expected) is expected


def test_env_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("SOME_SETTING", raising=False)
    assert env_bool("SOME_SETTING", True) is True
    assert env_int("SOME_SETTING", 7) == 7
    assert env_str("SOME_SETTING", "x") == "x"
    assert env_list("SOME_SETTING", ["a"]) == ["a"]
    assert require("SOME_SETTING", debug=True, development_default="dev") == "dev"


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("SOME_LIST", " https://a.example , ,https://b.example,")
    assert env_list("SOME_LIST", []) == ["https://a.example", "https://b.example"]


def test_env_int_enforces_its_minimum(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "59")
    with pytest.raises(ImproperlyConfigured, match=r"SOME_NUMBER must be at least 60, not 59\."):
        env_int("SOME_NUMBER", 7200, minimum=60)


def test_require_prefers_the_environment_and_refuses_without_debug(monkeypatch):
    monkeypatch.setenv("SOME_SECRET", "from-env")
    assert require("SOME_SECRET", debug=False, development_default="dev") == "from-env"
    monkeypatch.delenv("SOME_SECRET")
    with pytest.raises(ImproperlyConfigured, match="SOME_SECRET is not set"):
        require("SOME_SECRET", debug=False, development_default="dev")
