from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.origins import origin_problem
from identity.models import StorefrontApp
from identity.tenancy.storefront import DEFAULT_APP_NAME, storefront_app_save


class Command(BaseCommand):
    help = (
        "Show or change the browser origins (CORS) allowed for a storefront app: "
        "scheme://host[:port] exactly as a browser sends it. Prints the resulting list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--app", default=DEFAULT_APP_NAME, help="Storefront app name.")
        parser.add_argument(
            "--add", action="append", default=[], metavar="ORIGIN", help="Allow an origin."
        )
        parser.add_argument(
            "--remove", action="append", default=[], metavar="ORIGIN", help="Stop allowing one."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app = StorefrontApp.objects.filter(
            tenant__slug=options["tenant"], name=options["app"]
        ).first()
        if app is None:
            raise CommandError(
                f"no storefront app {options['app']!r} of tenant {options['tenant']!r}"
            )
        problems = [problem for problem in map(origin_problem, options["add"]) if problem]
        if problems:
            raise CommandError("; ".join(problems))
        origins = [origin for origin in app.allowed_cors_origins if origin not in options["remove"]]
        origins += [origin for origin in dict.fromkeys(options["add"]) if origin not in origins]
        if origins != app.allowed_cors_origins:
            app.allowed_cors_origins = origins
            try:
                storefront_app_save(app=app)
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"Origins allowed for {app}:")
        for origin in origins:
            self.stdout.write(origin)
