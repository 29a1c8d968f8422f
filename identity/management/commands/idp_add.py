from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.customers.providers import provider_save
from identity.models import PROVIDER_ALGORITHMS, IdentityProvider, ProviderFlavor, Tenant


class Command(BaseCommand):
    help = (
        "Register an external identity provider for a tenant. Give exactly one key source: "
        "--discovery-url, --jwks-uri or --public-key-file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--issuer", required=True, help="Matched exactly, trailing slash too.")
        parser.add_argument(
            "--audience",
            action="append",
            required=True,
            help="Accepted aud (repeatable). Cognito: the app client id.",
        )
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--discovery-url", default="")
        source.add_argument("--jwks-uri", default="")
        source.add_argument("--public-key-file", type=Path, default=None)
        parser.add_argument(
            "--algorithm",
            action="append",
            choices=PROVIDER_ALGORITHMS,
            help="Allowed algorithm (repeatable). Default: the asymmetric ones the provider "
            "advertises (discovery document, JWKS, or the public key's type) that we accept.",
        )
        parser.add_argument(
            "--flavor", choices=ProviderFlavor.values, default=ProviderFlavor.GENERIC
        )
        parser.add_argument("--subject-claim", default="", help="Default: the flavor's own.")
        parser.add_argument("--leeway", type=int, default=30, help="Seconds, at most 60.")
        parser.add_argument(
            "--accept-id-tokens",
            action="store_true",
            help="Do not refuse ID tokens (not recommended).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        public_key_pem = ""
        if options["public_key_file"] is not None:
            try:
                public_key_pem = options["public_key_file"].read_text()
            except OSError as error:
                raise CommandError(f"cannot read the public key: {error}") from None
        provider = IdentityProvider(
            tenant=tenant,
            name=options["name"],
            flavor=options["flavor"],
            issuer=options["issuer"],
            audiences=options["audience"],
            discovery_url=options["discovery_url"],
            jwks_uri=options["jwks_uri"],
            public_key_pem=public_key_pem,
            algorithms=options["algorithm"] or [],
            subject_claim=options["subject_claim"],
            leeway_seconds=options["leeway"],
            refuse_id_tokens=not options["accept_id_tokens"],
        )
        try:
            provider_save(provider=provider)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"added identity provider {provider} (issuer {provider.issuer})")
        chosen = "as given" if options["algorithm"] else "advertised by the provider"
        self.stdout.write(f"allowed algorithms: {', '.join(provider.algorithms)} ({chosen})")
