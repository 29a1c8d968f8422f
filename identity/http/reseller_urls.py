"""The Reseller surface's token endpoint, under /reseller/."""

from django.urls import path

from identity.http.reseller_apis import ResellerTokenApi

urlpatterns = [
    path("token", ResellerTokenApi.as_view(), name="reseller-token"),
]
