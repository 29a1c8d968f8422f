from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.models import Tenant
from identity.tenancy.storefront import tenant_create


class Command(BaseCommand):
    help = "Create a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--currency", default="EUR", help="ISO 4217 code (default EUR).")

    def handle(self, *args: Any, **options: Any) -> None:
        if Tenant.objects.filter(slug=options["slug"]).exists():
            raise CommandError(f"tenant {options['slug']!r} exists already")
        try:
            tenant = tenant_create(
                slug=options["slug"], name=options["name"], currency=options["currency"]
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"created tenant {tenant.slug} ({tenant.currency})")
