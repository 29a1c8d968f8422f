"""Concurrent changes to one cart, with real threads, each on its own database connection.

On PostgreSQL the owner's open cart row is locked (``SELECT ... FOR UPDATE``) for the length of
each change and the partial unique index decides which first add creates the cart; these tests
prove that no update is lost or doubled and that one owner never holds two open carts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from rest_framework.test import APIClient

from carts.models import Cart, CartLine
from carts.owners import CartOwner
from carts.services import cart_clear, cart_line_add
from catalog.models import Product
from core.errors import DomainError
from identity.models import Tenant
from tests.carts.migration_fixtures import race
from tests.conftest import Storefront, anonymous_shopper
from tests.factories import ProductFactory, TenantFactory

THREADS = 20
CART_URL = "/commerceapi/cart"
LINES_URL = "/commerceapi/cart/lines"


def open_carts(owner: CartOwner) -> list[Cart]:
    return list(Cart.objects.filter(owner.open_cart_filter()))


def quantity_of(owner: CartOwner, sku: str) -> int | None:
    return (
        CartLine.objects.filter(cart__in=open_carts(owner), product__sku=sku)
        .values_list("quantity", flat=True)
        .first()
    )


@pytest.fixture
def tenant(transactional_db: None) -> Tenant:
    return TenantFactory(slug="acme")


@pytest.fixture
def mug(tenant: Tenant) -> Product:
    return ProductFactory(tenant=tenant, sku="MUG", unit_price="9.50")


def anonymous(tenant: Tenant) -> CartOwner:
    return CartOwner(tenant_id=tenant.pk, anonymous_id=str(uuid.uuid4()))


def adds_of_one(owner: CartOwner, sku: str, count: int) -> list[Callable[[], None]]:
    return [lambda: cart_line_add(owner=owner, sku=sku, quantity=1) for _ in range(count)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_to_one_cart_lose_nothing(tenant: Tenant, mug: Product) -> None:
    # given an anonymous cart already holding 1 MUG
    owner = anonymous(tenant)
    cart_line_add(owner=owner, sku="MUG", quantity=1)

    # when 20 threads add 1 MUG each at the same moment
    errors = race(adds_of_one(owner, "MUG", THREADS)).errors

    # then every add counted, on the one line of the one open cart
    assert errors == []
    assert len(open_carts(owner)) == 1
    assert CartLine.objects.count() == 1
    assert quantity_of(owner, "MUG") == THREADS + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_through_the_api_lose_nothing(
    storefront: Storefront, products: dict[str, Product]
) -> None:
    # given an anonymous shopper with a real token and context, and no cart yet
    shopper = anonymous_shopper(APIClient(), storefront.key)
    statuses: list[int] = []

    def add() -> None:
        answer = APIClient().post(
            LINES_URL, {"sku": "MUG", "quantity": 1}, format="json", **shopper.headers()
        )
        statuses.append(answer.status_code)

    # when 20 requests add 1 MUG each at the same moment
    errors = race([add] * THREADS).errors

    # then all 20 succeeded and the one cart holds 20
    assert errors == []
    assert statuses == [200] * THREADS
    cart = APIClient().get(CART_URL, **shopper.headers()).json()
    assert (cart["itemCount"], cart["lines"][0]["quantity"], cart["subtotal"]) == (
        THREADS,
        THREADS,
        "190.00",
    )
    assert Cart.objects.filter(anonymous_id=shopper.anonymous_id, status="open").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_adds_create_one_cart(tenant: Tenant, mug: Product) -> None:
    # given an anonymous shopper without a cart
    owner = anonymous(tenant)

    # when 20 threads make their first add at the same moment
    errors = race(adds_of_one(owner, "MUG", THREADS)).errors

    # then one open cart was created, holding all 20
    assert errors == []
    assert len(open_carts(owner)) == 1
    assert Cart.objects.count() == 1
    assert quantity_of(owner, "MUG") == THREADS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_adds_of_a_customer_create_one_cart(tenant: Tenant, mug: Product) -> None:
    # given a customer without a cart, and 20 first adds of 2 different SKUs
    ProductFactory(tenant=tenant, sku="CAP", unit_price="24.00")
    owner = CartOwner(tenant_id=tenant.pk, customer_id=str(uuid.uuid4()))
    jobs = adds_of_one(owner, "MUG", THREADS // 2) + adds_of_one(owner, "CAP", THREADS // 2)

    # when they run at the same moment
    errors = race(jobs).errors

    # then one cart with one line per SKU holds them all
    assert errors == []
    assert len(open_carts(owner)) == 1
    assert CartLine.objects.count() == 2
    assert (quantity_of(owner, "MUG"), quantity_of(owner, "CAP")) == (THREADS // 2, THREADS // 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_many_owners_stay_apart(tenant: Tenant, mug: Product) -> None:
    # given 4 shoppers without carts
    owners = [anonymous(tenant) for _ in range(4)]

    # when each makes 5 first adds, all 20 at the same moment
    errors = race([job for owner in owners for job in adds_of_one(owner, "MUG", 5)]).errors

    # then each has exactly one cart holding their own 5
    assert errors == []
    assert Cart.objects.count() == 4
    assert [quantity_of(owner, "MUG") for owner in owners] == [5, 5, 5, 5]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_racing_cart_deletes_apply_in_one_order(
    tenant: Tenant, mug: Product
) -> None:
    # given an anonymous cart holding 1 MUG
    owner = anonymous(tenant)
    cart_line_add(owner=owner, sku="MUG", quantity=1)
    cart_id = open_carts(owner)[0].pk
    # Each change records itself while it still holds the cart's row lock, so the record's order
    # is the order in which the database applied the changes.
    applied: list[str] = []
    applied_lock = threading.Lock()

    def recorded(name: str, change: Callable[[], None]) -> Callable[[], None]:
        def job() -> None:
            with transaction.atomic():
                change()
                with applied_lock:
                    applied.append(name)

        return job

    add = recorded("add", lambda: cart_line_add(owner=owner, sku="MUG", quantity=1))
    clear = recorded("clear", lambda: cart_clear(owner=owner))

    # when 17 adds and 3 deletes of the cart run at the same moment
    errors = race([add] * 17 + [clear] * 3).errors

    # then all ran, in some order, and the cart holds what that order leaves
    assert errors == []
    assert sorted(applied) == ["add"] * 17 + ["clear"] * 3
    expected = 1
    for name in applied:
        expected = 0 if name == "clear" else expected + 1
    assert quantity_of(owner, "MUG") == (expected or None)
    # the cart itself survived: same id, still the only open one
    assert [cart.pk for cart in open_carts(owner)] == [cart_id]
    assert CartLine.objects.count() == (1 if expected else 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_never_exceed_the_stock(tenant: Tenant) -> None:
    # given a product with 5 in stock and a cart holding none
    ProductFactory(tenant=tenant, sku="CAP", unit_price="24.00", stock=5)
    owner = anonymous(tenant)

    # when 20 threads add 1 each at the same moment
    errors = race(adds_of_one(owner, "CAP", THREADS)).errors

    # then exactly 5 were accepted and 15 refused for stock; the line holds 5
    codes = [error.code.number if isinstance(error, DomainError) else error for error in errors]
    assert codes == [4003] * (THREADS - 5)
    assert quantity_of(owner, "CAP") == 5
    assert len(open_carts(owner)) == 1


# The race on SQLite runs in a child process on a database file: the suite's in-memory test
# database is opened in shared-cache mode, where a second writer fails at once with "database
# table is locked" (table locks ignore the busy timeout), so no thread race can run against it.
SQLITE_RACE = """
import json, threading, uuid

import django
django.setup()
from django.core.management import call_command
from django.db import connection

call_command("migrate", verbosity=0)
from carts.models import Cart, CartLine
from carts.owners import CartOwner
from carts.services import cart_line_add
from catalog.models import Product
from core.errors import DomainError
from identity.models import Tenant

tenant = Tenant.objects.create(slug="acme", name="Acme", currency="EUR")
Product.objects.create(tenant=tenant, sku="MUG", name="Mug", unit_price="9.50")


def race(owner, count):
    barrier = threading.Barrier(count)
    errors = []

    def add():
        try:
            barrier.wait(timeout=30)
            cart_line_add(owner=owner, sku="MUG", quantity=1)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    carts = Cart.objects.filter(owner.open_cart_filter())
    return {
        "errors": errors,
        "open_carts": carts.count(),
        "quantity": list(
            CartLine.objects.filter(cart__in=carts).values_list("quantity", flat=True)
        ),
    }


existing = CartOwner(tenant_id=tenant.pk, anonymous_id=str(uuid.uuid4()))
cart_line_add(owner=existing, sku="MUG", quantity=1)
first = CartOwner(tenant_id=tenant.pk, anonymous_id=str(uuid.uuid4()))
print(json.dumps({
    "vendor": connection.vendor,
    "options": connection.settings_dict["OPTIONS"],
    "existing_cart": race(existing, %(threads)d),
    "first_adds": race(first, %(threads)d),
}))
"""


def test_concurrent_adds_on_an_sqlite_file_queue_up_and_lose_nothing(tmp_path: Path) -> None:
    """SQLite (the ``make run`` database) takes the write lock when a transaction begins and
    waits for it (commerceapi/settings.py), so the same race neither fails nor loses an add."""
    # given a fresh SQLite database file, configured as the project configures SQLite
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "REDIS_URL": "",
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "commerceapi.settings",
    }

    # when 20 threads add 1 MUG each to an existing cart, then 20 make the first add of another
    finished = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SQLITE_RACE % {"threads": THREADS}],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # then no add failed, none was lost, and each owner has one open cart
    assert finished.returncode == 0, finished.stderr
    outcome = json.loads(finished.stdout.strip().splitlines()[-1])
    assert outcome["vendor"] == "sqlite"
    assert outcome["options"]["transaction_mode"] == "IMMEDIATE"
    assert outcome["options"]["timeout"] == 20
    assert outcome["existing_cart"] == {"errors": [], "open_carts": 1, "quantity": [THREADS + 1]}
    assert outcome["first_adds"] == {"errors": [], "open_carts": 1, "quantity": [THREADS]}
