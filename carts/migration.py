"""Cart migration: the anonymous cart joins the customer's cart when the shopper signs in.

Exactly once per (tenant, anonymous id): the ``CartMigration`` row is inserted first, and its
unique constraint decides every race; a repeat by the same customer gets the recorded report
back, another customer a 409. Then both carts are locked in primary-key order and merged by the
storefront's policy in a constant number of queries, whatever the number of lines:

- no anonymous cart, or an empty one: nothing to merge (only the record is written);
- the customer has no open cart: the anonymous cart becomes theirs (same cart id);
- else lines are merged by policy (``max``, ``sum``, ``anonymous_wins``, ``customer_wins``),
  quantities clamped to stock and the per-order maximum, inactive products dropped. The anonymous
  cart is kept for audit, marked merged into the customer's, with the time.

Prices are always the current ones; a line whose price changed since the shopper last touched it
says so in the report.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.module_loading import import_string

from carts import errors
from carts.models import Cart, CartLine, CartMigration, CartStatus
from carts.owners import CartOwner
from carts.services import anonymous_id_lock, cart_qs_select_for_update, quantity_maximum
from catalog.models import Product
from core.errors import DomainError
from core.policies import CartMergePolicy

logger = logging.getLogger("carts.migration")


class Outcome(StrEnum):
    MOVED = "moved"
    MERGED = "merged"
    CLAMPED = "clamped"
    DROPPED = "dropped"


class Reason(StrEnum):
    OUT_OF_STOCK = "out_of_stock"
    OVER_MAXIMUM = "over_maximum"
    PRODUCT_INACTIVE = "product_inactive"
    PRICE_CHANGED = "price_changed"
    ALREADY_IN_CUSTOMER_CART = "already_in_customer_cart"
    REPLACED_BY_ANONYMOUS_CART = "replaced_by_anonymous_cart"
    TOO_MANY_LINES = "too_many_lines"


@dataclass(frozen=True)
class MigrationResult:
    anonymous_id: str
    customer_id: str
    policy: str
    lines: list[dict[str, Any]]
    source_cart_id: str | None
    target_cart_id: str | None
    migrated_at: datetime
    repeated: bool

    def outcome_counts(self) -> dict[str, int]:
        counts = {outcome.value: 0 for outcome in Outcome}
        for line in self.lines:
            counts[line["outcome"]] += 1
        return counts


def _result(record: CartMigration, *, repeated: bool) -> MigrationResult:
    return MigrationResult(
        anonymous_id=str(record.anonymous_id),
        customer_id=str(record.customer_id),
        policy=record.policy,
        lines=list(record.report),
        source_cart_id=str(record.source_cart.public_id) if record.source_cart else None,
        target_cart_id=str(record.target_cart.public_id) if record.target_cart else None,
        migrated_at=record.created_at,
        repeated=repeated,
    )


def _line_limit(product: Product) -> tuple[int, Reason]:
    """The most a line of ``product`` may hold, and what binds it."""
    cap = quantity_maximum(product)
    if product.stock is not None and product.stock < cap:
        return product.stock, Reason.OUT_OF_STOCK
    return cap, Reason.OVER_MAXIMUM


@dataclass
class _Plan:
    report: list[dict[str, Any]]
    creates: list[CartLine]
    updates: list[CartLine]
    deletes: list[int]


def _merge_plan(
    *,
    policy: CartMergePolicy,
    target: Cart,
    anonymous_lines: list[CartLine],
    customer_lines: list[CartLine],
    adopting: bool,
) -> _Plan:
    """What to write, and the report, without writing anything.

    ``adopting``: the anonymous cart itself becomes the customer's (its lines are the target's).
    """
    plan = _Plan(report=[], creates=[], updates=[], deletes=[])
    customer_by_product = {line.product_id: line for line in customer_lines}
    anonymous_products = {line.product_id for line in anonymous_lines}
    # The lines the target keeps before new ones are added: under anonymous_wins only the
    # customer's lines of SKUs the anonymous cart holds too.
    line_count = len(customer_lines)
    if policy is CartMergePolicy.ANONYMOUS_WINS and not adopting:
        line_count = len(anonymous_products & customer_by_product.keys())
    for line in anonymous_lines:
        product = line.product
        # Read before planning: when adopting, ``existing`` is this very line and is updated.
        anonymous_quantity = line.quantity
        existing = line if adopting else customer_by_product.get(product.pk)
        customer_quantity = 0 if adopting or existing is None else existing.quantity
        reasons: list[Reason] = []
        if line.unit_price_seen is not None and line.unit_price_seen != product.unit_price:
            reasons.append(Reason.PRICE_CHANGED)
        if not product.is_active or (policy is CartMergePolicy.CUSTOMER_WINS and customer_quantity):
            # The anonymous line is dropped; a line the customer had stays as it was.
            reasons.insert(
                0,
                Reason.PRODUCT_INACTIVE
                if not product.is_active
                else Reason.ALREADY_IN_CUSTOMER_CART,
            )
            if adopting:
                plan.deletes.append(line.pk)
            plan.report.append(
                _report_line(
                    line,
                    Outcome.DROPPED,
                    anonymous_quantity,
                    customer_quantity,
                    customer_quantity,
                    reasons,
                )
            )
            continue
        if existing is None or adopting:
            outcome, quantity = Outcome.MOVED, anonymous_quantity
        else:
            outcome = Outcome.MERGED
            quantity = {
                CartMergePolicy.MAX: max(customer_quantity, anonymous_quantity),
                CartMergePolicy.SUM: customer_quantity + anonymous_quantity,
                CartMergePolicy.ANONYMOUS_WINS: anonymous_quantity,
            }[policy]
        if quantity:
            limit, binding = _line_limit(product)
            if quantity > limit:
                quantity = limit
                outcome = Outcome.CLAMPED if limit else Outcome.DROPPED
                reasons.insert(0, binding)
        if existing is None and quantity:
            if line_count >= settings.CART_MAX_LINES:
                outcome, quantity = Outcome.DROPPED, 0
                reasons.insert(0, Reason.TOO_MANY_LINES)
            else:
                line_count += 1
                plan.creates.append(
                    CartLine(
                        cart=target,
                        product=product,
                        quantity=quantity,
                        unit_price_seen=product.unit_price,
                    )
                )
        elif existing is not None and quantity == 0:
            plan.deletes.append(existing.pk)
        elif existing is not None and quantity != existing.quantity:
            existing.quantity = quantity
            plan.updates.append(existing)
        plan.report.append(
            _report_line(line, outcome, anonymous_quantity, customer_quantity, quantity, reasons)
        )
    if policy is CartMergePolicy.ANONYMOUS_WINS and not adopting:
        for line in customer_lines:
            if line.product_id not in anonymous_products:
                plan.deletes.append(line.pk)
                plan.report.append(
                    {
                        "sku": line.product.sku,
                        "outcome": Outcome.DROPPED.value,
                        "anonymousQuantity": 0,
                        "customerQuantity": line.quantity,
                        "quantity": 0,
                        "reasons": [Reason.REPLACED_BY_ANONYMOUS_CART.value],
                    }
                )
    return plan


def _report_line(
    line: CartLine,
    outcome: Outcome,
    anonymous_quantity: int,
    customer_quantity: int,
    quantity: int,
    reasons: list[Reason],
) -> dict[str, Any]:
    return {
        "sku": line.product.sku,
        "outcome": outcome.value,
        "anonymousQuantity": anonymous_quantity,
        "customerQuantity": customer_quantity,
        "quantity": quantity,
        "reasons": [reason.value for reason in reasons],
    }


def _apply(plan: _Plan, *, now: datetime) -> None:
    if plan.deletes:
        CartLine.objects.filter(pk__in=plan.deletes).delete()
    if plan.updates:
        for line in plan.updates:
            line.updated_at = now
        CartLine.objects.bulk_update(plan.updates, ["quantity", "updated_at"])
    if plan.creates:
        CartLine.objects.bulk_create(plan.creates)


def _lines_of(carts: list[Cart]) -> list[CartLine]:
    return list(
        CartLine.objects.filter(cart__in=[cart.pk for cart in carts])
        .select_related("product")
        .order_by("pk")
    )


def cart_migrate(
    *,
    tenant_id: int,
    anonymous_id: str,
    customer_id: str,
    policy: str,
    on_migrated: Callable[[], None] | None = None,
) -> MigrationResult:
    """Migrate the anonymous id's cart into the customer's, exactly once (see module doc).

    ``on_migrated`` runs inside the transaction after a first migration (it retires the
    anonymous id), so that both happen or neither.
    """
    try:
        merge_policy = CartMergePolicy(policy)
    except ValueError:
        raise DomainError(errors.MERGE_POLICY_UNKNOWN) from None
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = CartMigration.objects.create(
                    tenant_id=tenant_id,
                    anonymous_id=anonymous_id,
                    customer_id=customer_id,
                    policy=merge_policy.value,
                )
        except IntegrityError:
            existing = CartMigration.objects.select_related("source_cart", "target_cart").get(
                tenant_id=tenant_id, anonymous_id=anonymous_id
            )
            if str(existing.customer_id) != customer_id:
                raise DomainError(errors.MIGRATION_CONFLICT) from None
            return _result(existing, repeated=True)
        result = _migrate_locked(record, merge_policy)
        if on_migrated is not None:
            on_migrated()
    transaction.on_commit(lambda: cart_migrated_emit(result, tenant_id=tenant_id))
    return result


def _open_carts_select_for_update() -> QuerySet[Cart]:
    """Open carts, locked. The status is written into the SQL, not passed, as the cart read
    does (carts.selectors): only then can a prepared statement's generic plan use the partial
    unique indexes on open carts instead of scanning the tenant's carts."""
    quote = connection.ops.quote_name
    is_open = f"{quote(Cart._meta.db_table)}.{quote('status')} = '{CartStatus.OPEN.value}'"
    # No input in the SQL: the table, the column and the status come from the model.
    return cart_qs_select_for_update().filter(
        RawSQL(is_open, (), output_field=BooleanField())  # noqa: S611
    )


def _migrate_locked(record: CartMigration, policy: CartMergePolicy) -> MigrationResult:
    anonymous_owner = CartOwner(tenant_id=record.tenant_id, anonymous_id=str(record.anonymous_id))
    customer_owner = CartOwner(tenant_id=record.tenant_id, customer_id=str(record.customer_id))
    # A first add creating the anonymous cart right now either commits before the carts are
    # read below (and is merged) or waits and then finds the id migrated (and is refused).
    anonymous_id_lock(tenant_id=record.tenant_id, anonymous_id=str(record.anonymous_id))
    carts = list(
        _open_carts_select_for_update().filter(
            anonymous_owner.carts_filter() | customer_owner.carts_filter()
        )
    )
    source = next((cart for cart in carts if cart.customer_id is None), None)
    target = next((cart for cart in carts if cart.customer_id is not None), None)
    lines = _lines_of(carts)
    anonymous_lines = [line for line in lines if source and line.cart_id == source.pk]
    now = timezone.now()
    if source is None or not anonymous_lines:
        record.target_cart = target
        record.save(update_fields=["target_cart"])
        return _result(record, repeated=False)
    adopting = False
    if target is None:
        try:
            with transaction.atomic():
                Cart.objects.filter(pk=source.pk).update(
                    customer_id=record.customer_id, updated_at=now
                )
            target, adopting = source, True
        except IntegrityError:
            # The customer's first cart was created meanwhile: merge into it instead.
            target = _open_carts_select_for_update().filter(customer_owner.carts_filter()).get()
            lines = _lines_of([source, target])
            anonymous_lines = [line for line in lines if line.cart_id == source.pk]
    customer_lines = [line for line in lines if line.cart_id == target.pk and not adopting]
    plan = _merge_plan(
        policy=policy,
        target=target,
        anonymous_lines=anonymous_lines,
        customer_lines=customer_lines,
        adopting=adopting,
    )
    _apply(plan, now=now)
    if not adopting:
        Cart.objects.filter(pk=source.pk).update(
            status=CartStatus.MERGED, merged_into=target, merged_at=now, updated_at=now
        )
        Cart.objects.filter(pk=target.pk).update(updated_at=now)
    record.source_cart, record.target_cart, record.report = source, target, plan.report
    record.save(update_fields=["source_cart", "target_cart", "report"])
    return _result(record, repeated=False)


def cart_migrated_emit(result: MigrationResult, *, tenant_id: int) -> None:
    """After commit: the ``cart.migrated`` log line, then each handler named in
    ``settings.CART_EVENT_HANDLERS`` (dotted paths of ``handler(event, payload)``)."""
    payload = {
        "tenant": tenant_id,
        "customer": result.customer_id,
        "anonymous_id": result.anonymous_id,
        "target_cart": result.target_cart_id,
        "source_cart": result.source_cart_id,
        "policy": result.policy,
        "outcomes": result.outcome_counts(),
    }
    logger.info(
        "cart.migrated %s",
        json.dumps(payload, sort_keys=True),
        extra={"event": "cart.migrated", **payload},
    )
    for path in settings.CART_EVENT_HANDLERS:
        try:
            import_string(path)("cart.migrated", payload)
        except Exception:  # a failing subscriber never fails the shopper's request
            logger.exception("cart event handler %s failed", path)
