"""Provisioning without the admin: supplier_create, apikey_create, apikey_roll, apikey_list,
apikey_revoke. The create and roll commands print ``key_id=<id>`` and then the key alone on
the last line."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError

from identity.models import ApiKey, Supplier
from tests.conftest import Storefront, run_command
from tests.identity.api_keys_common import SUPPLIER_PATH, api_key_headers
from tests.identity.test_api_keys import KEY_FORMAT, assert_key_refused


def created_key(output: str) -> tuple[str, str]:
    lines = output.strip().splitlines()
    assert lines[0].startswith("key_id=")
    assert KEY_FORMAT.fullmatch(lines[-1])
    return lines[0].removeprefix("key_id="), lines[-1]


def test_an_operator_provisions_a_supplier_and_its_key(
    api: Any, storefront: Storefront, django_capture_on_commit_callbacks: Any
) -> None:
    assert "acme/farm" in run_command(
        "supplier_create", "--tenant", "acme", "--code", "farm", "--name", "Farm"
    )
    key_id, key = created_key(
        run_command(
            "apikey_create",
            "--tenant",
            "acme",
            "--surface",
            "supplier",
            "--supplier",
            "farm",
            "--name",
            "ERP",
            "--expires-in",
            "3600",
        )
    )
    api_key = ApiKey.objects.get(lookup_id=key_id)
    assert api_key.supplier == Supplier.objects.get(code="farm")
    assert api_key.name == "ERP"
    assert api_key.expires_at is not None
    assert len(api_key.scopes) == 3
    assert api.get(SUPPLIER_PATH, **api_key_headers(key)).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        new_id, new_key = created_key(
            run_command("apikey_roll", key_id, "--old-key-expires-in", "0")
        )
    assert new_id != key_id
    assert_key_refused(api.get(SUPPLIER_PATH, **api_key_headers(key)))
    assert api.get(SUPPLIER_PATH, **api_key_headers(new_key)).status_code == 200

    listing = run_command("apikey_list", "--tenant", "acme")
    assert key_id in listing and new_id in listing
    assert key not in listing and new_key not in listing
    assert "expired" in listing and "live" in listing

    with django_capture_on_commit_callbacks(execute=True):
        output = run_command("apikey_revoke", new_id)
    assert output.splitlines() == [f"key_id={new_id}", "revoked"]
    assert_key_refused(api.get(SUPPLIER_PATH, **api_key_headers(new_key)))
    assert run_command("apikey_revoke", new_id).splitlines()[-1] == "already revoked"
    assert "revoked" in run_command("apikey_list", "--tenant", "acme")


def test_a_payment_key_names_its_provider_and_chosen_scopes(storefront: Storefront) -> None:
    key_id, _ = created_key(
        run_command(
            "apikey_create",
            "--tenant",
            "acme",
            "--surface",
            "payment",
            "--provider",
            "adyen",
            "--scope",
            "payment:orders:read",
        )
    )
    api_key = ApiKey.objects.get(lookup_id=key_id)
    assert (api_key.surface, api_key.provider, api_key.scopes) == (
        "payment",
        "adyen",
        ["payment:orders:read"],
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--tenant", "nope", "--surface", "payment", "--provider", "p"], "no tenant"),
        (["--tenant", "acme", "--surface", "supplier", "--supplier", "nope"], "no supplier"),
        (["--tenant", "acme", "--surface", "supplier"], "names a supplier"),
        (["--tenant", "acme", "--surface", "payment"], "names its provider"),
        (
            ["--tenant", "acme", "--surface", "payment", "--provider", "p", "--scope", "x"],
            "Not a scope of payment keys",
        ),
        (
            [
                "--tenant",
                "acme",
                "--surface",
                "payment",
                "--provider",
                "p",
                "--scope",
                "supplier:stock:write",
            ],
            "Not a scope of payment keys",
        ),
        (
            ["--tenant", "acme", "--surface", "payment", "--provider", "p", "--expires-in", "0"],
            "above 0",
        ),
    ],
)
def test_apikey_create_refuses_what_it_cannot_issue(
    storefront: Storefront, arguments: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run_command("apikey_create", *arguments)
    assert ApiKey.objects.count() == 0


def test_scopes_are_given_one_by_one_or_together(
    storefront: Storefront, supplier: Supplier
) -> None:
    for scopes in (
        ["--scope", "supplier:stock:write", "--scope", "supplier:products:read"],
        ["--scope", "supplier:stock:write", "supplier:products:read"],
    ):
        key_id, _ = created_key(
            run_command(
                "apikey_create",
                "--tenant",
                "acme",
                "--surface",
                "supplier",
                "--supplier",
                supplier.code,
                *scopes,
            )
        )
        assert ApiKey.objects.get(lookup_id=key_id).scopes == [
            "supplier:stock:write",
            "supplier:products:read",
        ]


def test_supplier_codes_are_unique_per_tenant(storefront: Storefront) -> None:
    run_command("supplier_create", "--tenant", "acme", "--code", "farm", "--name", "Farm")
    with pytest.raises(CommandError, match="already has a supplier"):
        run_command("supplier_create", "--tenant", "acme", "--code", "farm", "--name", "Other")
    assert Supplier.objects.count() == 1


def test_rolling_or_revoking_an_unknown_key_is_an_error(storefront: Storefront) -> None:
    for command in ("apikey_roll", "apikey_revoke"):
        with pytest.raises(CommandError, match="No API key"):
            run_command(command, "nope")
