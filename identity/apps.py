from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from identity.tenancy import cors  # noqa: F401  (connects the per-storefront CORS check)
