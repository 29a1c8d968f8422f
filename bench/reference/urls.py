from django.urls import path

from bench.reference import views

urlpatterns = [
    path("healthz", views.healthz),
    path("token", views.token),
    path("cart", views.cart),
    path("context", views.context),
    path("cart/lines", views.add),
]
