"""Fixtures of the API-key surfaces: a supplier of the acme storefront's tenant, a live key of
each surface, and the header that sends a key. Registered for every test module."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from identity.models import ApiKey, Supplier
from identity.tenancy.api_keys import api_key_create
from identity.tenancy.suppliers import supplier_create
from tests.conftest import Storefront

SUPPLIER_PATH = "/supplier/products"
PAYMENT_PATH = "/payment/orders/ACME-000001"


@dataclass
class IssuedKey:
    api_key: ApiKey
    value: str

    @property
    def key_id(self) -> str:
        return self.api_key.lookup_id

    def headers(self, **more: str) -> dict[str, str]:
        return {**api_key_headers(self.value), **more}


def api_key_headers(value: str) -> dict[str, str]:
    """``ApiKey: <value>`` as the test client sends it."""
    return {"HTTP_APIKEY": value}


@pytest.fixture
def supplier(storefront: Storefront) -> Supplier:
    return supplier_create(tenant=storefront.tenant, code="acme-farm", name="Acme Farm")


@pytest.fixture
def other_supplier(storefront: Storefront) -> Supplier:
    return supplier_create(tenant=storefront.tenant, code="rival-farm", name="Rival Farm")


def issue_supplier_key(supplier: Supplier, **options: object) -> IssuedKey:
    created = api_key_create(
        tenant=supplier.tenant, surface="supplier", supplier=supplier, **options
    )
    return IssuedKey(created.api_key, created.value)


def issue_payment_key(storefront: Storefront, **options: object) -> IssuedKey:
    created = api_key_create(
        tenant=storefront.tenant, surface="payment", provider="acme-pay", **options
    )
    return IssuedKey(created.api_key, created.value)


@pytest.fixture
def supplier_key(supplier: Supplier) -> IssuedKey:
    """A live key of the Supplier API with all three scopes."""
    return issue_supplier_key(supplier)


@pytest.fixture
def payment_key(storefront: Storefront) -> IssuedKey:
    """A live key of the Payment API for the provider acme-pay, with both scopes."""
    return issue_payment_key(storefront)
