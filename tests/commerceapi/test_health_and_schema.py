"""/healthz, /readyz, the OpenAPI schema and the interactive docs page."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework.test import APIClient

import commerceapi.health

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


# --- health ---------------------------------------------------------------------------------


def test_healthz_answers_without_credentials_or_queries(db):
    # when
    with CaptureQueriesContext(connection) as queries:
        answer = APIClient().get("/healthz")

    # then
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert queries.captured_queries == []


def test_readyz_checks_the_database_and_the_cache(db):
    # when
    answer = APIClient().get("/readyz")

    # then it also says which cache backs revocation and throttling (the suite's own)
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
        "cache": SUITE_CACHE,
    }


SUITE_CACHE = (
    {"backend": "redis", "sharedBy": "every process using this Redis"}
    if settings.REDIS_URL
    else {"backend": "local-memory", "sharedBy": "this process only"}
)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("backend", "location", "described"),
    [
        pytest.param(
            "core.database_cache.DatabaseCache",
            "commerceapi_cache",
            {"backend": "database", "sharedBy": "every process using this database"},
            id="database",
        ),
        pytest.param(
            "core.redis_cache.RedisCache",
            "redis://127.0.0.1:{port}/0",
            {"backend": "redis", "sharedBy": "every process using this Redis"},
            id="redis",
        ),
        pytest.param(
            "django.core.cache.backends.locmem.LocMemCache",
            "",
            {"backend": "local-memory", "sharedBy": "this process only"},
            id="local memory",
        ),
    ],
)
def test_readyz_names_the_cache_behind_revocation_and_throttling(db, backend, location, described):
    # given the API configured with this cache (a Redis that is not there, for its name only)
    caches = {"default": {"BACKEND": backend, "LOCATION": location.format(port=closed_port())}}
    with override_settings(CACHES=caches):
        call_command("createcachetable")  # only the database cache has a table to create

        # when
        answer = APIClient(raise_request_exception=False).get("/readyz")

    # then it names the cache and who shares it, reachable or not
    assert answer.json()["cache"] == described
    assert answer.status_code == (503 if backend.endswith("RedisCache") else 200)


class BrokenCache:
    """A cache client whose server is gone."""

    def set(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Connection refused")

    def get(self, *args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Connection refused")


class ForgetfulCache:
    """A cache that answers but keeps nothing."""

    def set(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get(self, *args: Any, **kwargs: Any) -> None:
        return None


class BrokenConnection:
    def cursor(self) -> Any:
        raise OperationalError("could not connect to server")


@pytest.mark.parametrize("cache", [BrokenCache(), ForgetfulCache()], ids=["raises", "forgets"])
def test_readyz_is_503_when_the_cache_is_down(db, monkeypatch, cache):
    # given
    monkeypatch.setattr(commerceapi.health, "cache", cache)

    # when
    answer = APIClient(raise_request_exception=False).get("/readyz")

    # then
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "cache": "down"},
        "cache": SUITE_CACHE,
    }


def test_readyz_is_503_when_the_database_is_down(db, monkeypatch):
    # given
    monkeypatch.setattr(commerceapi.health, "connection", BrokenConnection())

    # when
    answer = APIClient(raise_request_exception=False).get("/readyz")

    # then
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "checks": {"database": "down", "cache": "ok"},
        "cache": SUITE_CACHE,
    }


# --- the schema -----------------------------------------------------------------------------

DOCUMENTED_PATHS = {
    "/commerceapi/authentication/",
    "/commerceapi/authentication/customercontext",
    "/commerceapi/products",
    "/commerceapi/products/{sku}",
    "/commerceapi/cart",
    "/commerceapi/cart/lines",
    "/commerceapi/cart/lines/{sku}",
    "/commerceapi/orders",
    "/commerceapi/orders/{orderNumber}",
    "/Orders/Create",
}
CART_OPERATIONS = [
    ("/commerceapi/cart", "get"),
    ("/commerceapi/cart", "delete"),
    ("/commerceapi/cart/lines", "post"),
    ("/commerceapi/cart/lines/{sku}", "patch"),
    ("/commerceapi/cart/lines/{sku}", "delete"),
    ("/commerceapi/orders", "get"),
    ("/commerceapi/orders", "post"),
    ("/commerceapi/orders/{orderNumber}", "get"),
    ("/Orders/Create", "post"),
]
CHECKOUTS = ["/commerceapi/orders", "/Orders/Create"]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    GENERATOR_STATS.reset()
    answer = APIClient().get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/vnd.oai.openapi+json"
    document: dict[str, Any] = json.loads(answer.content)
    # drf-spectacular's warnings mean "very likely an incorrect schema"
    assert not GENERATOR_STATS, (GENERATOR_STATS._warn_cache, GENERATOR_STATS._error_cache)
    return document


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    name = schema["$ref"].removeprefix("#/components/schemas/")
    resolved: dict[str, Any] = document["components"]["schemas"][name]
    return resolved


def test_the_schema_is_openapi_3_with_every_storefront_path(schema):
    assert re.fullmatch(r"3\.\d+\.\d+", schema["openapi"])
    assert schema["info"]["title"] == "commerceapi"
    assert set(schema["paths"]) >= DOCUMENTED_PATHS


@pytest.mark.parametrize(("path", "method"), CART_OPERATIONS)
def test_cart_operations_document_the_customer_context_header(schema, path, method):
    parameters = schema["paths"][path][method]["parameters"]
    headers = [p for p in parameters if p["in"] == "header" and p["name"] == "X-Customer-Context"]
    assert len(headers) == 1
    assert headers[0]["required"] is True
    assert headers[0]["description"]


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/commerceapi/authentication/", "post", {"400", "401", "429"}),
        ("/commerceapi/authentication/customercontext", "get", {"401", "403"}),
        ("/commerceapi/products", "get", {"401", "403", "404"}),
        ("/commerceapi/products/{sku}", "get", {"401", "403", "404"}),
        ("/commerceapi/cart", "get", {"401", "403"}),
        ("/commerceapi/cart/lines", "post", {"400", "401", "403", "413"}),
        ("/commerceapi/cart/lines/{sku}", "patch", {"400", "401", "403"}),
        ("/commerceapi/cart/lines/{sku}", "delete", {"401", "403", "404"}),
        ("/commerceapi/orders", "post", {"400", "401", "403", "409", "413", "422"}),
        ("/Orders/Create", "post", {"400", "401", "403", "409", "413", "422"}),
        ("/commerceapi/orders", "get", {"400", "401", "403", "404"}),
        ("/commerceapi/orders/{orderNumber}", "get", {"401", "403", "404"}),
    ],
)
def test_operations_document_their_problem_responses(schema, path, method, statuses):
    responses = schema["paths"][path][method]["responses"]
    problems = {status for status in responses if status.startswith(("4", "5"))}
    assert problems >= statuses
    for status in problems:
        assert responses[status]["description"]
        assert list(responses[status]["content"]) == ["application/problem+json"]
        assert responses[status]["content"]["application/problem+json"]["schema"] == PROBLEM_REF


def test_the_problem_document_is_described(schema):
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "code", "errors"}
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    field_problem = resolve(schema, problem["properties"]["errors"]["items"])
    assert set(field_problem["properties"]) == {"field", "code", "message"}


def test_the_anonymous_token_operation_documents_its_bodies_and_headers(schema):
    operation = schema["paths"]["/commerceapi/authentication/"]["post"]
    request = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert set(request["properties"]) == {"anonymousAuthenticationRequest"}
    assert request["properties"]["anonymousAuthenticationRequest"]["format"] == "uuid"
    answer = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(answer["properties"]) == {
        "tokenType",
        "accessToken",
        "expiresIn",
        "refreshToken",
        "anonymousId",
    }
    # the renewal proof is the bearer scheme beside the key (test_api_docs.py)
    assert operation["security"] == [{"storefrontKey": []}, {"storefrontKey": [], "bearer": []}]
    assert "parameters" not in operation


def test_request_bodies_of_different_operations_are_not_merged(schema):
    # each view's nested InputSerializer is its own component
    lines = schema["paths"]["/commerceapi/cart/lines"]["post"]["requestBody"]
    line_body = resolve(schema, lines["content"]["application/json"]["schema"])
    assert set(line_body["properties"]) == {"sku", "quantity"}
    patch = schema["paths"]["/commerceapi/cart/lines/{sku}"]["patch"]["requestBody"]
    patch_body = resolve(schema, patch["content"]["application/json"]["schema"])
    assert set(patch_body["properties"]) == {"quantity"}


def test_the_product_list_documents_its_page(schema):
    operation = schema["paths"]["/commerceapi/products"]["get"]
    page = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    product = resolve(schema, page["properties"]["results"]["items"])
    assert set(product["properties"]) == {
        "sku",
        "name",
        "unitPrice",
        "inStock",
        "stock",
        "maxQuantityPerOrder",
    }
    assert {(p["in"], p["name"]) for p in operation["parameters"]} == {
        ("query", "page"),
        ("query", "pageSize"),
    }


@pytest.mark.parametrize("path", CHECKOUTS)
def test_the_checkout_documents_its_key_its_body_and_its_answer(schema, path):
    operation = schema["paths"][path]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["Idempotency-Key"]["required"] is True
    assert "Idempotent-Replayed" in headers["Idempotency-Key"]["description"]
    request = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert set(request["properties"]) == {"email", "expectedTotal"}
    created = operation["responses"]["201"]
    assert set(created["headers"]) == {"Location", "Idempotent-Replayed"}
    order = resolve(schema, created["content"]["application/json"]["schema"])
    assert set(order["properties"]) == {
        "orderNumber",
        "status",
        "paymentStatus",
        "currency",
        "lines",
        "itemCount",
        "subtotal",
        "total",
        "email",
        "customerId",
        "placedAt",
    }
    assert set(resolve(schema, order["properties"]["lines"]["items"])["properties"]) == {
        "sku",
        "name",
        "quantity",
        "unitPrice",
        "lineTotal",
    }


def test_the_checkout_alias_is_its_own_operation_of_the_same_contract(schema):
    checkout = schema["paths"]["/commerceapi/orders"]["post"]
    alias = schema["paths"]["/Orders/Create"]["post"]
    assert (checkout["operationId"], alias["operationId"]) == ("order_create", "order_create_alias")
    assert {key: value for key, value in checkout.items() if key != "operationId"} == {
        key: value for key, value in alias.items() if key != "operationId"
    }
    assert set(schema["paths"]["/Orders/Create"]) == {"post"}


def test_the_security_schemes_are_the_storefront_key_and_bearer(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["storefrontKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Key",
        "description": "Storefront: the storefront app's own key (anonymous tokens, the "
        "catalog). Refused on every other surface.",
    }
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Storefront: an anonymous or customer token (ours, or an identity "
        "provider's access token) or a client token, after 'Authorization: Bearer ' (the "
        "prefix is required: 401, 2002). A reseller token is refused here (401, 2131).",
    }
    catalog = schema["paths"]["/commerceapi/products"]["get"]["security"]
    assert catalog == [{"storefrontKey": []}, {"bearer": []}]


# --- the docs page --------------------------------------------------------------------------


def test_the_docs_page_uses_only_local_assets(db):
    # when
    client = APIClient()
    answer = client.get("/api/docs/")

    # then
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/html")
    html = answer.content.decode()
    assert not re.search(r"https?://", html), re.findall(r"https?://\S+", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    assert all(asset.startswith("/static/") for asset in assets), assets
    assert "/api/schema/" in html


BODY_OPERATIONS = [
    ("/commerceapi/authentication/", "post"),
    ("/commerceapi/cart/lines", "post"),
    ("/commerceapi/cart/lines/{sku}", "patch"),
    ("/commerceapi/cart/migrate", "post"),
    ("/commerceapi/customers", "post"),
    ("/oauth/token", "post"),
    ("/oauth/revoke", "post"),
    ("/oauth/introspect", "post"),
]


def test_every_operation_taking_a_body_documents_its_refusals(schema):
    # given every operation of the schema with a request body, whatever app it comes from
    with_body = {
        (path, method): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert set(with_body) >= set(BODY_OPERATIONS)

    # then each documents a body too large (413) and in another charset (415), as problems
    for (path, method), operation in with_body.items():
        for status in ("413", "415"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"]
            assert content["application/problem+json"]["schema"] == PROBLEM_REF, (path, method)
        assert "400" in operation["responses"], (path, method)


def test_the_migration_documents_its_token_as_required(schema):
    operation = schema["paths"]["/commerceapi/cart/migrate"]["post"]
    body = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert body["required"] == ["anonymousId", "anonymousToken"]
    assert body["properties"]["anonymousToken"]["minLength"] == 1


def test_registration_documents_its_email_and_password_rules(schema):
    operation = schema["paths"]["/commerceapi/customers"]["post"]
    body = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    email, password = body["properties"]["email"], body["properties"]["password"]
    assert (email["format"], email["maxLength"]) == ("email", 254)
    assert (password["minLength"], password["maxLength"], password["pattern"]) == (8, 1024, r"\D")
    for rule in ("too similar", "at least 8 characters", "commonly used", "entirely numeric"):
        assert rule in password["description"]


def test_page_parameters_document_their_bounds(schema):
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in schema["paths"]["/commerceapi/products"]["get"]["parameters"]
    }
    assert parameters["pageSize"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert parameters["page"] == {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": 999_999_999},
            {"type": "string", "enum": ["last"]},
        ]
    }


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_the_oauth_endpoints_document_client_authentication(schema, path):
    # HTTP Basic for a confidential client, or nothing but the form for a public one
    assert schema["paths"][path]["post"]["security"] == [{"clientBasic": []}, {}]
    assert schema["components"]["securitySchemes"]["clientBasic"]["scheme"] == "basic"


def test_the_key_surfaces_document_the_api_key_scheme(schema):
    scheme = schema["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "ApiKey")
    operations = [
        (path, method)
        for path, item in schema["paths"].items()
        if path.startswith(("/supplier/", "/payment/"))
        for method in item
    ]
    assert len(operations) == 6
    for path, method in operations:
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"apiKey": []}], (path, method)
        assert {"401", "403", "429"} <= set(operation["responses"]), (path, method)
        assert "X-Tenant" in [parameter["name"] for parameter in operation["parameters"]]
