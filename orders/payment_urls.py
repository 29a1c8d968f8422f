from django.urls import path

from orders.payment_apis import PaymentEventsApi, PaymentOrderApi

urlpatterns = [
    path("orders/<str:orderNumber>", PaymentOrderApi.as_view(), name="payment-order"),
    path("orders/<str:orderNumber>/events", PaymentEventsApi.as_view(), name="payment-events"),
]
