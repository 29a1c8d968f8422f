"""The Supplier API (``/supplier/``): a supplier's systems manage its own products and their
stock, with an API key of the supplier surface (``ApiKey`` header).

A supplier sees and changes only its own products: another supplier's SKU is a 404, the shop's
own SKU a 409 on a PUT (never taken over) and a rejected row on a stock update.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Product
from catalog.selectors import supplier_product_page
from catalog.services import (
    MAX_STOCK,
    UNSET,
    ErrorPolicy,
    StockMode,
    StockRow,
    stock_result_body,
    supplier_product_put,
    supplier_stock_apply,
)
from core import errors as core_errors
from core.bodies import Body, BodyField, moment, money
from core.errors import DomainError
from core.fields import ClosedSerializer, PriceField, StrictIntegerField
from core.idempotency import (
    IdempotentAnswer,
    idempotency_key_read,
    idempotent_perform,
    idempotent_response,
)
from core.openapi import idempotency_key_parameter, problems
from core.tenants import tenant_currency
from identity.http.authentication import ApiKeyAuthentication, principal_of
from identity.http.openapi import TENANT_HEADER
from identity.http.permissions import IsSupplierKey
from identity.http.throttles import ApiKeyThrottle
from identity.scopes import SUPPLIER_PRODUCTS_READ, SUPPLIER_PRODUCTS_WRITE, SUPPLIER_STOCK_WRITE

STOCK_OPERATION = "supplier.stock"
MAX_STOCK_ROWS = 1000
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# A position in the list: microseconds since 1970 of the last change, and the product's id.
CURSOR_PATTERN = r"^[0-9]{1,16}_[0-9]{1,18}$"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SUPPLIER_PRODUCT = Body(
    "SupplierProduct",
    {
        "sku": BodyField(serializers.CharField(), lambda product: product.sku),
        "name": BodyField(serializers.CharField(), lambda product: product.name),
        "unitPrice": money(lambda product: product.unit_price, max_digits=12),
        "currency": BodyField(
            serializers.CharField(help_text="The tenant's ISO 4217 currency."),
            lambda product: product.currency,
        ),
        "active": BodyField(serializers.BooleanField(), lambda product: product.is_active),
        "stock": BodyField(
            serializers.IntegerField(allow_null=True, help_text="null: unlimited."),
            lambda product: product.stock,
        ),
        "maxQuantityPerOrder": BodyField(
            serializers.IntegerField(allow_null=True),
            lambda product: product.max_quantity_per_order,
        ),
        "updatedAt": moment(lambda product: product.updated_at),
    },
)
SUPPLIER_PRODUCT_PAGE = Body(
    "SupplierProductPage",
    {
        "results": SUPPLIER_PRODUCT.many(lambda page: page["results"]),
        "nextCursor": BodyField(
            serializers.CharField(
                allow_null=True, help_text="Send it as cursor for the next page; null: no more."
            ),
            lambda page: page["nextCursor"],
        ),
    },
)
_AUTH_ERRORS = problems(
    _401="No valid API key (missing, malformed, unknown, expired, revoked, of another tenant "
    "than X-Tenant), or another credential sent.",
    _403="A payment key, a key without the scope, or the tenant has the Supplier API off.",
    _429="Too many requests for this key; see Retry-After.",
)


def _with_currency(products: list[Product], tenant_id: int) -> list[Product]:
    currency = tenant_currency(tenant_id=tenant_id)
    for product in products:
        product.currency = currency  # type: ignore[attr-defined]
    return products


def _cursor_encode(product: Product) -> str:
    moment = product.updated_at
    microseconds = (moment - EPOCH) // timedelta(microseconds=1)
    return f"{microseconds}_{product.pk}"


def _cursor_decode(cursor: str) -> tuple[datetime, int]:
    """The position a cursor names: (last change, id). Any string of ``CURSOR_PATTERN`` is
    one (``ListFilters`` has checked it)."""
    microseconds, _, last_id = cursor.partition("_")
    return EPOCH + timedelta(microseconds=int(microseconds)), int(last_id)


class ListFilters(ClosedSerializer):
    """The list's filters, as query parameters (GET) or a JSON body (POST /list)."""

    unknown_field_message = "Not a filter of this list."

    cursor = serializers.RegexField(
        CURSOR_PATTERN, required=False, help_text="nextCursor of the previous page."
    )
    updatedSince = serializers.DateTimeField(
        required=False, help_text="Only products changed at or after this moment (ISO 8601)."
    )
    pageSize = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE
    )


class _SupplierApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsSupplierKey]
    throttle_classes = [ApiKeyThrottle]

    def supplier_ids(self, request: Request) -> dict[str, int]:
        principal = principal_of(request)
        return {"tenant_id": principal.tenant_id, "supplier_id": int(principal.party_id)}

    def page(self, request: Request, filters: dict[str, Any]) -> Response:
        ids = self.supplier_ids(request)
        size = filters["pageSize"]
        after = _cursor_decode(filters["cursor"]) if filters.get("cursor") else None
        products = supplier_product_page(
            **ids, limit=size + 1, updated_since=filters.get("updatedSince"), after=after
        )
        more = len(products) > size
        products = _with_currency(products[:size], ids["tenant_id"])
        page = {
            "results": products,
            "nextCursor": _cursor_encode(products[-1]) if more else None,
        }
        return Response(SUPPLIER_PRODUCT_PAGE.render(page))


_LIST_ERRORS: dict[Any, Any] = {
    200: SUPPLIER_PRODUCT_PAGE.schema,
    **_AUTH_ERRORS,
    **problems(_400="A filter is invalid (named in errors[]), or the cursor is not ours."),
}


class SupplierProductsApi(_SupplierApi):
    """GET /supplier/products: the supplier's products by last change, cursor-paginated."""

    required_scope = SUPPLIER_PRODUCTS_READ

    @extend_schema(
        operation_id="supplier_product_list",
        parameters=[
            TENANT_HEADER,
            OpenApiParameter(
                "cursor",
                {"type": "string", "pattern": CURSOR_PATTERN},
                description="nextCursor of the previous page.",
            ),
            OpenApiParameter(
                "updatedSince",
                {"type": "string", "format": "date-time"},
                description="Only products changed at or after this moment.",
            ),
            OpenApiParameter(
                "pageSize",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                description=f"Products per page (default {DEFAULT_PAGE_SIZE}).",
            ),
        ],
        responses=_LIST_ERRORS,
        tags=["supplier"],
    )
    def get(self, request: Request) -> Response:
        query = {}
        for name, values in request.query_params.lists():
            if len(values) != 1:
                raise DomainError.for_field(
                    core_errors.QUERY_PARAMETER_INVALID, name, "Send each parameter once."
                )
            query[name] = values[0]
        filters = ListFilters(data=query)
        if not filters.is_valid():
            field = next(iter(filters.errors))
            raise DomainError.for_field(
                core_errors.QUERY_PARAMETER_INVALID, field, str(filters.errors[field][0])
            )
        return self.page(request, filters.validated_data)


class SupplierProductListApi(_SupplierApi):
    """POST /supplier/products/list: the same list, its filters in a JSON body."""

    required_scope = SUPPLIER_PRODUCTS_READ

    @extend_schema(
        operation_id="supplier_product_list_post",
        parameters=[TENANT_HEADER],
        request=ListFilters,
        responses=_LIST_ERRORS,
        tags=["supplier"],
    )
    def post(self, request: Request) -> Response:
        filters = ListFilters(data=request.data)
        filters.is_valid(raise_exception=True)
        return self.page(request, filters.validated_data)


class SupplierProductApi(_SupplierApi):
    """PUT /supplier/products/{sku}: create or replace one of the supplier's products."""

    required_scope = SUPPLIER_PRODUCTS_WRITE

    class InputSerializer(ClosedSerializer):
        unknown_field_message = "Not a field of a product."

        name = serializers.CharField(max_length=200)
        unitPrice = PriceField(help_text="In the tenant's currency.")
        active = serializers.BooleanField(required=False, default=True)
        maxQuantityPerOrder = StrictIntegerField(
            required=False, allow_null=True, default=None, min_value=1, max_value=1_000_000
        )
        stock = StrictIntegerField(
            required=False,
            allow_null=True,
            min_value=0,
            max_value=MAX_STOCK,
            help_text="null: unlimited. Left out: unchanged (0 for a new product); "
            "POST /supplier/stock changes it safely while shoppers buy.",
        )

    @extend_schema(
        operation_id="supplier_product_put",
        parameters=[
            TENANT_HEADER,
            OpenApiParameter(
                "sku", {"type": "string", "pattern": SKU_PATTERN}, OpenApiParameter.PATH
            ),
        ],
        request=InputSerializer,
        responses={
            200: OpenApiResponse(SUPPLIER_PRODUCT.schema, description="Updated."),
            201: OpenApiResponse(SUPPLIER_PRODUCT.schema, description="Created."),
            **_AUTH_ERRORS,
            **problems(
                _400="Invalid body or SKU (named in errors[]).",
                _404="Another supplier's SKU.",
                _409="The shop's own SKU: never taken over.",
            ),
        },
        tags=["supplier"],
    )
    def put(self, request: Request, sku: str) -> Response:
        if not re.fullmatch(SKU_PATTERN, sku):
            raise DomainError.for_field(
                core_errors.VALIDATION_FAILED,
                "sku",
                "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
            )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ids = self.supplier_ids(request)
        put = supplier_product_put(
            **ids,
            sku=sku,
            name=data["name"],
            unit_price=data["unitPrice"],
            is_active=data["active"],
            max_quantity_per_order=data["maxQuantityPerOrder"],
            stock=data.get("stock", UNSET),
        )
        product = _with_currency([put.product], ids["tenant_id"])[0]
        return Response(SUPPLIER_PRODUCT.render(product), status=201 if put.created else 200)


class StockRowSerializer(ClosedSerializer):
    unknown_field_message = "Not a field of a stock row."

    sku = serializers.CharField(max_length=64)
    quantity = StrictIntegerField(min_value=-MAX_STOCK, max_value=MAX_STOCK)
    mode = serializers.ChoiceField(choices=[mode.value for mode in StockMode])


STOCK_RESULTS = Body(
    "SupplierStockResults",
    {
        "results": BodyField(
            serializers.ListField(
                child=serializers.DictField(),
                help_text="Per row, in order: sku, status (applied, rejected, not_applied), "
                "stock (the new stock when applied), error {code, slug, message} when rejected.",
            ),
            lambda results: [stock_result_body(result) for result in results],
        ),
        "applied": BodyField(
            serializers.IntegerField(),
            lambda results: sum(result.status == "applied" for result in results),
        ),
        "rejected": BodyField(
            serializers.IntegerField(),
            lambda results: sum(result.status == "rejected" for result in results),
        ),
    },
)


class SupplierStockApi(_SupplierApi):
    """POST /supplier/stock (Idempotency-Key): set or change the stock of up to 1,000 of the
    supplier's products, with a result per row."""

    required_scope = SUPPLIER_STOCK_WRITE

    class InputSerializer(ClosedSerializer):
        unknown_field_message = "Not a field of a stock update."

        items = serializers.ListField(
            child=StockRowSerializer(), min_length=1, max_length=MAX_STOCK_ROWS
        )
        errorPolicy = serializers.ChoiceField(
            choices=[policy.value for policy in ErrorPolicy],
            required=False,
            default=ErrorPolicy.REJECT_ALL.value,
            help_text="reject_all (default): one bad row refuses all; reject_failed: the "
            "others are applied.",
        )

    @extend_schema(
        operation_id="supplier_stock_update",
        parameters=[TENANT_HEADER, idempotency_key_parameter("this stock update")],
        request=InputSerializer,
        responses={
            200: STOCK_RESULTS.schema,
            **_AUTH_ERRORS,
            **problems(
                _400="Idempotency-Key missing or invalid; invalid body (more than 1,000 rows, "
                "a SKU repeated, a quantity not a whole number).",
                _409="errorPolicy reject_all and a row rejected (results[] says which; nothing "
                "changed), or a request with this Idempotency-Key still in progress.",
                _422="The Idempotency-Key was used with another body.",
            ),
        },
        tags=["supplier"],
    )
    def post(self, request: Request) -> HttpResponse:
        key = idempotency_key_read(request.META.get("HTTP_IDEMPOTENCY_KEY"))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ids = self.supplier_ids(request)
        rows = [
            StockRow(sku=item["sku"], quantity=item["quantity"], mode=StockMode(item["mode"]))
            for item in data["items"]
        ]

        def apply() -> IdempotentAnswer:
            results = supplier_stock_apply(
                **ids, rows=rows, error_policy=ErrorPolicy(data["errorPolicy"])
            )
            body = JSONRenderer().render(STOCK_RESULTS.render(results)).decode()
            return IdempotentAnswer(
                status=200, body=body, headers={"Content-Type": "application/json"}
            )

        answer = idempotent_perform(
            tenant_id=ids["tenant_id"],
            caller=f"supplier:{ids['supplier_id']}",
            key=key,
            operation=STOCK_OPERATION,
            payload=request.data,
            perform=apply,
        )
        return idempotent_response(answer)
