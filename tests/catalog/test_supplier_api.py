"""The Supplier API: a supplier's own products (PUT, the cursor-paginated list in GET and POST
/list) and their stock (POST /supplier/stock, idempotent, a result per row)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Product
from core.models import IdempotencyRecord
from identity.models import Supplier
from tests.conftest import Storefront, assert_problem, iso, problem, validation_problem
from tests.factories import ProductFactory
from tests.identity.api_keys_common import IssuedKey, issue_supplier_key

PRODUCTS = "/supplier/products"
STOCK = "/supplier/stock"

NOT_FOUND = problem(
    "supplier_product_not_found",
    "Product not found",
    404,
    "The supplier has no product with this SKU.",
    6000,
)
SKU_TAKEN = problem(
    "supplier_sku_taken",
    "SKU taken by the shop",
    409,
    "The shop sells a product of its own under this SKU; a supplier cannot take it over. "
    "Choose another SKU. Nothing was changed.",
    6001,
)


def product_body(product: Product) -> dict[str, Any]:
    product.refresh_from_db()
    return {
        "sku": product.sku,
        "name": product.name,
        "unitPrice": f"{product.unit_price:.2f}",
        "currency": "EUR",
        "active": product.is_active,
        "stock": product.stock,
        "maxQuantityPerOrder": product.max_quantity_per_order,
        "updatedAt": iso(product.updated_at),
    }


def put(api: Any, key: IssuedKey, sku: str, **body: Any) -> Any:
    return api.put(f"{PRODUCTS}/{sku}", body, format="json", **key.headers())


def stock(api: Any, key: IssuedKey, body: dict[str, Any], idempotency_key: str = "s-1") -> Any:
    return api.post(
        STOCK, body, format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key, **key.headers()
    )


def snapshot() -> list[dict[str, Any]]:
    return list(Product.objects.order_by("pk").values())


@pytest.fixture
def own(storefront: Storefront, supplier: Supplier) -> dict[str, Product]:
    """Two products of the supplier, one of a rival supplier, one of the shop's own."""
    return {
        "jam": ProductFactory(
            tenant=storefront.tenant, supplier=supplier, sku="JAM", unit_price="4.50", stock=10
        ),
        "honey": ProductFactory(
            tenant=storefront.tenant, supplier=supplier, sku="HONEY", unit_price="8.00", stock=0
        ),
        "rival": ProductFactory(
            tenant=storefront.tenant,
            supplier=Supplier.objects.create(tenant=storefront.tenant, code="rival", name="R"),
            sku="RIVAL",
            stock=5,
        ),
        "shop": ProductFactory(tenant=storefront.tenant, sku="SHOP", stock=5),
    }


# --- PUT /supplier/products/{sku} ------------------------------------------------------------


def test_a_supplier_creates_a_product_that_the_storefront_sells_at_once(
    api: Any, storefront: Storefront, supplier_key: IssuedKey
) -> None:
    answer = put(api, supplier_key, "PEAR-1", name="Pears", unitPrice="3.20", stock=12)
    assert answer.status_code == 201, answer.content
    product = Product.objects.get(sku="PEAR-1")
    assert product.supplier_id == supplier_key.api_key.supplier_id
    assert answer.json() == product_body(product)
    assert answer.json()["stock"] == 12
    assert answer.json()["maxQuantityPerOrder"] is None
    listed = api.get("/commerceapi/products/PEAR-1", HTTP_X_AUTH_KEY=storefront.key)
    assert listed.status_code == 200
    assert listed.json()["unitPrice"] == "3.20"


def test_a_put_replaces_the_product_and_keeps_the_stock_it_leaves_out(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    answer = put(
        api,
        supplier_key,
        "JAM",
        name="Jam, apricot",
        unitPrice="4.90",
        active=False,
        maxQuantityPerOrder=3,
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() == product_body(own["jam"])
    assert (own["jam"].name, own["jam"].stock, own["jam"].is_active) == ("Jam, apricot", 10, False)
    assert (
        put(api, supplier_key, "JAM", name="Jam", unitPrice="4.90", stock=None).json()["stock"]
        is None
    )


def test_another_suppliers_sku_is_a_404_and_the_shops_own_a_409(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    before = snapshot()
    assert_problem(put(api, supplier_key, "RIVAL", name="Mine", unitPrice="1.00"), NOT_FOUND)
    assert_problem(put(api, supplier_key, "SHOP", name="Mine", unitPrice="1.00"), SKU_TAKEN)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("sku", "body", "field"),
    [
        ("JAM", {"unitPrice": "1.00"}, "name"),
        ("JAM", {"name": "x", "unitPrice": 1.5}, "unitPrice"),
        ("JAM", {"name": "x", "unitPrice": "-1.00"}, "unitPrice"),
        ("JAM", {"name": "x", "unitPrice": "37553853891"}, "unitPrice"),  # 11 digits
        ("JAM", {"name": "x", "unitPrice": "1.00", "stock": -1}, "stock"),
        ("JAM", {"name": "x", "unitPrice": "1.00", "stock": "5"}, "stock"),
        (
            "JAM",
            {"name": "x", "unitPrice": "1.00", "maxQuantityPerOrder": 0},
            "maxQuantityPerOrder",
        ),
        ("JAM", {"name": "x", "unitPrice": "1.00", "supplier": 1}, "supplier"),
        ("JAM", {"name": "x", "unitPrice": "1.00", "tenant": 2}, "tenant"),
        ("bad sku!", {"name": "x", "unitPrice": "1.00"}, "sku"),
    ],
)
def test_an_invalid_product_is_a_400_naming_the_field_and_nothing_changes(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product], sku: str, body: Any, field: str
) -> None:
    before = snapshot()
    answer = put(api, supplier_key, sku, **body)
    assert answer.status_code == 400, answer.content
    assert [error["field"] for error in answer.json()["errors"]] == [field]
    assert snapshot() == before


def test_the_highest_price_a_product_holds_is_taken(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    answer = put(api, supplier_key, "GOLD", name="Gold", unitPrice="9999999999.99")
    assert answer.status_code == 201, answer.content
    assert Product.objects.get(sku="GOLD").unit_price == Decimal("9999999999.99")


# --- The list ------------------------------------------------------------------------------


def test_the_list_holds_only_the_suppliers_products_with_stock_and_price(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    answer = api.get(PRODUCTS, **supplier_key.headers())
    assert answer.status_code == 200
    assert answer.json() == {
        "results": [product_body(own["jam"]), product_body(own["honey"])],
        "nextCursor": None,
    }


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_cursor_walks_every_product_once_while_others_change(
    api: Any, storefront: Storefront, supplier: Supplier, supplier_key: IssuedKey, method: str
) -> None:
    for index in range(7):
        ProductFactory(tenant=storefront.tenant, supplier=supplier, sku=f"P{index}")

    def page(**filters: Any) -> Any:
        if method == "get":
            answer = api.get(PRODUCTS, filters, **supplier_key.headers())
        else:
            answer = api.post(f"{PRODUCTS}/list", filters, format="json", **supplier_key.headers())
        assert answer.status_code == 200, answer.content
        return answer.json()

    seen: list[str] = []
    body = page(pageSize=3)
    seen += [item["sku"] for item in body["results"]]
    # A product changes in between: it moves to the end and comes again, nothing is skipped.
    Product.objects.filter(sku="P0").update(name="changed", updated_at=timezone.now())
    while body["nextCursor"]:
        body = page(pageSize=3, cursor=body["nextCursor"])
        seen += [item["sku"] for item in body["results"]]
    assert seen == [f"P{index}" for index in range(7)] + ["P0"]


def test_updated_since_lists_only_what_changed_since(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    moment = timezone.now()
    Product.objects.filter(pk=own["honey"].pk).update(updated_at=moment + timedelta(seconds=1))
    Product.objects.filter(pk=own["jam"].pk).update(updated_at=moment - timedelta(seconds=1))
    answer = api.get(PRODUCTS, {"updatedSince": iso(moment)}, **supplier_key.headers())
    assert [item["sku"] for item in answer.json()["results"]] == ["HONEY"]
    posted = api.post(
        f"{PRODUCTS}/list", {"updatedSince": iso(moment)}, format="json", **supplier_key.headers()
    )
    assert posted.json() == answer.json()


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("cursor=bm9wZQ", "cursor", 1043),
        ("cursor=%%%", "cursor", 1043),
        ("cursor=1_", "cursor", 1043),
        ("updatedSince=yesterday", "updatedSince", 1043),
        ("pageSize=0", "pageSize", 1043),
        ("pageSize=101", "pageSize", 1043),
        ("pageSize=1&pageSize=2", "pageSize", 1043),
        ("colour=red", "colour", 1043),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(
    api: Any, supplier_key: IssuedKey, query: str, field: str, code: int
) -> None:
    answer = api.get(f"{PRODUCTS}?{query}", **supplier_key.headers())
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == code
    assert answer.json()["errors"][0]["field"] == field


# --- POST /supplier/stock --------------------------------------------------------------------


def stock_of(*skus: str) -> list[int | None]:
    return [Product.objects.get(sku=sku).stock for sku in skus]


def test_stock_is_set_and_changed_with_a_result_per_row(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    answer = stock(
        api,
        supplier_key,
        {
            "items": [
                {"sku": "JAM", "quantity": -4, "mode": "delta"},
                {"sku": "HONEY", "quantity": 25, "mode": "set"},
            ]
        },
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "results": [
            {"sku": "JAM", "status": "applied", "stock": 6},
            {"sku": "HONEY", "status": "applied", "stock": 25},
        ],
        "applied": 2,
        "rejected": 0,
    }
    assert stock_of("JAM", "HONEY") == [6, 25]


ROWS_WITH_FAILURES = {
    "items": [
        {"sku": "JAM", "quantity": 2, "mode": "delta"},
        {"sku": "HONEY", "quantity": -1, "mode": "delta"},
        {"sku": "RIVAL", "quantity": 1, "mode": "set"},
        {"sku": "SHOP", "quantity": 1, "mode": "set"},
        {"sku": "NOPE", "quantity": 1, "mode": "set"},
    ]
}


def rejected(sku: str, code: int, slug: str, message: str, **more: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "status": "rejected",
        **more,
        "error": {"code": code, "slug": slug, "message": message},
    }


BELOW_ZERO = "The change would take the stock below zero; it was not applied."
NOT_THEIRS = "The supplier has no product with this SKU."


def test_reject_all_refuses_every_row_when_one_fails(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    before = snapshot()
    answer = stock(api, supplier_key, ROWS_WITH_FAILURES)
    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert body["code"] == 6004
    assert body["results"] == [
        {"sku": "JAM", "status": "not_applied"},
        rejected("HONEY", 6002, "stock_below_zero", BELOW_ZERO, stock=0),
        rejected("RIVAL", 6000, "supplier_product_not_found", NOT_THEIRS),
        rejected("SHOP", 6000, "supplier_product_not_found", NOT_THEIRS),
        rejected("NOPE", 6000, "supplier_product_not_found", NOT_THEIRS),
    ]
    assert snapshot() == before
    assert IdempotencyRecord.objects.count() == 0


def test_reject_failed_applies_the_other_rows(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    answer = stock(api, supplier_key, {**ROWS_WITH_FAILURES, "errorPolicy": "reject_failed"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["results"][0] == {"sku": "JAM", "status": "applied", "stock": 12}
    assert (answer.json()["applied"], answer.json()["rejected"]) == (1, 4)
    assert stock_of("JAM", "HONEY", "RIVAL", "SHOP") == [12, 0, 5, 5]


def test_a_delta_on_unlimited_stock_is_rejected(
    api: Any, storefront: Storefront, supplier: Supplier, supplier_key: IssuedKey
) -> None:
    ProductFactory(tenant=storefront.tenant, supplier=supplier, sku="FREE", stock=None)
    answer = stock(api, supplier_key, {"items": [{"sku": "FREE", "quantity": 1, "mode": "delta"}]})
    assert answer.status_code == 409
    assert answer.json()["results"][0]["error"]["code"] == 6003


def test_a_delta_past_the_maximum_stock_is_rejected(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    answer = stock(
        api, supplier_key, {"items": [{"sku": "JAM", "quantity": 2_000_000_000, "mode": "delta"}]}
    )
    assert answer.status_code == 409
    assert answer.json()["results"][0]["error"]["code"] == 6006
    assert stock_of("JAM") == [10]


def test_the_same_idempotency_key_answers_the_first_answer_and_changes_nothing_more(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    body = {"items": [{"sku": "JAM", "quantity": -1, "mode": "delta"}]}
    first = stock(api, supplier_key, body, "restock-7")
    again = stock(api, supplier_key, body, "restock-7")
    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert stock_of("JAM") == [9]
    other = stock(
        api, supplier_key, {"items": [{"sku": "JAM", "quantity": -2, "mode": "delta"}]}, "restock-7"
    )
    assert other.status_code == 422
    assert other.json()["code"] == 1052
    assert stock_of("JAM") == [9]
    # A rolled key of the same supplier is the same caller: its retry gets the same answer.
    rolled = issue_supplier_key(supplier_key.api_key.supplier)
    assert stock(api, rolled, body, "restock-7").content == first.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"sku": "JAM", "quantity": 1, "mode": "add"}]}, "items.0.mode"),
        ({"items": [{"sku": "JAM", "quantity": 1.5, "mode": "set"}]}, "items.0.quantity"),
        ({"items": [{"sku": "JAM", "quantity": 1, "mode": "set", "x": 1}]}, "items.0.x"),
        (
            {"items": [{"sku": "JAM", "quantity": 1, "mode": "set"}], "errorPolicy": "x"},
            "errorPolicy",
        ),
        ({"items": [{"sku": "J", "quantity": 1, "mode": "set"}] * 1001}, "items"),
    ],
)
def test_an_invalid_stock_update_is_a_400_and_nothing_changes(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product], body: Any, field: str
) -> None:
    before = snapshot()
    answer = stock(api, supplier_key, body)
    assert_problem(
        answer,
        validation_problem(
            *[
                (error["field"], error["code"], error["message"])
                for error in answer.json()["errors"]
            ]
        ),
    )
    assert field in [error["field"] for error in answer.json()["errors"]]
    assert snapshot() == before


def test_a_sku_twice_in_one_update_is_a_400(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    row = {"sku": "JAM", "quantity": 1, "mode": "delta"}
    answer = stock(api, supplier_key, {"items": [row, row]})
    assert answer.status_code == 400
    assert answer.json()["code"] == 6005
    assert stock_of("JAM") == [10]


def test_a_stock_update_needs_an_idempotency_key(
    api: Any, supplier_key: IssuedKey, own: dict[str, Product]
) -> None:
    answer = api.post(
        STOCK,
        {"items": [{"sku": "JAM", "quantity": 1, "mode": "delta"}]},
        format="json",
        **supplier_key.headers(),
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == 1050
    assert stock_of("JAM") == [10]


def test_a_thousand_rows_are_taken(
    api: Any, storefront: Storefront, supplier: Supplier, supplier_key: IssuedKey
) -> None:
    Product.objects.bulk_create(
        [
            Product(
                tenant=storefront.tenant,
                supplier=supplier,
                sku=f"S{index}",
                name="s",
                unit_price=1,
                stock=0,
            )
            for index in range(1000)
        ]
    )
    rows = [{"sku": f"S{index}", "quantity": 3, "mode": "set"} for index in range(1000)]
    answer = stock(api, supplier_key, {"items": rows})
    assert answer.status_code == 200, answer.content[:300]
    assert answer.json()["applied"] == 1000
    assert set(Product.objects.filter(supplier=supplier).values_list("stock", flat=True)) == {3}
