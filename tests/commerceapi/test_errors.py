"""The error contract: every failure is application/problem+json with a stable numeric code."""

from __future__ import annotations

import importlib
import json
import logging
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from rest_framework.test import APIClient

import core.management.commands.errors_catalogue as errors_catalogue
from core.errors import ErrorCode
from core.problems import handler400, handler403, handler404, handler500
from tests.conftest import (
    PROBLEM_CONTENT_TYPE,
    Shopper,
    Storefront,
    assert_problem,
    field_error,
    validation_problem,
)


def declared_codes() -> list[tuple[str, ErrorCode]]:
    """Every ErrorCode declared in an ``errors`` module of the project's apps."""
    found: list[tuple[str, ErrorCode]] = []
    for app in apps.get_app_configs():
        if not Path(app.path).is_relative_to(settings.BASE_DIR):
            continue
        try:
            module = importlib.import_module(f"{app.name}.errors")
        except ModuleNotFoundError:
            continue
        found += [
            (f"{module.__name__}.{name}", value)
            for name, value in vars(module).items()
            if isinstance(value, ErrorCode)
        ]
    return found


# --- unknown URLs and methods ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/nowhere", "/commerceapi/nowhere", "/commerceapi/products/A/B", "/commerceapi"]
)
def test_an_unknown_url_is_a_404_problem(api, db, url):
    # when
    answer = api.get(url)

    # then
    assert_problem(
        answer,
        {
            "type": "urn:commerceapi:problem:not_found",
            "title": "Not found",
            "status": 404,
            "detail": "No such resource for this caller.",
            "code": 1004,
        },
    )


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("put", "/commerceapi/products", "GET, HEAD, OPTIONS"),
        ("delete", "/commerceapi/products/MUG", "GET, HEAD, OPTIONS"),
        ("get", "/commerceapi/authentication/", "POST, OPTIONS"),
    ],
)
def test_a_wrong_method_is_a_405_problem(api, storefront, method, url, allowed):
    # when
    answer = getattr(api, method)(url, HTTP_X_AUTH_KEY=storefront.key)

    # then
    assert answer.status_code == 405
    assert answer["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert answer["Allow"] == allowed
    assert answer.json() == {
        "type": "urn:commerceapi:problem:method_not_allowed",
        "title": "Method not allowed",
        "status": 405,
        "detail": f'Method "{method.upper()}" not allowed.',
        "code": 1005,
    }


# --- other protocol errors ------------------------------------------------------------------


def test_a_body_that_is_not_json_is_a_415_problem(api, storefront):
    # when
    answer = api.post(
        "/commerceapi/authentication/",
        "anonymousAuthenticationRequest=x",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_AUTH_KEY=storefront.key,
    )

    # then
    assert answer.status_code == 415
    assert answer["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert answer.json()["code"] == 1015


def test_a_body_over_the_limit_is_a_413_problem(api, storefront, settings):
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = '{"anonymousAuthenticationRequest": "' + "x" * 2048 + '"}'

    # when
    answer = api.post(
        "/commerceapi/authentication/",
        body,
        content_type="application/json",
        HTTP_X_AUTH_KEY=storefront.key,
    )

    # then
    assert_problem(
        answer,
        {
            "type": "urn:commerceapi:problem:body_too_large",
            "title": "Request body too large",
            "status": 413,
            "detail": "The request body exceeds the limit.",
            "code": 1013,
        },
    )


def test_a_request_that_only_takes_html_is_a_406_problem(api, storefront):
    # when
    answer = api.get(
        "/commerceapi/products", HTTP_ACCEPT="text/html", HTTP_X_AUTH_KEY=storefront.key
    )

    # then
    assert answer.status_code == 406
    assert answer["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert answer.json()["code"] == 1006


# --- the catalogue of codes -----------------------------------------------------------------


def test_every_code_number_and_slug_is_unique():
    # given
    codes = declared_codes()
    assert len(codes) >= 20

    # then
    numbers = [code.number for _, code in codes]
    slugs = [code.slug for _, code in codes]
    assert sorted(numbers) == sorted(set(numbers)), codes
    assert sorted(slugs) == sorted(set(slugs)), codes
    assert {code.number for _, code in codes} == set(ErrorCode.registry)


def test_every_code_is_in_its_area_with_an_error_status():
    for name, code in declared_codes():
        assert code.number // 1000 in errors_catalogue.AREAS, name
        assert 400 <= code.status <= 599, name
        assert code.title and code.description, name
        assert code.type_uri == f"urn:commerceapi:problem:{code.slug}"


def test_a_code_number_cannot_be_reused():
    # given
    taken = ErrorCode.registry[1004]

    # when / then
    with pytest.raises(ValueError, match="1004"):
        ErrorCode(1004, "something_else", 404, "Other", "Another meaning.")
    assert ErrorCode.registry[1004] is taken


def test_docs_errors_md_is_generated_from_the_code():
    # when
    out = StringIO()
    call_command("errors_catalogue", "--check", stdout=out)

    # then
    text = (Path(settings.BASE_DIR) / "docs" / "errors.md").read_text()
    assert text == errors_catalogue.catalogue_text()
    assert out.getvalue() == "docs/errors.md is up to date\n"
    for _, code in declared_codes():
        row = (
            f"| {code.number} | `{code.slug}` | {code.status} | {code.title} | {code.description} |"
        )
        assert row in text


def test_the_catalogue_check_fails_on_a_stale_file(tmp_path, monkeypatch):
    # given a catalogue that lacks a code
    stale = tmp_path / "errors.md"
    stale.write_text(errors_catalogue.catalogue_text().replace("| 1004 |", "| 1044 |"))
    monkeypatch.setattr(errors_catalogue, "CATALOGUE", stale)

    # when / then
    with pytest.raises(CommandError, match="does not match"):
        call_command("errors_catalogue", "--check", stdout=StringIO())


# --- 500 ------------------------------------------------------------------------------------

INTERNAL_ERROR = {
    "type": "urn:commerceapi:problem:internal_error",
    "title": "Internal error",
    "status": 500,
    "detail": "An unexpected failure; nothing was changed. It has been logged.",
    "code": 1500,
}


def test_an_unexpected_failure_is_a_500_problem(storefront, monkeypatch):
    # given a failure no handler knows
    def broken(**kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("catalog.apis.product_list", broken)
    api = APIClient(raise_request_exception=False)

    # when
    answer = api.get("/commerceapi/products", HTTP_X_AUTH_KEY=storefront.key)

    # then
    assert_problem(answer, INTERNAL_ERROR)
    assert "boom" not in answer.content.decode()


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        pytest.param(
            ValidationError({"email": ["Enter a valid email address."]}),
            [field_error("email", "invalid", "Enter a valid email address.")],
            id="by field",
        ),
        pytest.param(
            ValidationError("Give exactly one key source."),
            [field_error("body", "invalid", "Give exactly one key source.")],
            id="not by field",
        ),
    ],
)
def test_a_models_validation_error_in_a_service_is_a_400_problem(
    storefront, monkeypatch, raised, expected
):
    # given a service whose model validation refuses, behind a view that does not catch it
    def refusing(**kwargs: object) -> None:
        raise raised

    monkeypatch.setattr("catalog.apis.product_list", refusing)

    # when
    answer = APIClient().get("/commerceapi/products", HTTP_X_AUTH_KEY=storefront.key)

    # then the one mapping answers it, naming the fields
    assert_problem(answer, validation_problem(*[tuple(error.values()) for error in expected]))


def test_django_error_handlers_answer_problems():
    # given
    request = RequestFactory().get("/anything")

    # when
    answers = {
        400: handler400(request, None),
        403: handler403(request, None),
        404: handler404(request, None),
        500: handler500(request),
    }

    # then
    assert {status: answer.status_code for status, answer in answers.items()} == {
        400: 400,
        403: 403,
        404: 404,
        500: 500,
    }
    assert {answer["Content-Type"] for answer in answers.values()} == {PROBLEM_CONTENT_TYPE}
    assert json.loads(answers[500].content) == INTERNAL_ERROR
    assert [json.loads(answer.content)["code"] for answer in answers.values()] == [
        1040,
        2003,
        1004,
        1500,
    ]


def test_refused_credentials_are_logged_without_the_token_or_key(
    api: APIClient, storefront: Storefront, shopper: Shopper, caplog: pytest.LogCaptureFixture
) -> None:
    # given a tampered bearer, a wrong X-Auth-Key, and a valid bearer with a wrong context
    tampered = shopper.token[:-2] + ("A" if shopper.token[-2] != "A" else "B") + shopper.token[-1]
    wrong_key = storefront.key[:-4] + "abcd"
    caplog.set_level(logging.WARNING, logger="commerceapi.security")

    # when each is refused
    refused = [
        api.get("/commerceapi/cart", HTTP_AUTHORIZATION=f"Bearer {tampered}"),
        api.post("/commerceapi/authentication/", HTTP_X_AUTH_KEY=wrong_key),
        api.get(
            "/commerceapi/cart",
            HTTP_AUTHORIZATION=f"Bearer {shopper.token}",
            HTTP_X_CUSTOMER_CONTEXT=shopper.context[:-3] + "xyz",
        ),
    ]

    # then each refusal is logged with its code, and no log line holds a credential
    assert [answer.status_code for answer in refused] == [401, 401, 401]
    logged = [record.getMessage() for record in caplog.records]
    assert [line.split(": ", 1)[1] for line in logged] == [
        "401 2010 (token_invalid)",
        "401 2021 (auth_key_invalid)",
        "401 2031 (customer_context_invalid)",
    ]
    for secret in (tampered, shopper.token, wrong_key, storefront.key, shopper.context):
        assert not any(secret in line or secret[-20:] in line for line in logged)


def test_json_nested_deeper_than_the_parser_follows_is_a_400(
    api: APIClient, storefront: Storefront
) -> None:
    # given a small body of 20,000 nested arrays
    body = "[" * 20_000 + "]" * 20_000

    # when it is sent
    answer = api.generic(
        "POST",
        "/commerceapi/authentication/",
        body,
        content_type="application/json",
        HTTP_X_AUTH_KEY=storefront.key,
    )

    # then it is malformed input, not a failure of the server
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == 1001


def test_a_database_outage_is_a_503(
    api: APIClient, shopper: Shopper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a database that cannot be reached when the cart is read
    from django.db import OperationalError

    import carts.apis

    def unreachable(**kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(carts.apis, "cart_get", unreachable)

    # when the cart is asked for
    answer = api.get("/commerceapi/cart", **shopper.headers())

    # then the client is told to retry later
    assert answer.status_code == 503, answer.content
    assert answer.json()["code"] == 1503
