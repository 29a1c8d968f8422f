"""The Reseller surface's order endpoints, under /reseller/."""

from django.urls import path

from orders.reseller_apis import ResellerOrderDetailApi, ResellerOrdersApi

urlpatterns = [
    path("orders", ResellerOrdersApi.as_view(), name="reseller-orders"),
    path("orders/<str:orderNumber>", ResellerOrderDetailApi.as_view(), name="reseller-order"),
]
