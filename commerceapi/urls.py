from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

import identity.http.openapi  # noqa: F401  (registers the authentication schemes)
from commerceapi.docs import DocsPageView
from commerceapi.health import healthz, readyz
from identity.http.apis import CurrentCustomerJwtApi
from orders.urls import alias_urlpatterns as order_alias_urlpatterns

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("commerceapi/", include("identity.http.urls")),
    path("commerceapi/", include("catalog.urls")),
    path("commerceapi/", include("carts.urls")),
    path("commerceapi/", include("orders.urls")),
    *order_alias_urlpatterns,
    path("reseller/", include("identity.http.reseller_urls")),
    path("reseller/", include("orders.reseller_urls")),
    path("", include("identity.http.oauth_urls")),
    path("supplier/", include("catalog.supplier_urls")),
    path("payment/", include("orders.payment_urls")),
    path("customer/current.jwt", CurrentCustomerJwtApi.as_view(), name="current-customer-jwt"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", DocsPageView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
]

handler400 = "core.problems.handler400"
handler403 = "core.problems.handler403"
handler404 = "core.problems.handler404"
handler500 = "core.problems.handler500"
