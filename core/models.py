"""Models of the shared kernel: abstract bases every app's models build on, and the records of
idempotency keys. They name the apps' rows only by plain ids: the kernel depends on no app."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone


def decimal_field_max(*fields: models.Field) -> Decimal:
    """The largest value every one of these decimal columns holds (9999999999.99 for 12
    digits, 2 after the point)."""
    return min(
        Decimal(10) ** (field.max_digits - field.decimal_places)  # type: ignore[attr-defined]
        - Decimal(1).scaleb(-field.decimal_places)  # type: ignore[attr-defined]
        for field in fields
    )


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """The first successful answer to a request sent with an ``Idempotency-Key``.

    One row per (tenant, caller, key), enforced by the database: of several requests racing
    with one key, the first to insert its row goes on and the others wait for its transaction
    to end (see ``core.idempotency``). A row is written in the same transaction as the work it
    records, so it exists exactly when that work was done, and it always holds a complete
    answer. Rows are kept until ``expires_at`` (at least 24 hours), then purged
    (``manage.py idempotency_purge``).
    """

    tenant_id = models.BigIntegerField()
    # Who sent it, e.g. "customer:<uuid>", "anonymous:<uuid>", "api_key:<id>".
    caller = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    # The endpoint's operation, e.g. "orders.checkout"; part of the request hash too.
    operation = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of operation and body.")
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = models.TextField(blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "caller", "key"], name="one_idempotency_record_per_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.caller} {self.key}"
