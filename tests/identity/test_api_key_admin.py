"""API keys in the admin: added with the key shown once, rolled and revoked by actions (at
once), their last use shown; suppliers added and deactivated through their services."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client

from identity.models import ApiKey, Supplier
from tests.conftest import Storefront
from tests.identity.api_keys_common import SUPPLIER_PATH, IssuedKey, api_key_headers
from tests.identity.test_api_keys import assert_key_refused

KEYS_URL = "/admin/identity/apikey/"
KEY_IN_MESSAGE = re.compile(r"key_id=(\w+) API key: (ak_live_\w+)")


def shown_keys(answer: Any) -> list[tuple[str, str]]:
    return [
        match.groups()
        for message in get_messages(answer.wsgi_request)
        for match in [KEY_IN_MESSAGE.search(str(message))]
        if match
    ]


def test_an_operator_adds_a_key_and_sees_it_once(
    operator: Client, api: Any, storefront: Storefront, supplier: Supplier
) -> None:
    answer = operator.post(
        f"{KEYS_URL}add/",
        {
            "tenant": storefront.tenant.pk,
            "surface": "supplier",
            "supplier": supplier.pk,
            "provider": "",
            "name": "ERP",
            "scopes": ["supplier:products:read"],
        },
    )
    assert answer.status_code == 302, answer.content[:2000]
    [(key_id, key)] = shown_keys(answer)
    api_key = ApiKey.objects.get(lookup_id=key_id)
    assert (api_key.name, api_key.scopes) == ("ERP", ["supplier:products:read"])
    assert api.get(SUPPLIER_PATH, **api_key_headers(key)).status_code == 200
    # Shown on the next page, once; never again.
    assert key.encode() in operator.get(KEYS_URL).content
    page = operator.get(f"{KEYS_URL}{api_key.pk}/change/")
    assert page.status_code == 200
    assert key.encode() not in page.content
    assert api_key.secret_hash.encode() not in page.content


def test_a_payment_key_without_a_provider_is_not_added(
    operator: Client, storefront: Storefront
) -> None:
    operator.post(
        f"{KEYS_URL}add/",
        {"tenant": storefront.tenant.pk, "surface": "payment", "provider": "", "name": "x"},
    )
    assert ApiKey.objects.count() == 0


def test_roll_and_revoke_actions_take_effect_at_once(
    operator: Client, api: Any, supplier_key: IssuedKey, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer = operator.post(
            KEYS_URL, {"action": "roll_now", ACTION_CHECKBOX_NAME: [str(supplier_key.api_key.pk)]}
        )
    [(new_id, new_key)] = shown_keys(answer)
    assert_key_refused(api.get(SUPPLIER_PATH, **supplier_key.headers()))
    assert api.get(SUPPLIER_PATH, **api_key_headers(new_key)).status_code == 200
    new = ApiKey.objects.get(lookup_id=new_id)
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(KEYS_URL, {"action": "revoke", ACTION_CHECKBOX_NAME: [str(new.pk)]})
    assert_key_refused(api.get(SUPPLIER_PATH, **api_key_headers(new_key)))


def test_the_list_shows_the_last_use(operator: Client, api: Any, supplier_key: IssuedKey) -> None:
    api.get(SUPPLIER_PATH, **supplier_key.headers())
    supplier_key.api_key.refresh_from_db()
    page = operator.get(KEYS_URL)
    assert page.status_code == 200
    assert supplier_key.key_id.encode() in page.content
    assert b"Last used at" in page.content
    assert supplier_key.api_key.last_used_at is not None


def test_a_supplier_deactivated_in_the_admin_stops_its_keys(
    operator: Client,
    api: Any,
    supplier: Supplier,
    supplier_key: IssuedKey,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer = operator.post(
            f"/admin/identity/supplier/{supplier.pk}/change/",
            {"name": supplier.name, "is_active": ""},
        )
    assert answer.status_code == 302, answer.content[:2000]
    assert_key_refused(api.get(SUPPLIER_PATH, **supplier_key.headers()))
