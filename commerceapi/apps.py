from django.apps import AppConfig


class CommerceApiConfig(AppConfig):
    """The composition root: settings, urls, wsgi/asgi, health and middleware; no models."""

    name = "commerceapi"
    verbose_name = "commerceapi"
