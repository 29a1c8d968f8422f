from django.urls import path

from catalog.supplier_apis import (
    SupplierProductApi,
    SupplierProductListApi,
    SupplierProductsApi,
    SupplierStockApi,
)

urlpatterns = [
    path("products", SupplierProductsApi.as_view(), name="supplier-product-list"),
    path("products/list", SupplierProductListApi.as_view(), name="supplier-product-list-post"),
    path("products/<str:sku>", SupplierProductApi.as_view(), name="supplier-product"),
    path("stock", SupplierStockApi.as_view(), name="supplier-stock"),
]
