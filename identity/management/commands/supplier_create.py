from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from identity.models import Tenant
from identity.tenancy.suppliers import supplier_create


class Command(BaseCommand):
    help = "Create a supplier of a tenant, whose API keys manage its own products and stock."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--code", required=True, help="The supplier's code (a slug).")
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}; create it with tenant_create")
        try:
            supplier = supplier_create(tenant=tenant, code=options["code"], name=options["name"])
        except DomainError as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"supplier {supplier} created")
