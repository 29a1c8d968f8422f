"""The shopper session and customer endpoints, under /commerceapi/."""

from django.urls import path

from identity.http.apis import (
    AnonymousAuthenticationApi,
    CustomerContextApi,
    CustomerProfileApi,
    CustomerRegistrationApi,
    SignOutEverywhereApi,
)

urlpatterns = [
    path("authentication/", AnonymousAuthenticationApi.as_view(), name="anonymous-token"),
    path("authentication/customercontext", CustomerContextApi.as_view(), name="customer-context"),
    path("customer", CustomerProfileApi.as_view(), name="customer-profile"),
    path(
        "customer/sign-out-everywhere",
        SignOutEverywhereApi.as_view(),
        name="customer-sign-out-everywhere",
    ),
    path("customers", CustomerRegistrationApi.as_view(), name="customer-register"),
]
