"""Idempotency keys: a request that a client may retry takes effect once, and every retry gets
the first answer. One helper for every endpoint that needs it (checkout; stock updates, payment
events and partner orders take it too).

An endpoint reads the key with ``idempotency_key_read`` and runs its work through
``idempotent_perform``, which returns the answer to send: the work's own, or the stored one.

- **The key** (header ``Idempotency-Key``) is required: 1-255 printable ASCII characters (space
  to tilde, not only spaces), chosen by the client, the same on every retry of one request.
- **Scope.** Records are kept per (tenant, caller, key): another caller's equal key is another
  request. The request itself is a SHA-256 of the operation (e.g. ``orders.checkout``) and the
  canonical JSON of the body; the same key with another request is a 422 (1052), nothing done.
- **Races are decided by the database.** The record is inserted first, inside the transaction
  of the work, under a unique constraint. A second request with the key blocks on that insert
  until the first one's transaction ends (PostgreSQL waits for the transaction holding the
  conflicting row; SQLite runs one writer at a time). If the first committed, the second answers
  its stored answer; if it rolled back, the second goes on as if it were the first. The wait is
  bounded by ``IDEMPOTENCY_WAIT_SECONDS`` (PostgreSQL's ``lock_timeout`` for the transaction);
  past it the second gets 409 ``idempotency_request_in_progress`` (1053) and may retry.
- **Only successes are stored.** A refusal (4xx) changes nothing, so there is nothing to do only
  once: a retry with the same key is judged again against the state of then (once the shopper
  has fixed the cart it can succeed). A failure of ours or an outage (5xx) rolls the record back
  with the work. So a stored answer is always a 2xx, and the work it answers for was done.
- **Replays** carry the first answer's status, body and headers, plus ``Idempotent-Replayed:
  true``.
- **Retention**: ``IDEMPOTENCY_KEY_RETENTION_SECONDS`` (default and minimum 24 hours); then
  ``manage.py idempotency_purge`` deletes the records.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone

from core import errors
from core.errors import DomainError
from core.models import IdempotencyRecord

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Printable ASCII with at least one character other than a space (servers strip the spaces
# around a header's value, so a key of spaces only arrives empty).
KEY_PATTERN = r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$"
_KEY = re.compile(KEY_PATTERN)
# PostgreSQL's SQLSTATE for a lock wait that outlasted lock_timeout.
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class IdempotentAnswer:
    """An answer as sent: status, the body's exact text, and the headers worth replaying."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


def idempotency_key_read(raw_key: str | None) -> str:
    """The request's key; 400 when it is missing (1050) or not 1-255 printable ASCII (1051)."""
    if not raw_key:
        raise DomainError.for_field(
            errors.IDEMPOTENCY_KEY_MISSING, KEY_HEADER, "An Idempotency-Key header is required."
        )
    if len(raw_key) > MAX_KEY_LENGTH or not _KEY.fullmatch(raw_key):
        raise DomainError.for_field(
            errors.IDEMPOTENCY_KEY_INVALID,
            KEY_HEADER,
            f"Use 1-{MAX_KEY_LENGTH} printable ASCII characters.",
        )
    return raw_key


def request_hash(*, operation: str, payload: Any) -> str:
    """SHA-256 of the operation and the body's canonical JSON (key order and spacing do not
    matter; values do)."""
    canonical = json.dumps(
        [operation, payload], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent_perform(
    *,
    tenant_id: int,
    caller: str,
    key: str,
    operation: str,
    payload: Any,
    perform: Callable[[], IdempotentAnswer],
) -> IdempotentAnswer:
    """Run ``perform`` once per (tenant, caller, key), or answer what its first run answered.

    ``perform`` does the work (its services' transactions nest in this one) and returns its
    2xx answer; a refusal raises ``DomainError`` and leaves nothing stored (see module doc).
    """
    fingerprint = request_hash(operation=operation, payload=payload)
    with transaction.atomic():
        _bound_lock_waits()
        now = timezone.now()
        record = IdempotencyRecord(
            tenant_id=tenant_id,
            caller=caller,
            key=key,
            operation=operation,
            request_hash=fingerprint,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.IDEMPOTENCY_KEY_RETENTION_SECONDS),
        )
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            return _stored_answer(
                tenant_id=tenant_id, caller=caller, key=key, fingerprint=fingerprint
            )
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise DomainError(errors.IDEMPOTENCY_REQUEST_IN_PROGRESS) from None
            raise
        answer = perform()
        if not 200 <= answer.status < 300:
            raise ValueError("idempotent work answers a 2xx or raises DomainError")
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            response_status=answer.status,
            response_body=answer.body,
            response_headers=answer.headers,
        )
    return answer


def idempotent_response(answer: IdempotentAnswer) -> HttpResponse:
    """The answer as sent the first time, byte for byte; a replay says so."""
    response = HttpResponse(answer.body, status=answer.status, headers=answer.headers)
    if answer.replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def _bound_lock_waits() -> None:
    """Until the transaction ends, no lock wait (the key's row above all) lasts longer than
    IDEMPOTENCY_WAIT_SECONDS. SQLite has no lock waits of its own: its busy timeout applies."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true)",
            [f"{settings.IDEMPOTENCY_WAIT_SECONDS * 1000}"],
        )


def _stored_answer(*, tenant_id: int, caller: str, key: str, fingerprint: str) -> IdempotentAnswer:
    stored = (
        IdempotencyRecord.objects.filter(tenant_id=tenant_id, caller=caller, key=key)
        .values_list("request_hash", "response_status", "response_body", "response_headers")
        .first()
    )
    if stored is None:  # purged in between: the caller retries and becomes the first
        raise DomainError(errors.IDEMPOTENCY_REQUEST_IN_PROGRESS)
    stored_hash, status, body, headers = stored
    if stored_hash != fingerprint:
        raise DomainError(errors.IDEMPOTENCY_KEY_REUSED)
    return IdempotentAnswer(status=status, body=body, headers=dict(headers), replayed=True)


def idempotency_records_purge(*, now: datetime | None = None) -> int:
    """Delete the records past their expiry, never one younger than 24 hours; how many."""
    moment = now or timezone.now()
    expired = IdempotencyRecord.objects.filter(
        expires_at__lt=moment, created_at__lt=moment - timedelta(hours=24)
    )
    deleted, _ = expired.delete()
    return deleted
