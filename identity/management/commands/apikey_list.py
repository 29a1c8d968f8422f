from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from identity.models import ApiKey, Tenant
from identity.tenancy.api_keys import api_key_list


def _state(api_key: ApiKey) -> str:
    if api_key.revoked_at is not None:
        return "revoked"
    if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
        return "expired"
    return "live"


def _moment(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


class Command(BaseCommand):
    help = "List a tenant's API keys (ids, never the keys): surface, party, scopes, state, use."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        self.stdout.write(
            "key_id\tsurface\tparty\tname\tscopes\tstate\tcreated\texpires\tlast_used"
        )
        for api_key in api_key_list(tenant=tenant):
            party = api_key.supplier.code if api_key.supplier else api_key.provider
            self.stdout.write(
                "\t".join(
                    [
                        api_key.lookup_id,
                        api_key.surface,
                        party,
                        api_key.name or "-",
                        ",".join(api_key.scopes),
                        _state(api_key),
                        _moment(api_key.created_at),
                        _moment(api_key.expires_at),
                        _moment(api_key.last_used_at),
                    ]
                )
            )
