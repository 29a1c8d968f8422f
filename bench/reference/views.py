"""A minimal hand-written Django app doing the work of the API's hot endpoints and nothing
else: what ``make bench`` measures the API against (bench/README.md).

- healthz: a plain view.
- POST /token: issue one HS256 token (the anonymous token).
- GET /cart: verify one HS256 token, then one SQL statement reads the open cart with its lines.
- GET /context: verify one RS256 token (the identity provider's), issue one HS256 token.
- POST /cart/lines: verify one HS256 token, one guarded UPDATE adds to a line, then the read.

No authentication classes, serializers, content negotiation, throttles, revocation checks or
error documents: a request that is not what the bench sends gets a bare 400.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from bench.reference import tokens
from carts.models import Cart, CartLine
from catalog.models import Product
from core.tenants import tenant_table
from identity.models import IdentityProvider

CART_READ = f"""
    SELECT c.public_id, c.updated_at, t.currency, p.sku, p.name, l.quantity, p.unit_price
    FROM {Cart._meta.db_table} c
    JOIN {tenant_table()} t ON t.id = c.tenant_id
    LEFT JOIN {CartLine._meta.db_table} l ON l.cart_id = c.id
    LEFT JOIN {Product._meta.db_table} p ON p.id = l.product_id
    WHERE c.tenant_id = %s AND c.status = 'open' AND c.anonymous_id = %s
        AND c.customer_id IS NULL
    ORDER BY l.id
"""  # noqa: S608 - table names from the models

LINE_ADD = f"""
    UPDATE {CartLine._meta.db_table} SET quantity = quantity + %s, updated_at = %s
    WHERE cart_id = (
            SELECT id FROM {Cart._meta.db_table}
            WHERE tenant_id = %s AND status = 'open' AND anonymous_id = %s
                AND customer_id IS NULL)
        AND product_id = (
            SELECT id FROM {Product._meta.db_table} WHERE tenant_id = %s AND sku = %s)
        AND quantity + %s <= %s
"""  # noqa: S608 - table names from the models
LINE_LIMIT = 1_000_000_000


_ANONYMOUS_ID = Cart._meta.get_field("anonymous_id")


def _anonymous_id(value: str) -> Any:
    return _ANONYMOUS_ID.get_db_prep_value(uuid.UUID(value), connection)


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def _bearer(request: HttpRequest) -> dict[str, Any] | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        return tokens.verify(header[7:])
    except jwt.InvalidTokenError:
        return None


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    tenant_id = int(request.headers.get("X-Tenant", "0"))
    anonymous_id = str(uuid.uuid4())
    raw = tokens.issue(tenant_id=tenant_id, subject=anonymous_id)
    return JsonResponse({"accessToken": raw, "anonymousId": anonymous_id}, status=201)


def _cart_answer(tenant_id: int, anonymous_id: str) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(CART_READ, [tenant_id, _anonymous_id(anonymous_id)])
        rows = cursor.fetchall()
    if not rows:
        return JsonResponse({"id": None, "lines": []})
    lines = [
        {
            "sku": sku,
            "name": name,
            "quantity": quantity,
            "unitPrice": str(price),
            "lineTotal": str(Decimal(price) * quantity),
        }
        for _, _, _, sku, name, quantity, price in rows
        if sku is not None
    ]
    return JsonResponse(
        {
            "id": str(rows[0][0]),
            "currency": rows[0][2],
            "lines": lines,
            "updatedAt": rows[0][1].isoformat(),
        }
    )


def cart(request: HttpRequest) -> HttpResponse:
    claims = _bearer(request)
    if claims is None:
        return HttpResponse(status=401)
    return _cart_answer(claims["tid"], claims["sub"])


@csrf_exempt
def add(request: HttpRequest) -> HttpResponse:
    claims = _bearer(request)
    if claims is None:
        return HttpResponse(status=401)
    body = json.loads(request.body)
    quantity = int(body["quantity"])
    with connection.cursor() as cursor:
        cursor.execute(
            LINE_ADD,
            [
                quantity,
                timezone.now(),
                claims["tid"],
                _anonymous_id(claims["sub"]),
                claims["tid"],
                body["sku"],
                quantity,
                LINE_LIMIT,
            ],
        )
        if cursor.rowcount != 1:
            return HttpResponse(status=409)
    return _cart_answer(claims["tid"], claims["sub"])


@cache
def _provider_key(tenant_id: int, issuer: str) -> Any:
    pem = IdentityProvider.objects.filter(tenant_id=tenant_id, issuer=issuer).values_list(
        "public_key_pem", flat=True
    )
    return load_pem_public_key(pem[0].encode())


def context(request: HttpRequest) -> HttpResponse:
    header = request.headers.get("Authorization", "")
    tenant_id = int(request.headers.get("X-Tenant", "0"))
    try:
        issuer = jwt.decode(header[7:], options={"verify_signature": False})["iss"]
        claims = jwt.decode(
            header[7:],
            _provider_key(tenant_id, issuer),
            algorithms=["RS256"],
            audience=request.headers["X-Audience"],
            issuer=issuer,
        )
    except (jwt.InvalidTokenError, KeyError, IndexError):
        return HttpResponse(status=401)
    raw = tokens.issue(tenant_id=tenant_id, subject=claims["sub"])
    return JsonResponse({"customerContext": raw})
