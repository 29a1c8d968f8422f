from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.models import OAuthClient
from identity.oauth.clients import DEFAULT_SECRET_OVERLAP, client_secret_rotate


class Command(BaseCommand):
    help = (
        "Give a confidential OAuth client a new secret (printed once as client_secret=...); "
        "its current secrets stay valid for the overlap window."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True)
        parser.add_argument(
            "--overlap-seconds",
            type=int,
            default=int(DEFAULT_SECRET_OVERLAP.total_seconds()),
            help="How long the current secrets stay valid (default %(default)s; 0: not at all).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = OAuthClient.objects.filter(client_id=options["client_id"]).first()
        if client is None:
            raise CommandError(f"no client {options['client_id']!r}")
        try:
            secret = client_secret_rotate(
                client=client, overlap=timedelta(seconds=options["overlap_seconds"])
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"client_id={client.client_id}")
        self.stdout.write(f"client_secret={secret}")
