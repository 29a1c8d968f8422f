"""Seed the demo tenant for ``make run`` and print its key and a curl walk-through.

Idempotent: a second run reuses the tenant, the products, the key (kept in
``.demo-storefront-key``, a development-only file, because keys are stored hashed), the sales
channel, the loyalty app and the demo customer (password in ``.demo-customer-password``).
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from catalog.services import product_upsert
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
KEY_FILE = Path(settings.BASE_DIR) / ".demo-storefront-key"
# A local "identity provider" for trying customer sign-in: a key pair on disk whose public half
# is registered as a static-key provider of the demo tenant.
IDP_KEY_FILE = Path(settings.BASE_DIR) / ".demo-idp-key.pem"
IDP_NAME = "demo-local"
IDP_ISSUER = "https://idp.demo.local/"
IDP_AUDIENCE = "commerceapi-demo"
# The token service's demo: a sales channel (public client), a local customer account and a
# third-party app that verifies current-customer tokens (docs/third-party-apps.md).
SALES_CHANNEL_NAME = "Demo sales channel"
LOYALTY_APP_NAME = "Loyalty points"
CUSTOMER_EMAIL = "demo@example.com"
CUSTOMER_PASSWORD_FILE = Path(settings.BASE_DIR) / ".demo-customer-password"

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

  # 6. The shopper signs in with a customer account of this API (the password grant of
  #    the token service; the sales channel is a public client: no secret).
  CLIENT={client_id}
  SIGNIN=$(curl -s -X POST $API/oauth/token -d grant_type=password -d client_id=$CLIENT \\
    -d username={customer_email} --data-urlencode password@{password_file})
  echo "$SIGNIN"
  CTOKEN=$(echo "$SIGNIN" | json access_token); REFRESH=$(echo "$SIGNIN" | json refresh_token)
  #    (Or with an external identity provider: here a local provider's token for "alice"
  #    stands in for Entra ID, Okta, Auth0, Cognito or Keycloak; docs/identity-providers.md.)
  #    CTOKEN=$(.venv/bin/python manage.py idp_dev_token --private-key-file {idp_key} \\
  #      --issuer {idp_issuer} --audience {idp_audience} --sub alice --email alice@example.com)
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

  # 8. A current-customer token for the loyalty app (docs/third-party-apps.md verifies it).
  curl -s "$API/customer/current.jwt?app_client_id={loyalty_client_id}" \\
    -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"; echo

  # 9. Check out: the cart becomes an order, once. The Idempotency-Key is the client's own
  #    (one per checkout, the same on every retry); expectedTotal is the total the shopper saw.
  TOTAL=$(curl -s $API/commerceapi/cart -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT" | json subtotal)
  ORDER_KEY=$(python3 -c 'import uuid; print(uuid.uuid4())')
  ORDER=$(curl -s -X POST $API/commerceapi/orders -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $ORDER_KEY" -d "{{\\"expectedTotal\\": \\"$TOTAL\\"}}")
  echo "$ORDER"
  #    A retry gets the same answer, marked Idempotent-Replayed, and orders nothing twice:
  curl -s -i -X POST $API/commerceapi/orders -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $ORDER_KEY" -d "{{\\"expectedTotal\\": \\"$TOTAL\\"}}"; echo
  #    The cart is empty now, and the stock went down by what was ordered.
  curl -s $API/commerceapi/cart -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT"; echo
  curl -s $API/commerceapi/products/TEE-BLK-M -H "X-Auth-Key: $KEY"; echo

  # 10. The order, and the customer's orders (newest first).
  NUMBER=$(echo "$ORDER" | json orderNumber)
  curl -s $API/commerceapi/orders/$NUMBER -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT"; echo
  curl -s $API/commerceapi/orders -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT"; echo

  # 11. Server to server: a supplier and a payment provider, each with an API key
  #     (docs/supplier-api.md, docs/payment-api.md). An operator creates the supplier and the
  #     keys; each command prints key_id=<id> first and the key alone on the last line.
  M=".venv/bin/python manage.py"
  $M supplier_create --tenant {tenant} --code demo-farm --name "Demo farm"
  OUT=$($M apikey_create --tenant {tenant} --surface supplier --supplier demo-farm)
  SKEY_ID=$(echo "$OUT" | head -1 | cut -d= -f2); SKEY=$(echo "$OUT" | tail -1)
  PKEY=$($M apikey_create --tenant {tenant} --surface payment --provider demo-pay | tail -1)
  #     The supplier creates a product and sets its stock; the storefront sells it at once.
  curl -s -X PUT $API/supplier/products/JAM-APRICOT -H "ApiKey: $SKEY" \\
    -H 'Content-Type: application/json' -d '{{"name": "Apricot jam", "unitPrice": "4.50"}}'; echo
  curl -s -X POST $API/supplier/stock -H "ApiKey: $SKEY" -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" \\
    -d '{{"items": [{{"sku": "JAM-APRICOT", "quantity": 20, "mode": "set"}}]}}'; echo
  curl -s $API/supplier/products -H "ApiKey: $SKEY"; echo
  #     The customer buys two jars.
  curl -s -X POST $API/commerceapi/cart/lines -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \\
    -d '{{"sku": "JAM-APRICOT", "quantity": 2}}'; echo
  ORDER2=$(curl -s -X POST $API/commerceapi/orders -H "Authorization: Bearer $CTOKEN" \\
    -H "X-Customer-Context: $CCONTEXT" -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" -d '{{}}')
  NUMBER2=$(echo "$ORDER2" | json orderNumber); TOTAL2=$(echo "$ORDER2" | json total)
  #     The payment provider reports the authorization and the capture: the order is paid
  #     ("paymentStatus": "captured"). Sending an event again answers "alreadyProcessed": true.
  for EVENT in authorized captured; do
    B="{{\\"type\\": \\"$EVENT\\", \\"amount\\": \\"$TOTAL2\\", \\"currency\\": \\"EUR\\", "
    B="$B\\"pspReference\\": \\"psp-$EVENT-$NUMBER2\\", "
    B="$B\\"occurredAt\\": \\"2026-12-03T12:00:00Z\\"}}"
    curl -s -X POST $API/payment/orders/$NUMBER2/events -H "ApiKey: $PKEY" \\
      -H 'Content-Type: application/json' -H "Idempotency-Key: $EVENT-$NUMBER2" \\
      -d "$B"; echo
  done
  curl -s $API/payment/orders/$NUMBER2 -H "ApiKey: $PKEY"; echo
  #     Rolling the supplier's key: the old one keeps working for the overlap (60 s here), then
  #     401; revoking a key ends it at once, on every process.
  NEW=$($M apikey_roll $SKEY_ID --old-key-expires-in 60)
  SKEY2_ID=$(echo "$NEW" | head -1 | cut -d= -f2); SKEY2=$(echo "$NEW" | tail -1)
  curl -s -o /dev/null -w '%{{http_code}}\\n' $API/supplier/products -H "ApiKey: $SKEY"  # 200
  curl -s -o /dev/null -w '%{{http_code}}\\n' $API/supplier/products -H "ApiKey: $SKEY2" # 200
  #     (the old key, $SKEY, gets 401 after the 60 s)
  $M apikey_revoke $SKEY2_ID
  curl -s $API/supplier/products -H "ApiKey: $SKEY2"; echo   # 401, code 2100
  $M apikey_list --tenant {tenant}

  # 12. A reseller partner (docs/surfaces.md): an operator creates it (the secret is shown
  #     once); the partner generates a token, orders for its own customer and lists it; a
  #     second partner sees none of it.
  P=$(.venv/bin/python manage.py reseller_create --tenant {tenant} --name "Partner $(date +%s)")
  PID=$(echo "$P" | sed -n 's/^client_id=//p'); PSECRET=$(echo "$P" | sed -n 's/^client_secret=//p')
  PTOKEN=$(curl -s -X POST $API/reseller/token -H 'Content-Type: application/json' \\
    -d "{{\\"clientId\\": \\"$PID\\", \\"clientSecret\\": \\"$PSECRET\\"}}" | json accessToken)
  PORDER=$(curl -s -X POST $API/reseller/orders -H "Authorization: Bearer $PTOKEN" \\
    -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: $(python3 -c 'import uuid; print(uuid.uuid4())')" \\
    -d '{{"customer": {{"email": "bob@example.com", "name": "Bob", "externalReference": "CRM-42"}},
         "lines": [{{"sku": "MUG-LOGO", "quantity": 2}}]}}')
  echo "$PORDER"
  curl -s "$API/reseller/orders?externalReference=CRM-42" -H "Authorization: Bearer $PTOKEN"; echo
  P2=$(.venv/bin/python manage.py reseller_create --tenant {tenant} --name "Partner $(date +%s)-2")
  PTOKEN2=$(curl -s -X POST $API/reseller/token \\
    -u "$(echo "$P2" | sed -n 's/^client_id=//p'):$(echo "$P2" | sed -n 's/^client_secret=//p')" \\
    | json accessToken)
  curl -s $API/reseller/orders -H "Authorization: Bearer $PTOKEN2"; echo
  curl -s $API/reseller/orders/$(echo "$PORDER" | json orderNumber) \\
    -H "Authorization: Bearer $PTOKEN2"; echo

  # Later: a new access token from the refresh token (which is replaced: use the new one),
  # and signing out everywhere, which ends the refresh token too:
  #   curl -s -X POST $API/oauth/token -d grant_type=refresh_token -d client_id=$CLIENT \\
  #     -d refresh_token=$REFRESH
  #   curl -s -X POST $API/commerceapi/customer/sign-out-everywhere \\
  #     -H "Authorization: Bearer $CTOKEN" -H "X-Customer-Context: $CCONTEXT"

The order is in the admin: {api}/admin/orders/order/ (python manage.py createsuperuser first).
API docs: {api}/api/docs/
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
            sales_channel, loyalty_app = self._clients(tenant, app)
            self._customer(tenant)
        if options["quiet"]:
            self.stdout.write(key)
            return
        self.stdout.write(f"Demo tenant '{DEMO_SLUG}' ready with {len(DEMO_PRODUCTS)} products.")
        self.stdout.write(f"Storefront X-Auth-Key (also in {KEY_FILE.name}): {key}")
        self.stdout.write(f"Sales channel client_id: {sales_channel.client_id}")
        self.stdout.write(f"Customer {CUSTOMER_EMAIL}, password in {CUSTOMER_PASSWORD_FILE.name}")
        self.stdout.write(
            f"Third-party app {LOYALTY_APP_NAME!r}: client_id={loyalty_app.client_id} "
            f"client_secret={self._signing_secret(loyalty_app)}"
        )
        self.stdout.write(
            WALKTHROUGH.format(
                api=options["api"],
                key=key,
                idp_key=IDP_KEY_FILE.name,
                idp_issuer=IDP_ISSUER,
                idp_audience=IDP_AUDIENCE,
                client_id=sales_channel.client_id,
                customer_email=CUSTOMER_EMAIL,
                password_file=CUSTOMER_PASSWORD_FILE.name,
                loyalty_client_id=loyalty_app.client_id,
                tenant=DEMO_SLUG,
            )
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
    def _customer(tenant: Tenant) -> None:
        """The demo customer; its password is made once and kept in a development-only file."""
        account = LocalAccount.objects.filter(tenant=tenant, email=CUSTOMER_EMAIL).first()
        if account is not None and CUSTOMER_PASSWORD_FILE.exists():
            return
        password = secrets.token_urlsafe(12)
        if account is None:
            local_account_create(
                tenant=tenant, email=CUSTOMER_EMAIL, password=password, name="Demo Customer"
            )
        else:
            local_account_set_password(account=account, password=password)
        CUSTOMER_PASSWORD_FILE.write_text(password)
        CUSTOMER_PASSWORD_FILE.chmod(0o600)

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
