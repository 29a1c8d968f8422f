from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.credentials.keyring import SUPPORTED_ALGORITHMS, signing_key_rotate
from identity.models import SigningKeyPurpose


class Command(BaseCommand):
    help = (
        "Make a new signing key active. Tokens signed by the previous key stay valid until "
        "they expire; no restart is needed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--purpose",
            choices=[*SigningKeyPurpose.values, "all"],
            default="all",
            help="Which keyring to rotate (default: all).",
        )
        parser.add_argument(
            "--algorithm",
            choices=SUPPORTED_ALGORITHMS,
            default=None,
            help="Algorithm of the new access key (default: TOKEN_SIGNING_ALGORITHM); anonymous "
            "and context keys are always HS256.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        purposes = SigningKeyPurpose.values if options["purpose"] == "all" else [options["purpose"]]
        for purpose in purposes:
            algorithm = options["algorithm"]
            if options["purpose"] == "all" and purpose != SigningKeyPurpose.ACCESS:
                algorithm = None
            try:
                key = signing_key_rotate(purpose=purpose, algorithm=algorithm)
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{purpose}: new active key {key.kid} ({key.algorithm})")
