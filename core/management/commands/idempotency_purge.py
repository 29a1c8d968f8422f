"""Delete idempotency records past their retention (at least 24 hours); run it daily."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from core.idempotency import idempotency_records_purge


class Command(BaseCommand):
    help = (
        "Delete the idempotency records older than IDEMPOTENCY_KEY_RETENTION_SECONDS "
        "(never one younger than 24 hours)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = idempotency_records_purge()
        retention_hours = settings.IDEMPOTENCY_KEY_RETENTION_SECONDS / 3600
        self.stdout.write(
            f"Purged {deleted} idempotency record(s) past their retention ({retention_hours:g} h)."
        )
