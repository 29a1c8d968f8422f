from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    label = "core"
    verbose_name = "core"

    def ready(self) -> None:
        # Every app declares its error codes in its own ``errors`` module; importing them all
        # here fills the registry the exception handler and the catalogue read.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("errors")
