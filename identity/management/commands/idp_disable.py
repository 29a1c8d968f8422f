from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.customers.providers import provider_set_enabled
from identity.models import IdentityProvider


class Command(BaseCommand):
    help = "Disable (or with --enable, re-enable) an identity provider. Takes effect at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--enable", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        provider = IdentityProvider.objects.filter(
            tenant__slug=options["tenant"], name=options["name"]
        ).first()
        if provider is None:
            raise CommandError(f"no provider {options['name']!r} for tenant {options['tenant']!r}")
        try:
            provider_set_enabled(provider=provider, is_enabled=options["enable"])
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"{provider}: {'enabled' if provider.is_enabled else 'disabled'}")
