"""The schema behind the docs page (/api/docs/) as a visitor pressing "Try it out" meets it:
examples that hand out no shared anonymous id, the renewal proof and the optional X-Auth-Key
as security schemes (the docs page sends those; an Authorization header parameter it drops),
HTTP Basic on the OAuth endpoints, descriptions that survive being rendered as HTML, and
error examples with the codes the API really answers."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.test import APIClient

from core.errors import ErrorCode

PROBLEM = "application/problem+json"
AUTHENTICATION = "/commerceapi/authentication/"
CUSTOMER_CONTEXT = "/commerceapi/authentication/customercontext"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    GENERATOR_STATS.reset()
    answer = APIClient().get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    document: dict[str, Any] = json.loads(answer.content)
    assert not GENERATOR_STATS, (GENERATOR_STATS._warn_cache, GENERATOR_STATS._error_cache)
    return document


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def walk(node: Any, trail: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (trail, key, value) of a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield trail, key, value
            yield from walk(value, f"{trail}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{trail}/{index}")


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- The anonymous token ----------------------------------------------------------------------


def test_the_anonymous_token_examples_carry_no_usable_anonymous_id(schema):
    operation = schema["paths"][AUTHENTICATION]["post"]
    media = operation["requestBody"]["content"]["application/json"]

    # the first example, the one Try it out fills in, asks for a new id
    examples = list(media["examples"].values())
    assert examples[0]["value"] == {}
    # and no example, default or schema example anywhere names a UUID a visitor could share
    for trail, key, value in walk(schema):
        if key in ("example", "default", "value") or trail.endswith("/examples"):
            for _, _, inner in walk({"v": value}):
                if isinstance(inner, str):
                    assert not is_uuid(inner), (trail, key, inner)


def test_the_renewal_proof_is_the_bearer_scheme_beside_the_key(schema):
    operation = schema["paths"][AUTHENTICATION]["post"]

    assert operation["security"] == [{"storefrontKey": []}, {"storefrontKey": [], "bearer": []}]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "bearer" in operation["description"]


def test_no_operation_documents_an_authorization_header_parameter(schema):
    # OpenAPI 3 ignores a header parameter named Authorization: the docs page would drop it
    for path, method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            assert parameter["name"].lower() not in ("authorization", "content-type", "accept"), (
                path,
                method,
            )


def test_the_customer_context_documents_its_optional_storefront_key(schema):
    operation = schema["paths"][CUSTOMER_CONTEXT]["get"]

    assert operation["security"] == [{"bearer": []}, {"bearer": [], "storefrontKey": []}]
    assert "X-Auth-Key" in operation["description"]


def test_the_token_endpoint_documents_http_basic_client_authentication(schema):
    scheme = schema["components"]["securitySchemes"]["clientBasic"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "basic"
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        security = schema["paths"][path]["post"]["security"]
        assert {"clientBasic": []} in security, path
        assert {} in security, path  # public clients send only their client_id


# --- Descriptions and error examples ----------------------------------------------------------


def test_no_description_holds_what_the_docs_page_would_take_for_html(schema):
    for trail, key, value in walk(schema):
        if key in ("description", "summary", "title") and isinstance(value, str):
            assert not re.search(r"<[A-Za-z/!]", value), (trail, value)


def test_every_error_answer_has_examples_with_real_codes_of_its_status(schema):
    checked = 0
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            media = response.get("content", {}).get(PROBLEM)
            if media is None:
                continue
            examples = media.get("examples")
            assert examples, (path, method, status)
            for example in examples.values():
                value = example["value"]
                code = ErrorCode.registry.get(value["code"])
                assert code is not None, (path, method, status, value)
                assert value == {
                    "type": code.type_uri,
                    "title": code.title,
                    "status": int(status),
                    "detail": code.description,
                    "code": code.number,
                }
                checked += 1
    assert checked > 50


@pytest.mark.parametrize(
    ("path", "status", "codes"),
    [
        ("/commerceapi/orders", "409", {5001, 5002, 5004, 1053}),
        ("/commerceapi/orders", "422", {1052}),
        ("/commerceapi/cart/migrate", "409", {4010}),
        ("/commerceapi/customers", "409", {2070}),
        (AUTHENTICATION, "400", {2050}),
    ],
)
def test_an_endpoint_shows_the_codes_it_answers(schema, path, status, codes):
    media = schema["paths"][path]["post"]["responses"][status]["content"][PROBLEM]
    assert {example["value"]["code"] for example in media["examples"].values()} == codes


def test_the_docs_page_answers_get_and_options(db):
    client = Client()
    assert client.get("/api/docs/").status_code == 200
    answer = client.options("/api/docs/")
    assert answer.status_code == 200
    assert "GET" in answer["Allow"]
