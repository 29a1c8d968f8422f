"""Write docs/errors.md from the error codes in the code (``--check``: fail if it differs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ErrorCode

CATALOGUE = Path(settings.BASE_DIR) / "docs" / "errors.md"
AREAS = {
    1: "General",
    2: "Authentication and identity",
    3: "Catalog",
    4: "Carts",
    5: "Orders and payments",
    6: "Supplier API",
}


def catalogue_text() -> str:
    lines = [
        "# Error codes",
        "",
        "Generated from the code by `python manage.py errors_catalogue`; do not edit by hand.",
        "",
        "Every error of the API (except the OAuth endpoints, which answer in RFC 6749 form) is",
        "`application/problem+json` (RFC 9457):",
        "",
        "```json",
        '{"type": "urn:commerceapi:problem:quantity_above_stock", "title": "Not enough stock",',
        ' "status": 400, "detail": "Only 3 of \'CAP-NAVY\' in stock; the line would hold 9.",',
        ' "code": 4003,',
        ' "errors": [{"field": "quantity", "code": "quantity_above_stock", "message": "..."}]}',
        "```",
        "",
        "`code` is stable: codes are never renamed or reused. `errors[]` appears for invalid",
        "input; its `code` is the slug below, or for generic validation failures (code 1000) the",
        "field rule that failed (`required`, `invalid`, `min_value`, `max_value`, `max_length`,",
        "`null`, `blank`, ...). A 401 carries `WWW-Authenticate`; a 429 carries `Retry-After`.",
        "",
    ]
    codes = sorted(ErrorCode.registry.values(), key=lambda code: code.number)
    for area_number, area in AREAS.items():
        in_area = [code for code in codes if code.number // 1000 == area_number]
        if not in_area:
            continue
        lines += [
            f"## {area_number}xxx {area}",
            "",
            "| code | slug | status | title | meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {code.number} | `{code.slug}` | {code.status} | {code.title} | {code.description} |"
            for code in in_area
        ]
        lines.append("")
    unknown = [code for code in codes if code.number // 1000 not in AREAS]
    if unknown:
        raise CommandError(f"codes outside the known areas: {[c.number for c in unknown]}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Generate docs/errors.md from the error codes declared in the apps."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if docs/errors.md is stale.")

    def handle(self, *args: Any, **options: Any) -> None:
        text = catalogue_text()
        if options["check"]:
            current = CATALOGUE.read_text() if CATALOGUE.exists() else ""
            if current != text:
                raise CommandError(
                    "docs/errors.md does not match the code; run: python manage.py errors_catalogue"
                )
            self.stdout.write("docs/errors.md is up to date")
            return
        CATALOGUE.write_text(text)
        self.stdout.write(f"wrote {CATALOGUE.relative_to(settings.BASE_DIR)}")
