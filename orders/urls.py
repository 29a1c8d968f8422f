from django.urls import path

from orders.apis import OrderDetailApi, OrdersApi

urlpatterns = [
    path("orders", OrdersApi.as_view(), name="orders"),
    path("orders/<str:orderNumber>", OrderDetailApi.as_view(), name="order"),
]
# POST /Orders/Create: the checkout under the path integrations written against the platform
# call. The same view, POST only (commerceapi/urls.py mounts it at the root).
alias_urlpatterns = [
    path(
        "Orders/Create",
        OrdersApi.as_view(http_method_names=["post", "options"]),
        name="orders-create-alias",
    ),
]
