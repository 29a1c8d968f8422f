from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from identity.tenancy.api_keys import DEFAULT_ROLL_OVERLAP_SECONDS, api_key_get, api_key_roll


class Command(BaseCommand):
    help = (
        "Roll an API key: a new key for the same party and scopes (key_id=<id>, then the key "
        "alone on the last line); the old one keeps working until --old-key-expires-in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id", help="The id of the key to roll (key_id=… of its creation).")
        parser.add_argument(
            "--old-key-expires-in",
            type=int,
            default=DEFAULT_ROLL_OVERLAP_SECONDS,
            help="Seconds the old key keeps working (default %(default)s; 0: it stops now).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            old = api_key_get(key_id=options["key_id"])
            created = api_key_roll(
                api_key=old, old_key_expires_in_seconds=options["old_key_expires_in"]
            )
        except DomainError as error:
            raise CommandError(str(error)) from None
        expires = old.expires_at.isoformat() if old.expires_at else "never"
        self.stdout.write(f"key_id={created.api_key.lookup_id}")
        self.stdout.write(
            f"rolled from {old.lookup_id}, which works until {expires} "
            "(store the new key now; it is not shown again):"
        )
        self.stdout.write(created.value)
