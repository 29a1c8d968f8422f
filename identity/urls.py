from django.urls import path

from identity.apis import AnonymousAuthenticationApi, CustomerContextApi, CustomerProfileApi

urlpatterns = [
    path("authentication/", AnonymousAuthenticationApi.as_view(), name="anonymous-token"),
    path("authentication/customercontext", CustomerContextApi.as_view(), name="customer-context"),
    path("customer", CustomerProfileApi.as_view(), name="customer-profile"),
]
