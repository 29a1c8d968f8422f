"""Sign an access token with a local private key, as a trusted system or a test provider would.

For trying customer sign-in without an account at a provider (README "Signing in locally"):
``--create-key`` writes a key pair; register its public half with ``idp_add
--public-key-file``; this command then prints tokens for any subject.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Print an RS256 access token signed with a local key (development and tests only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--private-key-file", type=Path, required=True)
        parser.add_argument(
            "--create-key",
            action="store_true",
            help="Create the key pair (PRIVATE and PRIVATE.pub.pem) and print nothing else.",
        )
        parser.add_argument(
            "--force", action="store_true", help="With --create-key: replace an existing key."
        )
        parser.add_argument("--issuer", default="")
        parser.add_argument("--audience", default="")
        parser.add_argument("--sub", default="")
        parser.add_argument("--email", default="")
        parser.add_argument("--name", default="")
        parser.add_argument("--lifetime", type=int, default=3600, help="Seconds (default 3600).")

    def handle(self, *args: Any, **options: Any) -> None:
        key_file: Path = options["private_key_file"]
        if options["create_key"]:
            if key_file.exists() and not options["force"]:
                raise CommandError(
                    f"{key_file} exists; a provider may be registered with its public key. "
                    "Use another file, or --force to replace it."
                )
            self._create_key(key_file)
            return
        for required in ("issuer", "audience", "sub"):
            if not options[required]:
                raise CommandError(f"--{required} is required")
        try:
            private_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (OSError, ValueError) as error:
            raise CommandError(f"cannot read the private key: {error}") from None
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": options["issuer"],
            "aud": options["audience"],
            "sub": options["sub"],
            "iat": now,
            "exp": now + options["lifetime"],
            "jti": str(uuid.uuid4()),
        }
        if options["email"]:
            claims["email"] = options["email"]
            claims["email_verified"] = True
        if options["name"]:
            claims["name"] = options["name"]
        self.stdout.write(
            jwt.encode(claims, private_key, algorithm="RS256", headers={"typ": "at+jwt"})  # type: ignore[arg-type]
        )

    def _create_key(self, key_file: Path) -> None:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file.write_bytes(
            private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        public_file = key_file.with_name(key_file.name + ".pub.pem")
        public_file.write_bytes(
            private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.stdout.write(f"wrote {key_file} and {public_file}")
