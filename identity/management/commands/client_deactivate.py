from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.models import OAuthClient
from identity.oauth.clients import client_save


class Command(BaseCommand):
    help = (
        "Deactivate an OAuth client (or with --activate, reactivate it): it can no longer "
        "authenticate and the tokens it obtained are refused, by every API process sharing "
        "the cache, at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--activate", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        client = OAuthClient.objects.filter(client_id=options["client_id"]).first()
        if client is None:
            raise CommandError(f"no client {options['client_id']!r}")
        client.is_active = options["activate"]
        try:
            client_save(client=client)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"{client.client_id}: {'active' if client.is_active else 'inactive'}")
