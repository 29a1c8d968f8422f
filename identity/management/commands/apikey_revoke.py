from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from identity.tenancy.api_keys import api_key_get, api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key: refused at once by every API process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            api_key = api_key_get(key_id=options["key_id"])
        except DomainError as error:
            raise CommandError(str(error)) from None
        revoked = api_key_revoke(api_key=api_key)
        self.stdout.write(f"key_id={api_key.lookup_id}")
        self.stdout.write("revoked" if revoked else "already revoked")
