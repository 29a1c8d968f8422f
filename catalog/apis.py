from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import errors
from catalog.models import Product
from catalog.selectors import product_get, product_list
from core.errors import DomainError
from core.openapi import problems
from core.pagination import StrictPageNumberPagination
from identity.http.authentication import (
    BearerAuthentication,
    StorefrontKeyAuthentication,
    principal_of,
)
from identity.http.permissions import HasScope
from identity.scopes import CATALOG_READ

_ERRORS = problems(
    _401="No valid X-Auth-Key or bearer token.", _403="The credentials may not read the catalog."
)


class ProductOutputSerializer(serializers.ModelSerializer):
    unitPrice = serializers.DecimalField(source="unit_price", max_digits=12, decimal_places=2)
    inStock = serializers.SerializerMethodField()
    stock = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")
    maxQuantityPerOrder = serializers.IntegerField(source="max_quantity_per_order", allow_null=True)

    class Meta:
        model = Product
        fields = ["sku", "name", "unitPrice", "inStock", "stock", "maxQuantityPerOrder"]

    def get_inStock(self, product: Product) -> bool:  # noqa: N802
        return product.stock is None or product.stock > 0


class _CatalogApi(APIView):
    authentication_classes = [StorefrontKeyAuthentication, BearerAuthentication]
    permission_classes = [HasScope]
    required_scope = CATALOG_READ

    def get_authenticate_header(self, request: Request) -> str:
        """A 401 names both schemes the catalog takes, not only the first (RFC 9110 11.6.1)."""
        challenges = (auth.authenticate_header(request) for auth in self.get_authenticators())
        return ", ".join(challenge for challenge in challenges if challenge)


class ProductListApi(_CatalogApi):
    """GET /commerceapi/products — the tenant's active products, by SKU, paginated."""

    @extend_schema(
        operation_id="product_list",
        parameters=StrictPageNumberPagination.openapi_parameters("products"),
        responses={
            200: inline_serializer(
                name="ProductPage",
                fields={
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "results": ProductOutputSerializer(many=True),
                },
            ),
            **_ERRORS,
            **problems(
                _400="page or pageSize is not a whole number in range (named in errors[]).",
                _404="No such page.",
            ),
        },
        tags=["catalog"],
    )
    def get(self, request: Request) -> Response:
        products: QuerySet[Product] = product_list(tenant_id=principal_of(request).tenant_id)
        paginator = StrictPageNumberPagination()
        page = paginator.paginate_queryset(products, request, view=self)
        return paginator.get_paginated_response(ProductOutputSerializer(page, many=True).data)


class ProductDetailApi(_CatalogApi):
    """GET /commerceapi/products/{sku}."""

    @extend_schema(
        operation_id="product_get",
        responses={200: ProductOutputSerializer, **_ERRORS, **problems(_404="No such product.")},
        tags=["catalog"],
    )
    def get(self, request: Request, sku: str) -> Response:
        product = product_get(tenant_id=principal_of(request).tenant_id, sku=sku)
        if product is None:
            raise DomainError(errors.PRODUCT_NOT_FOUND)
        return Response(ProductOutputSerializer(product).data)
