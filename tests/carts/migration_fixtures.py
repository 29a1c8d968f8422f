"""What the cart tests share: a catalog, shoppers' carts filled through the API, the expected
cart answers, the migrate call and its expected answers, and racing migrations from threads.

Customers sign in with real tokens of a static-key identity provider
(tests/identity/provider_fixtures.py); tests/conftest.py registers the fixtures of both modules.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.response import Response
from rest_framework.test import APIClient

from carts.migration import MigrationResult, cart_migrate
from carts.models import Cart, CartLine, CartMigration
from catalog.models import Product
from core.errors import DomainError
from identity.models import StorefrontApp
from identity.sessions.anonymous import anonymous_id_retire
from tests.conftest import Shopper, Storefront, field_error, iso, problem
from tests.factories import ProductFactory
from tests.identity.provider_fixtures import CustomerSession

AUTH_URL = "/commerceapi/authentication/"
CART_URL = "/commerceapi/cart"
LINES_URL = "/commerceapi/cart/lines"
MIGRATE_URL = "/commerceapi/cart/migrate"

Shopping = Shopper | CustomerSession


# --- catalog ----------------------------------------------------------------------------------


@pytest.fixture
def catalog(storefront: Storefront, products: dict[str, Product]) -> dict[str, Product]:
    """The shared products (MUG, CAP stock 3, TEE at most 5, OLD inactive) and a few more, all
    unlimited and active until a test changes them."""
    tenant = storefront.tenant
    extra = {
        "pen": ProductFactory(tenant=tenant, sku="PEN", unit_price="2.00"),
        "bag": ProductFactory(tenant=tenant, sku="BAG", unit_price="35.00"),
        "box": ProductFactory(tenant=tenant, sku="BOX", unit_price="5.00"),
        "lamp": ProductFactory(tenant=tenant, sku="LAMP", unit_price="49.00"),
    }
    return {**products, **extra}


def storefront_policy(storefront: Storefront, *, merge: str = "", anonymous_id: str = "") -> None:
    """Set the storefront app's cart merge policy and/or anonymous-id policy."""
    app = storefront.app
    if merge:
        app.cart_merge_policy = merge
    if anonymous_id:
        app.anonymous_id_policy = anonymous_id
    app.save()


# --- requests ---------------------------------------------------------------------------------


def cart_get(api: APIClient, shopper: Shopping, **extra: Any) -> Response:
    return api.get(CART_URL, **shopper.headers(), **extra)


def line_add(api: APIClient, shopper: Shopping, body: Any) -> Response:
    return api.post(LINES_URL, body, format="json", **shopper.headers())


def lines_add(api: APIClient, shopper: Shopping, **quantities: int) -> None:
    """Add ``SKU=quantity`` lines through the API, in the order given."""
    for sku, quantity in quantities.items():
        answer = line_add(api, shopper, {"sku": sku, "quantity": quantity})
        assert answer.status_code == 200, answer.content


def proof_of(shopper: Shopper) -> dict[str, str]:
    """The migrate body proving the anonymous session with its own token."""
    return {"anonymousId": shopper.anonymous_id, "anonymousToken": shopper.token}


def migrate(api: APIClient, customer: CustomerSession, body: Any) -> Response:
    return api.post(MIGRATE_URL, body, format="json", **customer.headers())


# --- expected answers -------------------------------------------------------------------------


def cart_line(sku: str, quantity: int, unit_price: str) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "quantity": quantity,
        "unitPrice": unit_price,
        "lineTotal": f"{Decimal(unit_price) * quantity:.2f}",
    }


def _cart_body(cart: Cart, lines: list[dict[str, Any]], *, is_anonymous: bool) -> dict[str, Any]:
    cart.refresh_from_db()
    return {
        "id": str(cart.public_id),
        "isAnonymous": is_anonymous,
        "currency": "EUR",
        "lines": lines,
        "itemCount": sum(line["quantity"] for line in lines),
        "subtotal": f"{sum((Decimal(line['lineTotal']) for line in lines), Decimal('0')):.2f}",
        "updatedAt": iso(cart.updated_at),
    }


def anonymous_cart_body(cart: Cart, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """An anonymous shopper's cart answer for ``cart`` as stored now, ``lines`` in line order."""
    return _cart_body(cart, lines, is_anonymous=True)


def customer_cart_body(cart: Cart, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The customer's cart answer for ``cart`` as stored now, with ``lines`` in line order."""
    return _cart_body(cart, lines, is_anonymous=False)


EMPTY_CUSTOMER_CART = {
    "id": None,
    "isAnonymous": False,
    "currency": "EUR",
    "lines": [],
    "itemCount": 0,
    "subtotal": "0.00",
    "updatedAt": None,
}
EMPTY_ANONYMOUS_CART = {**EMPTY_CUSTOMER_CART, "isAnonymous": True}


def report_line(
    sku: str,
    outcome: str,
    *,
    anonymous: int,
    customer: int,
    quantity: int,
    reasons: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "sku": sku,
        "outcome": outcome,
        "anonymousQuantity": anonymous,
        "customerQuantity": customer,
        "quantity": quantity,
        "reasons": list(reasons),
    }


def migration_body(
    record: CartMigration, *, repeated: bool, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "anonymousId": str(record.anonymous_id),
        "policy": record.policy,
        "repeated": repeated,
        "migratedAt": iso(record.created_at),
        "sourceCartId": str(record.source_cart.public_id) if record.source_cart else None,
        "lines": lines,
    }


MIGRATION_CONFLICT = problem(
    "cart_migration_conflict",
    "Anonymous cart already migrated",
    409,
    "This anonymous id was migrated to another customer; nothing was changed.",
    4010,
)
ANONYMOUS_TOKEN_INVALID = problem(
    "anonymous_token_invalid",
    "Anonymous token does not prove the id",
    403,
    "anonymousToken is not a valid anonymous token of this tenant for anonymousId.",
    2052,
)
_TOKEN_REQUIRED_MESSAGE = (
    "Required: the anonymous session's token proves the anonymous id is yours."
)
ANONYMOUS_TOKEN_REQUIRED = problem(
    "anonymous_token_required",
    "Anonymous token required",
    400,
    _TOKEN_REQUIRED_MESSAGE,
    2051,
    [field_error("anonymousToken", "anonymous_token_required", _TOKEN_REQUIRED_MESSAGE)],
)
ANONYMOUS_SESSION_ENDED = problem(
    "anonymous_session_ended",
    "Anonymous session ended",
    401,
    "The anonymous id was migrated to a customer. Re-authenticate (POST "
    "/commerceapi/authentication/) for a new anonymous id, or use the customer's session.",
    2013,
)


# --- state ------------------------------------------------------------------------------------


def anonymous_cart(anonymous_id: str) -> Cart:
    """The cart an anonymous id started (open, merged or handed to a customer)."""
    return Cart.objects.get(anonymous_id=anonymous_id)


def customer_cart(customer_id: str) -> Cart:
    return Cart.objects.get(customer_id=customer_id, status="open")


def cart_quantities(cart: Cart) -> dict[str, int]:
    return dict(
        CartLine.objects.filter(cart=cart).order_by("pk").values_list("product__sku", "quantity")
    )


# --- migrating from threads -------------------------------------------------------------------


def migrate_as_the_api_does(
    *, storefront: Storefront, anonymous_id: str, customer_id: str
) -> MigrationResult:
    """What POST /commerceapi/cart/migrate does once the caller is authorized."""
    tenant_id = storefront.tenant.pk
    policy = StorefrontApp.objects.values_list("cart_merge_policy", flat=True).get(
        pk=storefront.app.pk
    )
    return cart_migrate(
        tenant_id=tenant_id,
        anonymous_id=anonymous_id,
        customer_id=customer_id,
        policy=policy,
        on_migrated=lambda: anonymous_id_retire(tenant_id=tenant_id, anonymous_id=anonymous_id),
    )


@dataclass
class RaceOutcome:
    """What the racing calls returned or raised, in the order they finished."""

    returned: list[Any] = field(default_factory=list)
    domain_errors: list[DomainError] = field(default_factory=list)
    other_errors: list[BaseException] = field(default_factory=list)

    @property
    def errors(self) -> list[BaseException]:
        """Everything the racing calls raised, domain errors first."""
        return [*self.domain_errors, *self.other_errors]


def race(calls: list[Callable[[], Any]], *, timeout: float = 120) -> RaceOutcome:
    """Run ``calls`` at once, one thread and one database connection each.

    A barrier releases them together; each thread touches the database only after it, so that
    connections from a bounded pool are never held by a thread still waiting at the barrier.
    """
    barrier = threading.Barrier(len(calls))
    outcome = RaceOutcome()
    lock = threading.Lock()

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            result = call()
        except DomainError as error:
            with lock:
                outcome.domain_errors.append(error)
        except BaseException as error:
            with lock:
                outcome.other_errors.append(error)
        else:
            with lock:
                outcome.returned.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing call never finished"
    return outcome


def answers_of(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` at once (one thread each); their answers. Nothing may raise."""
    outcome = race(calls)
    assert outcome.errors == []
    return outcome.returned
