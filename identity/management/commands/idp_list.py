from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from identity.models import IdentityProvider


class Command(BaseCommand):
    help = "List identity providers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=None, help="Only this tenant's (slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        providers = IdentityProvider.objects.select_related("tenant").order_by(
            "tenant__slug", "name"
        )
        if options["tenant"]:
            providers = providers.filter(tenant__slug=options["tenant"])
        for provider in providers:
            source = (
                provider.discovery_url
                or provider.jwks_uri
                or ("static public key" if provider.public_key_pem else "")
            )
            state = "enabled" if provider.is_enabled else "disabled"
            self.stdout.write(
                f"{provider.tenant.slug}\t{provider.name}\t{state}\t{provider.flavor}\t"
                f"{provider.issuer}\t{','.join(provider.audiences)}\t{source}"
            )
