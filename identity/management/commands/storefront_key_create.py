from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from identity.models import Tenant
from identity.tenancy.storefront import (
    DEFAULT_APP_NAME,
    storefront_app_get_or_create,
    storefront_key_create,
)


class Command(BaseCommand):
    help = (
        "Create an X-Auth-Key for a tenant's storefront app (created if missing). "
        "The key is printed alone on the last line and never shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--app", default=DEFAULT_APP_NAME, help="Storefront app name.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}; create it with tenant_create")
        with transaction.atomic():
            app = storefront_app_get_or_create(tenant=tenant, name=options["app"])
            created = storefront_key_create(app=app)
        self.stdout.write(f"X-Auth-Key for {app} (store it now; it is not shown again):")
        self.stdout.write(created.value)
