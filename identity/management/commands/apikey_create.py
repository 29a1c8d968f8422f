from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.errors import DomainError
from identity.models import ApiSurface, Supplier, Tenant
from identity.tenancy.api_keys import api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key of the Supplier API (for a supplier) or of the Payment API (for a "
        "payment provider). Prints key_id=<id>, then the key alone on the last line; it is "
        "never shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--surface", required=True, choices=ApiSurface.values)
        parser.add_argument("--supplier", default="", help="The supplier's code (supplier keys).")
        parser.add_argument("--provider", default="", help="The payment provider's name.")
        parser.add_argument(
            "--scope",
            action="extend",
            nargs="+",
            default=[],
            help="Scopes of the surface (one or more, repeatable; default: all of them).",
        )
        parser.add_argument("--name", default="", help="What the key is for.")
        parser.add_argument(
            "--expires-in", type=int, default=None, help="Seconds until the key expires."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}; create it with tenant_create")
        supplier = None
        if options["supplier"]:
            supplier = Supplier.objects.filter(tenant=tenant, code=options["supplier"]).first()
            if supplier is None:
                raise CommandError(
                    f"no supplier {options['supplier']!r} in {tenant.slug}; "
                    "create it with supplier_create"
                )
        try:
            with transaction.atomic():
                created = api_key_create(
                    tenant=tenant,
                    surface=options["surface"],
                    supplier=supplier,
                    provider=options["provider"],
                    scopes=options["scope"],
                    name=options["name"],
                    expires_in_seconds=options["expires_in"],
                )
        except DomainError as error:
            raise CommandError(str(error)) from None
        api_key = created.api_key
        self.stdout.write(f"key_id={api_key.lookup_id}")
        self.stdout.write(
            f"{api_key.surface} key of {tenant.slug} for "
            f"{supplier.code if supplier else api_key.provider}, scopes "
            f"{' '.join(api_key.scopes)} (store it now; it is not shown again):"
        )
        self.stdout.write(created.value)
