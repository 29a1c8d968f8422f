from django.urls import path

from carts.apis import CartApi, CartLineApi, CartLinesApi

urlpatterns = [
    path("cart", CartApi.as_view(), name="cart"),
    path("cart/lines", CartLinesApi.as_view(), name="cart-lines"),
    path("cart/lines/<str:sku>", CartLineApi.as_view(), name="cart-line"),
]
