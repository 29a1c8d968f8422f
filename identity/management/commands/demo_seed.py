"""Seed the demo tenant for ``make run`` and print its key and a curl walk-through.

Idempotent: a second run reuses the tenant, the products, the key (kept in
``.demo-storefront-key``, a development-only file, because keys are stored hashed), the sales
channel and the loyalty app (their ids in ``.demo-sales-channel-client-id`` and
``.demo-loyalty-app-client-id``) and the demo customer (password in ``.demo-customer-password``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from catalog.services import product_upsert
from core.origins import origin_problem
from identity.credentials.encryption import secret_decrypt
from identity.customers.accounts import local_account_create, local_account_set_password
from identity.customers.providers import provider_save
from identity.models import (
    IdentityProvider,
    LocalAccount,
    OAuthClient,
    OAuthClientKind,
    StorefrontApp,
    Tenant,
)
from identity.oauth.clients import client_create
from identity.oauth.current_customer import current_customer_signing_secret
from identity.tenancy.storefront import (
    storefront_app_get_or_create,
    storefront_app_save,
    storefront_key_create,
    storefront_key_resolve,
    tenant_create,
)

DEMO_SLUG = "demo"
DEMO_PRODUCTS = [
    # sku, name, price, stock (None: unlimited), max per order
    # Stock is set again on every run, so the walk-through's checkout always has enough.
    ("TEE-BLK-M", "T-shirt, black, M", "19.90", 120, 5),
    ("TEE-WHT-L", "T-shirt, white, L", "19.90", 80, 5),
    ("MUG-LOGO", "Logo mug", "9.50", None, 10),
    ("CAP-NAVY", "Cap, navy", "24.00", 3, 2),
    ("SOCKS-3PK", "Socks, 3-pack", "12.00", 200, None),
    ("POSTER-A2", "Poster A2", "15.00", 0, None),
]
DEMO_APP_NAME = "Demo storefront"
# A local "identity provider" for trying customer sign-in: a key pair on disk whose public half
# is registered as a static-key provider of the demo tenant.
IDP_NAME = "demo-local"
IDP_ISSUER = "https://idp.demo.local/"
IDP_AUDIENCE = "commerceapi-demo"
# The token service's demo: a sales channel (public client), a local customer account and a
# third-party app that verifies current-customer tokens (docs/third-party-apps.md).
SALES_CHANNEL_NAME = "Demo sales channel"
LOYALTY_APP_NAME = "Loyalty points"
CUSTOMER_EMAIL = "demo@example.com"

# The walk-through, printed by every run with the served address, is a script of its own, copied
# in README.md ("Walk-through"), where a test holds the two equal. Every value it needs is read
# from the files below, so that it runs exactly as printed.
WALKTHROUGH_FILE = Path(settings.BASE_DIR) / "examples" / "walkthrough.sh"
WALKTHROUGH_ADDRESS = "API=http://127.0.0.1:8000\n"


def walkthrough(api: str) -> str:
    """The walk-through's commands (without the script's opening comment) for ``api``."""
    text = WALKTHROUGH_FILE.read_text()
    return f"API={api}\n" + text[text.index(WALKTHROUGH_ADDRESS) + len(WALKTHROUGH_ADDRESS) :]


@dataclass(frozen=True)
class DemoFiles:
    """The development-only files of the demo, which the walk-through and ``make spa`` read:
    its X-Auth-Key (kept because the server stores keys only hashed), the customer's password,
    the clients' ids and the local provider's key pair."""

    directory: Path

    @property
    def key(self) -> Path:
        return self.directory / ".demo-storefront-key"

    @property
    def customer_password(self) -> Path:
        return self.directory / ".demo-customer-password"

    @property
    def sales_channel(self) -> Path:
        return self.directory / ".demo-sales-channel-client-id"

    @property
    def loyalty_app(self) -> Path:
        return self.directory / ".demo-loyalty-app-client-id"

    @property
    def idp_key(self) -> Path:
        return self.directory / ".demo-idp-key.pem"


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


class Command(BaseCommand):
    help = (
        "Create the demo tenant, storefront key and products (idempotent) and print a walk-through."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--api", default="http://127.0.0.1:8000")
        parser.add_argument("--quiet", action="store_true", help="Print only the key.")
        parser.add_argument(
            "--spa-origin",
            action="append",
            default=[],
            metavar="ORIGIN",
            help="Allow this browser origin (the example storefront page of make spa) for the "
            "demo storefront; kept with those allowed before.",
        )
        parser.add_argument(
            "--files-dir",
            type=Path,
            default=Path(settings.BASE_DIR),
            help="Where the demo's files are kept (default: the project folder).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files = DemoFiles(options["files_dir"])
        problems = [problem for problem in map(origin_problem, options["spa_origin"]) if problem]
        if problems:
            raise CommandError("; ".join(problems))
        with transaction.atomic():
            tenant = Tenant.objects.filter(slug=DEMO_SLUG).first() or tenant_create(
                slug=DEMO_SLUG, name="Demo shop", currency="EUR"
            )
            app = storefront_app_get_or_create(tenant=tenant, name=DEMO_APP_NAME)
            added = [o for o in options["spa_origin"] if o not in app.allowed_cors_origins]
            if added:
                app.allowed_cors_origins = [*app.allowed_cors_origins, *added]
                storefront_app_save(app=app)
            for sku, name, price, stock, maximum in DEMO_PRODUCTS:
                product_upsert(
                    tenant_id=tenant.pk,
                    sku=sku,
                    name=name,
                    unit_price=Decimal(price),
                    stock=stock,
                    max_quantity_per_order=maximum,
                )
            key = self._existing_key(files)
            if key is None:
                key = storefront_key_create(app=app).value
                _write_private(files.key, key + "\n")
            self._local_provider(tenant, files)
            sales_channel, loyalty_app = self._clients(tenant, app)
            self._customer(tenant, files)
        files.sales_channel.write_text(sales_channel.client_id + "\n")
        files.loyalty_app.write_text(loyalty_app.client_id + "\n")
        if options["quiet"]:
            self.stdout.write(key)
            return
        self.stdout.write(f"Demo tenant '{DEMO_SLUG}' ready with {len(DEMO_PRODUCTS)} products.")
        self.stdout.write(f"Storefront X-Auth-Key (also in {files.key.name}): {key}")
        self.stdout.write(
            f"Sales channel client_id (also in {files.sales_channel.name}): "
            f"{sales_channel.client_id}"
        )
        self.stdout.write(f"Customer {CUSTOMER_EMAIL}, password in {files.customer_password.name}")
        self.stdout.write(
            f"Third-party app {LOYALTY_APP_NAME!r} (client_id also in {files.loyalty_app.name}): "
            f"client_id={loyalty_app.client_id} "
            f"client_secret={self._signing_secret(loyalty_app)}"
        )
        origins = ", ".join(app.allowed_cors_origins) or "none"
        self.stdout.write(f"Browser origins allowed for {app.name!r}: {origins}")
        self.stdout.write(
            f"\nThe API serves on {options['api']}. In a second terminal, in the project folder, "
            "copy and paste step by step (python3 extracts JSON fields):\n"
        )
        self.stdout.write(walkthrough(options["api"]))
        self.stdout.write(
            f"The order is in the admin: {options['api']}/admin/orders/order/ "
            "(python manage.py createsuperuser first).\n"
            f"API docs: {options['api']}/api/docs/\n"
            "A storefront page in the browser: make spa (examples/spa/README.md)."
        )

    @staticmethod
    def _clients(tenant: Tenant, app: StorefrontApp) -> tuple[OAuthClient, OAuthClient]:
        """The sales channel of the demo storefront and the loyalty app (created once)."""
        found = []
        for name, kind in (
            (SALES_CHANNEL_NAME, OAuthClientKind.SALES_CHANNEL),
            (LOYALTY_APP_NAME, OAuthClientKind.THIRD_PARTY_APP),
        ):
            client = OAuthClient.objects.filter(tenant=tenant, name=name).first()
            if client is None:
                storefront_app = app if kind == OAuthClientKind.SALES_CHANNEL else None
                client = client_create(
                    tenant=tenant, kind=kind, name=name, storefront_app=storefront_app
                ).client
            found.append(client)
        return found[0], found[1]

    @staticmethod
    def _signing_secret(client: OAuthClient) -> str:
        signing = current_customer_signing_secret(client)
        if signing is None:
            return "(none: rotate one in the admin)"
        return secret_decrypt(signing.encrypted_signing_secret)

    @staticmethod
    def _customer(tenant: Tenant, files: DemoFiles) -> None:
        """The demo customer; its password is made once and kept in a development-only file."""
        account = LocalAccount.objects.filter(tenant=tenant, email=CUSTOMER_EMAIL).first()
        if account is not None and files.customer_password.exists():
            return
        password = secrets.token_urlsafe(12)
        if account is None:
            local_account_create(
                tenant=tenant, email=CUSTOMER_EMAIL, password=password, name="Demo Customer"
            )
        else:
            local_account_set_password(account=account, password=password)
        _write_private(files.customer_password, password)

    def _local_provider(self, tenant: Tenant, files: DemoFiles) -> None:
        """The demo's static-key provider, with a key pair made on first run."""
        public_file = files.idp_key.with_name(files.idp_key.name + ".pub.pem")
        if not (files.idp_key.exists() and public_file.exists()):
            call_command(
                "idp_dev_token", private_key_file=files.idp_key, create_key=True, stdout=StringIO()
            )
        provider = IdentityProvider.objects.filter(tenant=tenant, name=IDP_NAME).first()
        provider = provider or IdentityProvider(tenant=tenant, name=IDP_NAME)
        provider.issuer = IDP_ISSUER
        provider.audiences = [IDP_AUDIENCE]
        provider.public_key_pem = public_file.read_text()
        provider.algorithms = ["RS256"]
        provider.is_enabled = True
        provider_save(provider=provider)

    @staticmethod
    def _existing_key(files: DemoFiles) -> str | None:
        if not files.key.exists():
            return None
        key = files.key.read_text().strip()
        return key if storefront_key_resolve(key) is not None else None
