"""The admin's audit trail of migrations: listed with their reports, searchable by anonymous id
and customer, and carts showing what they were merged into."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone
from rest_framework.test import APIClient

from carts.models import Cart, CartMigration
from catalog.models import Product
from tests.carts.migration_fixtures import (
    anonymous_cart,
    customer_cart,
    lines_add,
    migrate,
    proof_of,
)
from tests.conftest import Shopper, Storefront, anonymous_shopper
from tests.identity.provider_fixtures import (
    CustomerSession,
    CustomerShopper,
)

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:carts_cartmigration_changelist")


@pytest.fixture
def migrations(
    api: APIClient,
    storefront: Storefront,
    catalog: dict[str, Product],
    customer_shopper: CustomerShopper,
) -> dict[str, tuple[Shopper, CustomerSession]]:
    """Two migrations: alice's merged 2 MUG and 1 OLD (gone since) into her cart of 1 CAP;
    bob's had nothing to migrate."""
    alice, bob = customer_shopper("auth0|alice"), customer_shopper("auth0|bob")
    merged, empty = anonymous_shopper(api, storefront.key), anonymous_shopper(api, storefront.key)
    lines_add(api, alice, CAP=1)
    Product.objects.filter(sku="OLD").update(is_active=True)
    lines_add(api, merged, MUG=2, OLD=1)
    Product.objects.filter(sku="OLD").update(is_active=False)
    assert migrate(api, alice, proof_of(merged)).status_code == 200
    assert migrate(api, bob, proof_of(empty)).status_code == 200
    return {"merged": (merged, alice), "empty": (empty, bob)}


def listed_anonymous_ids(page: str, candidates: list[str]) -> set[str]:
    return {anonymous_id for anonymous_id in candidates if anonymous_id in page}


def test_the_changelist_lists_every_migration_with_its_line_count(
    operator: Client, migrations: dict[str, tuple[Shopper, CustomerSession]]
) -> None:
    # given two migrations
    merged, alice = migrations["merged"]
    empty, bob = migrations["empty"]

    # when the operator opens the list
    answer = operator.get(CHANGELIST_URL)

    # then both are there with who, whose and how many lines
    assert answer.status_code == 200
    page = answer.content.decode()
    for anonymous_id, customer_id in (
        (merged.anonymous_id, alice.customer_id),
        (empty.anonymous_id, bob.customer_id),
    ):
        assert anonymous_id in page
        assert customer_id in page
    rows = answer.context["cl"].result_list
    assert sorted((str(row.anonymous_id), len(row.report)) for row in rows) == sorted(
        [(merged.anonymous_id, 2), (empty.anonymous_id, 0)]
    )
    assert '<td class="field-lines">2</td>' in page
    assert '<td class="field-lines">0</td>' in page


@pytest.mark.parametrize("search_by", ["anonymous id", "customer id"])
def test_the_changelist_finds_a_migration_by_anonymous_id_or_customer(
    operator: Client, migrations: dict[str, tuple[Shopper, CustomerSession]], search_by: str
) -> None:
    # given two migrations
    merged, alice = migrations["merged"]
    empty, _ = migrations["empty"]
    term = merged.anonymous_id if search_by == "anonymous id" else alice.customer_id

    # when the operator searches for one of them
    answer = operator.get(CHANGELIST_URL, {"q": term})

    # then only that one is listed
    assert answer.status_code == 200
    assert [str(row.anonymous_id) for row in answer.context["cl"].result_list] == [
        merged.anonymous_id
    ]
    assert listed_anonymous_ids(
        answer.content.decode(), [merged.anonymous_id, empty.anonymous_id]
    ) == {merged.anonymous_id}


def test_a_search_for_text_that_is_no_id_finds_nothing_and_does_not_fail(
    operator: Client, migrations: dict[str, tuple[Shopper, CustomerSession]]
) -> None:
    # when the operator searches for a word
    answer = operator.get(CHANGELIST_URL, {"q": "alice"})

    # then the list is empty
    assert answer.status_code == 200
    assert list(answer.context["cl"].result_list) == []


def test_the_change_page_shows_the_report_and_both_carts(
    operator: Client, migrations: dict[str, tuple[Shopper, CustomerSession]]
) -> None:
    # given alice's migration
    merged, alice = migrations["merged"]
    record = CartMigration.objects.get(anonymous_id=merged.anonymous_id)
    source, target = anonymous_cart(merged.anonymous_id), customer_cart(alice.customer_id)

    # when the operator opens it
    answer = operator.get(reverse("admin:carts_cartmigration_change", args=[record.pk]))

    # then the report is a table of its lines, and both carts link to their pages
    assert answer.status_code == 200
    page = answer.content.decode()
    assert (
        "<tr><th>SKU</th><th>outcome</th><th>anonymous</th><th>customer</th>"
        "<th>after</th><th>reasons</th></tr>"
    ) in page
    assert "<tr><td>MUG</td><td>moved</td><td>2</td><td>0</td><td>2</td><td></td></tr>" in page
    assert (
        "<tr><td>OLD</td><td>dropped</td><td>1</td><td>0</td><td>0</td>"
        "<td>product_inactive</td></tr>"
    ) in page
    for cart in (source, target):
        link = reverse("admin:carts_cart_change", args=[cart.pk])
        assert f'<a href="{link}">{cart.public_id}</a>' in page
    # and it can be viewed only, not changed
    assert 'name="_save"' not in page


def test_the_cart_page_shows_what_the_cart_was_merged_into(
    operator: Client, migrations: dict[str, tuple[Shopper, CustomerSession]]
) -> None:
    # given alice's migration merged an anonymous cart into hers
    merged, alice = migrations["merged"]
    source, target = anonymous_cart(merged.anonymous_id), customer_cart(alice.customer_id)

    # when the operator opens the anonymous cart
    answer = operator.get(reverse("admin:carts_cart_change", args=[source.pk]))

    # then it shows it was merged, into which cart, and when; and still lists its lines
    assert answer.status_code == 200
    page = answer.content.decode()
    target_link = reverse("admin:carts_cart_change", args=[target.pk])
    assert f'<a href="{target_link}">{target.public_id}</a>' in page
    assert "Merged into another cart" in page
    assert source.merged_at is not None
    merged_at = formats.localize(timezone.template_localtime(source.merged_at))
    assert f'<div class="readonly">{merged_at}</div>' in page
    assert "MUG" in page and "OLD" in page
    assert Cart.objects.get(pk=source.pk).status == "merged"


def test_the_cart_list_shows_merged_into(
    operator: Client, migrations: dict[str, tuple[Shopper, CustomerSession]]
) -> None:
    # given alice's migration merged an anonymous cart into hers
    merged, alice = migrations["merged"]
    target = customer_cart(alice.customer_id)

    # when the operator searches the carts by the anonymous id
    answer = operator.get(reverse("admin:carts_cart_changelist"), {"q": merged.anonymous_id})

    # then the anonymous cart is listed with the cart it went into
    assert answer.status_code == 200
    rows = list(answer.context["cl"].result_list)
    assert [(row.status, row.merged_into_id) for row in rows] == [("merged", target.pk)]
    assert f'<td class="field-merged_into nowrap">{target.public_id}</td>' in (
        answer.content.decode()
    )
