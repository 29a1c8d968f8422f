from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from identity.customers.accounts import local_account_create
from identity.models import Tenant


class Command(BaseCommand):
    help = (
        "Create a customer with a local account (e-mail and password) for the password grant. "
        "The password is read from standard input, never from the command line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--group", default="", help="Customer group.")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            required=True,
            help="Read the password from standard input (its first line).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}; create it with tenant_create")
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("no password on standard input")
        try:
            customer = local_account_create(
                tenant=tenant,
                email=options["email"],
                password=password,
                name=options["name"],
                group=options["group"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"customer_id={customer.public_id}")
