"""Seed the benchmark's data through the project's own services and print it as JSON.

Run by bench/run.py with the server's environment (same database, same settings). Every run
makes a tenant of its own, so a reused database (BENCH_DATABASE_URL) never mixes runs.

The JSON object maps names to strings, which bench/run.py substitutes (``$name``) into the
scenarios' paths, headers and bodies, or to lists of such objects, one per request of a
scenario that names the list in its ``each``. A new scenario that needs data of its own adds a
function to ``SEEDERS`` that returns its names.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerceapi.settings")

import django  # noqa: E402

django.setup()

import base64  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from django.contrib.auth.hashers import check_password, get_hasher, make_password  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.reference import tokens as reference_tokens  # noqa: E402
from carts.models import Cart, CartLine  # noqa: E402
from carts.owners import CartOwner  # noqa: E402
from carts.services import cart_line_add  # noqa: E402
from catalog.models import Product  # noqa: E402
from catalog.services import product_upsert  # noqa: E402
from identity.credentials.refresh import grant_create  # noqa: E402
from identity.customers.accounts import local_account_create  # noqa: E402
from identity.customers.providers import provider_save  # noqa: E402
from identity.models import IdentityProvider, OAuthClientKind, StorefrontApp, Tenant  # noqa: E402
from identity.oauth.clients import client_create, client_save  # noqa: E402
from identity.oauth.reseller import reseller_create, reseller_token_generate  # noqa: E402
from identity.scopes import CUSTOMER_SCOPES, scope_format  # noqa: E402
from identity.sessions.anonymous import anonymous_token_issue  # noqa: E402
from identity.sessions.bearer import bearer_principal  # noqa: E402
from identity.sessions.context import customer_context_issue  # noqa: E402
from identity.tenancy.api_keys import api_key_create  # noqa: E402
from identity.tenancy.storefront import (  # noqa: E402
    StorefrontKeyInfo,
    storefront_app_get_or_create,
    storefront_key_create,
    storefront_key_resolve,
    tenant_create,
)
from identity.tenancy.suppliers import supplier_create  # noqa: E402
from orders.services import order_place_from_cart, payment_event_apply  # noqa: E402
from orders.states import PaymentEventKind  # noqa: E402

# sku, unit price, stock (None: unlimited), max per order (None: no limit)
CART_PRODUCTS = [
    ("BENCH-TEE", "19.90", 100_000, 10),
    ("BENCH-MUG", "9.50", 100_000, 10),
    ("BENCH-CAP", "24.00", 100_000, 10),
    ("BENCH-SOCKS", "12.00", 100_000, 10),
    ("BENCH-POSTER", "15.00", 100_000, 10),
]
# Added to again and again by the add-to-cart scenario: nothing may refuse the next add.
UNLIMITED_PRODUCT = ("BENCH-GIFT-CARD", "25.00", None, None)
# One per wrk connection (bench/run.py's default).
SHOPPERS_ADDING = 16


@dataclass(frozen=True)
class Shop:
    tenant_id: int
    auth_key: str
    storefront: StorefrontKeyInfo


@dataclass(frozen=True)
class AnonymousSession:
    anonymous_id: str
    token: str
    context: str


def shop_create() -> Shop:
    tenant = tenant_create(
        slug=f"bench-{secrets.token_hex(4)}", name="Benchmark shop", currency="EUR"
    )
    app = storefront_app_get_or_create(tenant=tenant, name="Benchmark storefront")
    auth_key = storefront_key_create(app=app).value
    storefront = storefront_key_resolve(auth_key)
    assert storefront is not None
    for sku, price, stock, maximum in [*CART_PRODUCTS, UNLIMITED_PRODUCT, *MIGRATION_PRODUCTS]:
        product_upsert(
            tenant_id=tenant.pk,
            sku=sku,
            name=f"Benchmark {sku.lower()}",
            unit_price=Decimal(price),
            stock=stock,
            max_quantity_per_order=maximum,
        )
    return Shop(tenant_id=tenant.pk, auth_key=auth_key, storefront=storefront)


def anonymous_session(shop: Shop) -> AnonymousSession:
    """A shopper's anonymous token and the customer context minted for it."""
    issued = anonymous_token_issue(storefront=shop.storefront, requested_id=None, proof_token=None)
    context = customer_context_issue(
        principal=bearer_principal(issued.access_token), raw_bearer=issued.access_token
    )
    return AnonymousSession(
        anonymous_id=issued.anonymous_id, token=issued.access_token, context=context
    )


def cart_fill(shop: Shop, session: AnonymousSession, skus: list[str]) -> None:
    owner = CartOwner(tenant_id=shop.tenant_id, anonymous_id=session.anonymous_id)
    for quantity, sku in enumerate(skus, start=1):
        cart_line_add(owner=owner, sku=sku, quantity=quantity)


def progress(message: str) -> None:
    """A line for the person waiting (stderr; stdout is the JSON)."""
    print(f"bench: seed: {message}", file=sys.stderr, flush=True)


def seed_storefront(shop: Shop) -> dict[str, object]:
    return {"auth_key": shop.auth_key, "tenant_id": str(shop.tenant_id)}


def seed_cart_five_lines(shop: Shop) -> dict[str, object]:
    session = anonymous_session(shop)
    cart_fill(shop, session, [sku for sku, *_ in CART_PRODUCTS])
    return {
        "cart_token": session.token,
        "cart_context": session.context,
        # The reference (bench/reference/) reads the same cart with a token of its own.
        "reference_cart_token": reference_tokens.issue(
            tenant_id=shop.tenant_id, subject=session.anonymous_id
        ),
    }


def seed_carts_to_add_to(shop: Shop) -> dict[str, object]:
    """Shoppers with a cart of five lines each, one of them the unlimited product that every
    add increments. Several carts, as in a shop with several shoppers at once: adds to one
    single cart would measure how its row lock queues them instead of the endpoint."""
    skus = [sku for sku, *_ in CART_PRODUCTS[:4]] + [UNLIMITED_PRODUCT[0]]
    shoppers = []
    for _ in range(SHOPPERS_ADDING):
        session = anonymous_session(shop)
        cart_fill(shop, session, skus)
        shoppers.append(
            {
                "add_token": session.token,
                "add_context": session.context,
                "reference_add_token": reference_tokens.issue(
                    tenant_id=shop.tenant_id, subject=session.anonymous_id
                ),
            }
        )
    return {"add_shoppers": shoppers, "add_sku": UNLIMITED_PRODUCT[0]}


# A shop's shoppers sign in at an RS256 identity provider (a static key, as a trusted system).
PROVIDER_ISSUER = "https://idp.bench.local/"
PROVIDER_AUDIENCE = "commerceapi-bench"
# Products for migrations of up to 50 lines (the five cart products come first).
MIGRATION_PRODUCTS = [(f"BENCH-ITEM-{n:02d}", "5.00", None, None) for n in range(50)]
# Migrations succeed once each: one anonymous cart and one customer per request, enough for
# the warm-up and the rounds at the throughput seen here (bench/run.py refuses to reuse one).
# Several servers compared in one run (bench/run.py) each get as many.
SERVERS_COMPARED = max(1, int(os.environ.get("BENCH_SEED_SERVERS", "1")))
# The lists of requests that succeed once that no selected scenario sends (BENCH_ONLY): not
# seeded, since they take most of the seeding time.
UNSENT = set(filter(None, os.environ.get("BENCH_SEED_UNSENT", "").split(",")))
MIGRATIONS_SEEDED = {5: 3600 * SERVERS_COMPARED, 50: 2400 * SERVERS_COMPARED}


@dataclass(frozen=True)
class Provider:
    private_key: rsa.RSAPrivateKey

    def token(self, subject: str) -> str:
        now = int(time.time())
        claims = {
            "iss": PROVIDER_ISSUER,
            "aud": PROVIDER_AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + 3600,
            "email": f"{subject}@bench.local",
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": "bench"})


def provider_create(shop: Shop) -> Provider:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    provider_save(
        provider=IdentityProvider(
            tenant_id=shop.tenant_id,
            name="bench-idp",
            issuer=PROVIDER_ISSUER,
            audiences=[PROVIDER_AUDIENCE],
            public_key_pem=public_pem.decode(),
            algorithms=["RS256"],
        )
    )
    return Provider(private_key)


@dataclass(frozen=True)
class CustomerSession:
    customer_id: str
    token: str
    context: str


def customer_session(shop: Shop, provider: Provider, subject: str) -> CustomerSession:
    """A customer signed in with a provider token (created on first sight) and its context."""
    token = provider.token(subject)
    principal = bearer_principal(token, tenant_id=shop.tenant_id)
    context = customer_context_issue(principal=principal, raw_bearer=token)
    return CustomerSession(customer_id=principal.subject_id, token=token, context=context)


def carts_bulk_create(shop: Shop, owners: list[dict[str, str]], skus: list[str]) -> None:
    """Open carts holding one of each of ``skus``, written in bulk (the seed is large)."""
    products = dict(
        Product.objects.filter(tenant_id=shop.tenant_id, sku__in=skus).values_list("sku", "pk")
    )
    app_id = shop.storefront.app_id
    carts = Cart.objects.bulk_create(
        [Cart(tenant_id=shop.tenant_id, storefront_app_id=app_id, **owner) for owner in owners]
    )
    if not all(cart.pk for cart in carts):  # bulk_create without returned keys (old SQLite)
        carts = list(Cart.objects.filter(public_id__in=[cart.public_id for cart in carts]))
    CartLine.objects.bulk_create(
        [
            CartLine(cart=cart, product_id=products[sku], quantity=2)
            for cart in carts
            for sku in skus
        ],
        batch_size=2000,
    )


def seed_customer_sessions(shop: Shop) -> dict[str, object]:
    """One customer with a five-line cart: context minting and the customer's cart read."""
    provider = provider_create(shop)
    session = customer_session(shop, provider, "bench-customer")
    cart_fill_owner(shop, CartOwner(tenant_id=shop.tenant_id, customer_id=session.customer_id))
    return {
        "provider": provider,
        "provider_audience": PROVIDER_AUDIENCE,
        "customer_token": session.token,
        "customer_context": session.context,
    }


def cart_fill_owner(shop: Shop, owner: CartOwner) -> None:
    for quantity, (sku, *_) in enumerate(CART_PRODUCTS, start=1):
        cart_line_add(owner=owner, sku=sku, quantity=quantity)


def seed_migrations(shop: Shop, provider: Provider) -> dict[str, object]:
    """Per migration: an anonymous cart of 5 or 50 lines and a customer with a 5-line cart."""
    customer_skus = [sku for sku, *_ in CART_PRODUCTS]
    values: dict[str, object] = {}
    for lines, count in MIGRATIONS_SEEDED.items():
        if f"migrations_{lines}" in UNSENT:
            continue
        migrations = []
        anonymous_owners, customer_owners = [], []
        anonymous_skus = [sku for sku, *_ in [*CART_PRODUCTS[:2], *MIGRATION_PRODUCTS]][:lines]
        progress(f"{count:,} migrations of {lines} lines")
        for index in range(count):
            if index and index % 500 == 0:
                progress(f"  {index:,} of {count:,}")
            anonymous = anonymous_token_issue(
                storefront=shop.storefront, requested_id=uuid.uuid4(), proof_token=None
            )
            customer = customer_session(shop, provider, f"bench-migrate-{lines}-{index}")
            anonymous_owners.append({"anonymous_id": anonymous.anonymous_id})
            customer_owners.append({"customer_id": customer.customer_id})
            body = json.dumps(
                {"anonymousId": anonymous.anonymous_id, "anonymousToken": anonymous.access_token}
            )
            migrations.append(
                {
                    "migrate_token": customer.token,
                    "migrate_context": customer.context,
                    "migrate_body": body,
                }
            )
        carts_bulk_create(shop, anonymous_owners, anonymous_skus)
        carts_bulk_create(shop, customer_owners, customer_skus)
        values[f"migrations_{lines}"] = migrations
    return values


# The token service (POST /oauth/token). Refresh tokens are rotated: each is good for one
# request (a second use revokes its sign-in), so every request gets a sign-in of its own, enough
# for the warm-up and the rounds at the throughput seen here (bench/run.py refuses to reuse one).
REFRESH_TOKENS_SEEDED = 15_000 * SERVERS_COMPARED
# Customers the pre-minted sign-ins are spread over.
REFRESH_CUSTOMERS = 4
HASHER_TIMINGS = 5


def _form(**fields: str) -> str:
    return urlencode(fields)


def seed_oauth(shop: Shop) -> dict[str, object]:
    """A sales channel (public client), an integration (confidential, HTTP Basic), a local
    account for the password grant, and pre-minted sign-ins for the refresh-token rotation."""
    tenant = Tenant.objects.get(pk=shop.tenant_id)
    app = StorefrontApp.objects.get(tenant=tenant, public_id=shop.storefront.app_id)
    channel = client_create(
        tenant=tenant, kind=OAuthClientKind.SALES_CHANNEL, storefront_app=app
    ).client
    integration = client_create(tenant=tenant, kind=OAuthClientKind.INTEGRATION)
    basic = f"{integration.client.client_id}:{integration.client_secret}"
    email, password = "bench-signin@bench.local", secrets.token_urlsafe(18)
    local_account_create(tenant=tenant, email=email, password=password, name="Bench shopper")
    customers = [
        local_account_create(
            tenant=tenant, email=f"bench-refresh-{index}@bench.local", password=password
        )
        for index in range(REFRESH_CUSTOMERS)
    ]
    scope = scope_format(CUSTOMER_SCOPES & frozenset(channel.scopes))
    refreshes = []
    refresh_count = 0 if "refreshes" in UNSENT else REFRESH_TOKENS_SEEDED
    # The sign-ins the password grant would make (grant_create is what it calls after the
    # password check), without running the hasher 15,000 times.
    progress(f"{refresh_count:,} sign-ins with a refresh token each")
    with transaction.atomic():
        for index in range(refresh_count):
            if index and index % 2500 == 0:
                progress(f"  {index:,} of {refresh_count:,}")
            issued = grant_create(
                client=channel, customer=customers[index % len(customers)], scope=scope
            )
            refresh_body = _form(
                grant_type="refresh_token",
                client_id=channel.client_id,
                refresh_token=issued.refresh_token,
            )
            refreshes.append({"refresh_body": refresh_body})
    return {
        "guest_body": _form(grant_type="client_credentials", client_id=channel.client_id),
        "integration_basic": "Basic " + base64.b64encode(basic.encode()).decode(),
        "integration_body": _form(grant_type="client_credentials"),
        "password_body": _form(
            grant_type="password", client_id=channel.client_id, username=email, password=password
        ),
        "refreshes": refreshes,
        "password_hasher": password_hasher_timing(),
    }


def password_hasher_timing() -> str:
    """The configured hasher (the server's: same settings) and its cost per call, in this
    process, before the load starts."""
    hasher = get_hasher()
    iterations = getattr(hasher, "iterations", None)
    password = secrets.token_urlsafe(18)
    makes, checks = [], []
    for _ in range(HASHER_TIMINGS):
        started = time.perf_counter()
        encoded = make_password(password)
        makes.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert check_password(password, encoded)
        checks.append(time.perf_counter() - started)
    check_ms = statistics.median(checks) * 1000
    return (
        f"{type(hasher).__module__}.{type(hasher).__name__}"
        + (f", {iterations:,} iterations" if iterations else "")
        + f": make_password {statistics.median(makes) * 1000:.0f} ms, check_password "
        f"{check_ms:.0f} ms (median of {HASHER_TIMINGS}, one process): at most "
        f"{1000 / check_ms:.1f} sign-ins/s per core"
    )


# Checkouts succeed once each (a cart is ordered once; a key answers its first answer again):
# one anonymous shopper with a cart of 5 lines and a key of its own per request, enough for the
# warm-up and the rounds at the throughput seen here (bench/run.py refuses to reuse one).
CHECKOUTS_SEEDED = 4500 * SERVERS_COMPARED


def seed_checkouts(shop: Shop) -> dict[str, object]:
    """Per checkout: a guest's token and context, its cart of the 5 cart products (2 each, in
    stock), and an Idempotency-Key."""
    checkouts: list[dict[str, str]] = []
    owners: list[dict[str, str]] = []
    if "checkouts" in UNSENT:
        return {"checkouts": checkouts}
    progress(f"{CHECKOUTS_SEEDED:,} guests with a cart to check out")
    for _ in range(CHECKOUTS_SEEDED):
        session = anonymous_session(shop)
        owners.append({"anonymous_id": session.anonymous_id})
        checkouts.append(
            {
                "checkout_token": session.token,
                "checkout_context": session.context,
                "checkout_key": str(uuid.uuid4()),
            }
        )
    carts_bulk_create(shop, owners, [sku for sku, *_ in CART_PRODUCTS])
    return {"checkouts": checkouts}


# Partner orders succeed once per key, like checkouts; the partner's token is minted once and
# outlives the run (its client's lifetime set to the longest allowed).
RESELLER_ORDERS_SEEDED = 4500
RESELLER_TOKEN_LIFETIME_SECONDS = 7200


def seed_reseller(shop: Shop) -> dict[str, object]:
    """A reseller partner: its credentials for Generate Token, its token, and per order of 5
    lines (1 of each cart product) an Idempotency-Key."""
    tenant = Tenant.objects.get(pk=shop.tenant_id)
    created = reseller_create(tenant=tenant, name="Bench partner")
    partner = created.client
    partner.access_token_lifetime_seconds = RESELLER_TOKEN_LIFETIME_SECONDS
    client_save(client=partner)
    issued = reseller_token_generate(
        authorization=None, client_id=partner.client_id, client_secret=created.client_secret
    )
    order = {
        "customer": {"email": "partner-customer@bench.local", "name": "Bench customer"},
        "lines": [{"sku": sku, "quantity": 1} for sku, *_ in CART_PRODUCTS],
    }
    return {
        "reseller_credentials": json.dumps(
            {"clientId": partner.client_id, "clientSecret": created.client_secret}
        ),
        "reseller_token": issued.access_token,
        "reseller_order_body": json.dumps(order),
        "reseller_orders": [
            {"reseller_key": str(uuid.uuid4())} for _ in range(RESELLER_ORDERS_SEEDED)
        ],
    }


# The Supplier API's list: a supplier with this many products, a page of 50.
SUPPLIER_PRODUCTS = 100
# Payment events: captures of 0.01 under an authorization of the whole total, so that each is a
# new event that moves nothing (an order is paid only when its captures reach its total, far
# beyond the run). Spread over many orders, taken in turn, as a provider's events are: an
# order's answer lists its events, and a real order has a handful.
PAYMENT_ORDERS = 400
PAYMENT_EVENTS_PER_ORDER = 20


def seed_supplier(shop: Shop) -> dict[str, object]:
    """A supplier of the shop with its products, and a key of the Supplier API."""
    tenant = Tenant.objects.get(pk=shop.tenant_id)
    supplier = supplier_create(tenant=tenant, code="bench-farm", name="Benchmark farm")
    Product.objects.bulk_create(
        [
            Product(
                tenant_id=shop.tenant_id,
                supplier=supplier,
                sku=f"BENCH-FARM-{index:04d}",
                name=f"Benchmark farm product {index}",
                unit_price=Decimal("3.50"),
                stock=1000,
            )
            for index in range(SUPPLIER_PRODUCTS)
        ]
    )
    created = api_key_create(tenant=tenant, surface="supplier", supplier=supplier)
    return {"supplier_key": created.value}


def seed_payment_events(shop: Shop) -> dict[str, object]:
    """Orders of guests, each authorized in full, and per request a capture of 0.01 with a
    pspReference and an Idempotency-Key of its own."""
    tenant = Tenant.objects.get(pk=shop.tenant_id)
    owners = [{"anonymous_id": str(uuid.uuid4())} for _ in range(PAYMENT_ORDERS)]
    carts_bulk_create(shop, owners, [sku for sku, *_ in CART_PRODUCTS])
    numbers = []
    for owner in owners:
        placed = order_place_from_cart(
            tenant_id=shop.tenant_id, anonymous_id=owner["anonymous_id"], email="pay@bench.local"
        )
        payment_event_apply(
            tenant_id=shop.tenant_id,
            order_number=placed.order.number,
            kind=PaymentEventKind.AUTHORIZED,
            amount=placed.order.total,
            currency=placed.order.currency,
            psp_reference=f"auth-{placed.order.number}",
            occurred_at=timezone.now(),
            actor="bench",
        )
        numbers.append(placed.order.number)
    created = api_key_create(tenant=tenant, surface="payment", provider="bench-pay")
    events = [
        {
            "payment_order": number,
            "payment_psp": f"cap-{number}-{index}",
            "payment_key": str(uuid.uuid4()),
        }
        for index in range(PAYMENT_EVENTS_PER_ORDER)
        for number in numbers
    ]
    return {"payment_api_key": created.value, "payment_events": events}


SEEDERS: list[Callable[[Shop], dict[str, object]]] = [
    seed_storefront,
    seed_cart_five_lines,
    seed_carts_to_add_to,
    seed_oauth,
    seed_checkouts,
    seed_reseller,
    seed_supplier,
    seed_payment_events,
]


def main() -> None:
    shop = shop_create()
    values: dict[str, object] = {}
    for seeder in SEEDERS:
        progress(seeder.__name__.removeprefix("seed_").replace("_", " "))
        values.update(seeder(shop))
    progress("customer sessions")
    customers = seed_customer_sessions(shop)
    provider = customers.pop("provider")
    assert isinstance(provider, Provider)
    values.update(customers)
    values.update(seed_migrations(shop, provider))
    progress("planner statistics")
    planner_statistics_refresh()
    progress("checkpoint")
    dirty_pages_flush()
    json.dump(values, sys.stdout)


def planner_statistics_refresh() -> None:
    """PostgreSQL plans from table statistics; rows seeded in bulk a moment ago are in none yet
    (autovacuum analyses later, or never where it is off), and a plan guessed from the tables'
    size on disk can be a parallel scan that costs milliseconds where an index scan costs
    microseconds. Production tables are analysed by autovacuum; so are these, now."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def dirty_pages_flush() -> None:
    """Write what the seed dirtied before the load starts: else the next checkpoint writes and
    syncs it in the middle of the rounds, and every commit waits behind those fsyncs (the write
    scenarios' p99). Needs a superuser or pg_checkpoint; without, the report's checkpoint count
    shows it."""
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:
        progress("CHECKPOINT refused (needs a superuser or pg_checkpoint): skipped")


if __name__ == "__main__":
    main()
