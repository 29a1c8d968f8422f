"""The OpenAPI schema tags every operation with its surface and documents each security
scheme (docs/surfaces.md)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        answer = APIClient().get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    return dict(answer.json())


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_is_tagged_first_with_its_surface(schema: dict[str, Any]) -> None:
    surfaces = {
        (path, method): operation["tags"][0] for path, method, operation in _operations(schema)
    }
    assert surfaces[("/reseller/token", "post")] == "Reseller"
    assert surfaces[("/reseller/orders", "post")] == "Reseller"
    assert surfaces[("/reseller/orders/{orderNumber}", "get")] == "Reseller"
    assert surfaces[("/commerceapi/orders", "post")] == "Storefront"
    assert surfaces[("/Orders/Create", "post")] == "Storefront"
    assert surfaces[("/commerceapi/products", "get")] == "Storefront"
    assert surfaces[("/oauth/token", "post")] == "Token service"
    assert surfaces[("/supplier/products", "get")] == "Supplier"
    assert surfaces[("/payment/orders/{orderNumber}/events", "post")] == "Payment"
    assert set(surfaces.values()) <= {tag["name"] for tag in schema["tags"]}
    assert all(tag["description"] for tag in schema["tags"])


def test_the_reseller_surface_takes_only_its_reseller_bearer(schema: dict[str, Any]) -> None:
    for path, _method, operation in _operations(schema):
        if path.startswith("/reseller/orders"):
            assert operation["security"] == [{"resellerBearer": []}], path
        elif path != "/reseller/token":
            assert {"resellerBearer": []} not in operation.get("security", []), path
    assert schema["paths"]["/reseller/token"]["post"]["security"] == [{"clientBasic": []}, {}]


def test_every_security_scheme_is_described(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["resellerBearer"]["scheme"] == "bearer"
    assert "reseller token" in schemes["resellerBearer"]["description"]
    assert all(scheme.get("description") for scheme in schemes.values()), schemes
