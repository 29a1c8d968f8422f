from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.credentials.secrets import secret_prefix
from identity.models import StorefrontKey
from identity.tenancy.storefront import STOREFRONT_KEY_KIND, storefront_key_revoke


class Command(BaseCommand):
    help = (
        "Revoke an X-Auth-Key, named by its prefix (as the admin lists it) or read whole from "
        "standard input. Every API process sharing the cache refuses it at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--prefix", help="The key's lookup prefix (12 hex digits).")
        which.add_argument(
            "--key-stdin",
            action="store_true",
            help="Read the key itself from standard input (its first line).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["key_stdin"]:
            raw_key = sys.stdin.readline().strip()
            prefix = secret_prefix(raw_key, kind=STOREFRONT_KEY_KIND)
            if prefix is None:
                raise CommandError("standard input holds no X-Auth-Key")
        else:
            prefix = options["prefix"]
        key = StorefrontKey.objects.filter(prefix=prefix).first()
        if key is None:
            raise CommandError(f"no X-Auth-Key with prefix {prefix!r}")
        already = key.revoked_at is not None
        storefront_key_revoke(key=key)
        self.stdout.write(f"X-Auth-Key {prefix}: {'was revoked already' if already else 'revoked'}")
