from django.urls import path

from carts.apis import CartApi, CartLineApi, CartLinesApi, CartMigrateApi

urlpatterns = [
    path("cart", CartApi.as_view(), name="cart"),
    path("cart/lines", CartLinesApi.as_view(), name="cart-lines"),
    path("cart/migrate", CartMigrateApi.as_view(), name="cart-migrate"),
    path("cart/lines/<str:sku>", CartLineApi.as_view(), name="cart-line"),
]
