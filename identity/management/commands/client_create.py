from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.models import GrantType, OAuthClientKind, StorefrontApp, Tenant
from identity.oauth.clients import client_create
from identity.scopes import ALL_SCOPES
from identity.tenancy.storefront import DEFAULT_APP_NAME

GRANT_NAMES = {
    "client_credentials": GrantType.CLIENT_CREDENTIALS,
    "password": GrantType.PASSWORD,
    "refresh_token": GrantType.REFRESH_TOKEN,
    "token_exchange": GrantType.TOKEN_EXCHANGE,
    GrantType.TOKEN_EXCHANGE.value: GrantType.TOKEN_EXCHANGE,
}


class Command(BaseCommand):
    help = (
        "Create an OAuth client of a tenant. Prints client_id=... and, for a confidential "
        "client, client_secret=... (shown once, stored hashed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--kind", required=True, choices=OAuthClientKind.values)
        parser.add_argument("--name", default="", help="Unique per tenant; default: generated.")
        parser.add_argument(
            "--grant",
            action="append",
            choices=sorted(GRANT_NAMES),
            help="Allowed grant (repeat); default: the kind's usual grants.",
        )
        parser.add_argument(
            "--scope",
            action="append",
            choices=ALL_SCOPES,
            help="Allowed scope (repeat); default: the kind's usual scopes.",
        )
        parser.add_argument(
            "--storefront-app",
            default=DEFAULT_APP_NAME,
            help="Sales channels: the storefront app's name (default %(default)r).",
        )
        parser.add_argument(
            "--may-act-for-any-customer",
            action="store_true",
            help="Token exchange: the client may name any customer by id.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}; create it with tenant_create")
        app = None
        if options["kind"] == OAuthClientKind.SALES_CHANNEL:
            app = StorefrontApp.objects.filter(
                tenant=tenant, name=options["storefront_app"]
            ).first()
            if app is None:
                raise CommandError(f"no storefront app {options['storefront_app']!r} in {tenant}")
        grants = options["grant"]
        try:
            created = client_create(
                tenant=tenant,
                kind=options["kind"],
                name=options["name"],
                grant_types=[GRANT_NAMES[grant] for grant in grants] if grants else None,
                scopes=options["scope"],
                storefront_app=app,
                may_act_for_any_customer=options["may_act_for_any_customer"],
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        client = created.client
        self.stdout.write(f"# {client.kind} client {client.name!r} of {tenant}")
        self.stdout.write(f"# grants: {' '.join(client.grant_types) or '-'}")
        self.stdout.write(f"# scopes: {' '.join(client.scopes) or '-'}")
        self.stdout.write(f"client_id={client.client_id}")
        if created.client_secret:
            self.stdout.write(f"client_secret={created.client_secret}")
