from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.models import Tenant
from identity.oauth.reseller import reseller_create
from identity.scopes import RESELLER_SCOPES


class Command(BaseCommand):
    help = (
        "Create a reseller partner of a tenant. Prints client_id=... and client_secret=... "
        "(shown once, stored hashed); the partner trades them for a reseller token at "
        "POST /reseller/token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--name", required=True, help="The partner's name, unique per tenant.")
        parser.add_argument(
            "--scope",
            action="append",
            choices=sorted(RESELLER_SCOPES),
            help="Allowed scope (repeat); default: both.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}; create it with tenant_create")
        try:
            created = reseller_create(tenant=tenant, name=options["name"], scopes=options["scope"])
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        partner = created.client
        self.stdout.write(f"# reseller partner {partner.name!r} of {tenant}")
        self.stdout.write(f"# scopes: {' '.join(partner.scopes)}")
        self.stdout.write(f"client_id={partner.client_id}")
        self.stdout.write(f"client_secret={created.client_secret}")
