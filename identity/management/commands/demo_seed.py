"""Seed the demo tenant for ``make run`` and print its key and a curl walk-through.

Idempotent: a second run reuses the tenant, the products and the key (kept in
``.demo-storefront-key``, a development-only file, because keys are stored hashed).
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from catalog.services import product_upsert
from identity.customers import provider_save
from identity.models import IdentityProvider, Tenant
from identity.storefront import (
    storefront_app_get_or_create,
    storefront_key_create,
    storefront_key_resolve,
    tenant_create,
)

DEMO_SLUG = "demo"
DEMO_PRODUCTS = [
    # sku, name, price, stock (None: unlimited), max per order
    ("TEE-BLK-M", "T-shirt, black, M", "19.90", 120, 5),
    ("TEE-WHT-L", "T-shirt, white, L", "19.90", 80, 5),
    ("MUG-LOGO", "Logo mug", "9.50", None, 10),
    ("CAP-NAVY", "Cap, navy", "24.00", 3, 2),
    ("SOCKS-3PK", "Socks, 3-pack", "12.00", 200, None),
    ("POSTER-A2", "Poster A2", "15.00", 0, None),
]
KEY_FILE = Path(settings.BASE_DIR) / ".demo-storefront-key"
# A local "identity provider" for trying customer sign-in: a key pair on disk whose public half
# is registered as a static-key provider of the demo tenant.
IDP_KEY_FILE = Path(settings.BASE_DIR) / ".demo-idp-key.pem"
IDP_NAME = "demo-local"
IDP_ISSUER = "https://idp.demo.local/"
IDP_AUDIENCE = "commerceapi-demo"

WALKTHROUGH = """
The API serves on {api}. Copy and paste, step by step (python3 extracts JSON fields):

  API={api}
  KEY='{key}'
  json() {{ python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }}

  # 1. An anonymous shopper token; its anonymousId keys the cart.
  curl -s -X POST $API/commerceapi/authentication/ -H "X-Auth-Key: $KEY"; echo
  AUTH=$(curl -s -X POST $API/commerceapi/authentication/ -H "X-Auth-Key: $KEY")
  TOKEN=$(echo "$AUTH" | json accessToken); ANON=$(echo "$AUTH" | json anonymousId)

  # 2. The customer context for that token (send it with every cart call).
  CONTEXT=$(curl -s $API/commerceapi/authentication/customercontext \\
    -H "Authorization: Bearer $TOKEN" | json customerContext)

  # 3. Browse the catalog.
  curl -s $API/commerceapi/products -H "X-Auth-Key: $KEY"; echo
  curl -s $API/commerceapi/products/MUG-LOGO -H "Authorization: Bearer $TOKEN"; echo

  # 4. Fill the cart, change a line, read it.
  curl -s -X POST $API/commerceapi/cart/lines -H "Authorization: Bearer $TOKEN" \\
    -H "X-Customer-Context: $CONTEXT" -H 'Content-Type: application/json' \\
    -d '{{"sku": "TEE-BLK-M", "quantity": 2}}'; echo
  curl -s -X POST $API/commerceapi/cart/lines -H "Authorization: Bearer $TOKEN" \\
    -H "X-Customer-Context: $CONTEXT" -H 'Content-Type: application/json' \\
    -d '{{"sku": "MUG-LOGO", "quantity": 1}}'; echo
  curl -s -X PATCH $API/commerceapi/cart/lines/MUG-LOGO -H "Authorization: Bearer $TOKEN" \\
    -H "X-Customer-Context: $CONTEXT" -H 'Content-Type: application/json' \\
    -d '{{"quantity": 3}}'; echo
  curl -s $API/commerceapi/cart -H "Authorization: Bearer $TOKEN" \\
    -H "X-Customer-Context: $CONTEXT"; echo

  # 5. Come back later: re-authenticate with the same id, proving it with the old token,
  #    and find the same cart.
  TOKEN2=$(curl -s -X POST $API/commerceapi/authentication/ -H "X-Auth-Key: $KEY" \\
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
    -d "{{\\"anonymousAuthenticationRequest\\": \\"$ANON\\"}}" | json accessToken)
  CONTEXT2=$(curl -s $API/commerceapi/authentication/customercontext \\
    -H "Authorization: Bearer $TOKEN2" | json customerContext)
  curl -s $API/commerceapi/cart -H "Authorization: Bearer $TOKEN2" \\
    -H "X-Customer-Context: $CONTEXT2"; echo

  # 6. The shopper signs in. Here a local provider's token for customer "alice" stands in for
  #    Entra ID, Okta, Auth0, Cognito or Keycloak (docs/identity-providers.md).
  CTOKEN=$(.venv/bin/python manage.py idp_dev_token --private-key-file {idp_key} \\
    --issuer {idp_issuer} --audience {idp_audience} --sub alice --email alice@example.com)
  CCONTEXT=$(curl -s $API/commerceapi/authentication/customercontext \\
    -H "Authorization: Bearer $CTOKEN" -H "X-Auth-Key: $KEY" | json customerContext)
  curl -s $API/commerceapi/customer -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT"; echo

  # 7. Move the anonymous cart into alice's cart: once, by the storefront's merge policy.
  curl -s -X POST $API/commerceapi/cart/migrate -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \\
    -d "{{\\"anonymousId\\": \\"$ANON\\", \\"anonymousToken\\": \\"$TOKEN2\\"}}"; echo
  curl -s $API/commerceapi/cart -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT"; echo

  # The anonymous session has ended: its token is refused with a code that says to
  # re-authenticate (2013), and re-authenticating gives a new anonymous id.
  curl -s $API/commerceapi/cart -H "Authorization: Bearer $TOKEN2" \\
    -H "X-Customer-Context: $CONTEXT2"; echo

  # Errors are application/problem+json with a stable code (docs/errors.md):
  curl -s -X POST $API/commerceapi/cart/lines -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \\
    -d '{{"sku": "CAP-NAVY", "quantity": 9}}'; echo

API docs: {api}/api/docs/   Admin: {api}/admin/ (python manage.py createsuperuser first)
"""


class Command(BaseCommand):
    help = (
        "Create the demo tenant, storefront key and products (idempotent) and print a walk-through."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--api", default="http://127.0.0.1:8000")
        parser.add_argument("--quiet", action="store_true", help="Print only the key.")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            tenant = Tenant.objects.filter(slug=DEMO_SLUG).first() or tenant_create(
                slug=DEMO_SLUG, name="Demo shop", currency="EUR"
            )
            app = storefront_app_get_or_create(tenant=tenant, name="Demo storefront")
            for sku, name, price, stock, maximum in DEMO_PRODUCTS:
                product_upsert(
                    tenant_id=tenant.pk,
                    sku=sku,
                    name=name,
                    unit_price=Decimal(price),
                    stock=stock,
                    max_quantity_per_order=maximum,
                )
            key = self._existing_key()
            if key is None:
                key = storefront_key_create(app=app).value
                KEY_FILE.write_text(key + "\n")
                KEY_FILE.chmod(0o600)
            self._local_provider(tenant)
        if options["quiet"]:
            self.stdout.write(key)
            return
        self.stdout.write(f"Demo tenant '{DEMO_SLUG}' ready with {len(DEMO_PRODUCTS)} products.")
        self.stdout.write(f"Storefront X-Auth-Key (also in {KEY_FILE.name}): {key}")
        self.stdout.write(
            WALKTHROUGH.format(
                api=options["api"],
                key=key,
                idp_key=IDP_KEY_FILE.name,
                idp_issuer=IDP_ISSUER,
                idp_audience=IDP_AUDIENCE,
            )
        )

    def _local_provider(self, tenant: Tenant) -> None:
        """The demo's static-key provider, with a key pair made on first run."""
        public_file = IDP_KEY_FILE.with_name(IDP_KEY_FILE.name + ".pub.pem")
        if not (IDP_KEY_FILE.exists() and public_file.exists()):
            call_command(
                "idp_dev_token", private_key_file=IDP_KEY_FILE, create_key=True, stdout=StringIO()
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
    def _existing_key() -> str | None:
        if not KEY_FILE.exists():
            return None
        key = KEY_FILE.read_text().strip()
        return key if storefront_key_resolve(key) is not None else None
