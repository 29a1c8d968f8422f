from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from identity.credentials.encryption import SecretUndecryptable, stored_secrets_reencrypt
from identity.credentials.keyring import keyring_clear_cache


class Command(BaseCommand):
    help = (
        "Encrypt every stored secret (signing keys, third-party apps' signing secrets) again "
        "under the first key of SECRETS_ENCRYPTION_KEYS. Put the new key first, keep the old "
        "ones after it, run this, then remove the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = stored_secrets_reencrypt()
        except SecretUndecryptable as error:
            raise CommandError(f"nothing was changed: {error}") from None
        keyring_clear_cache()
        for name, count in counts.items() or [("secrets", 0)]:
            self.stdout.write(f"re-encrypted {count} {name}")
