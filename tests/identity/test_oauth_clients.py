"""OAuth clients: creation with each kind's defaults and checks, secrets stored hashed and rotated
with an overlap, deactivation, and the management commands that do the same.

Here: client_create; Secret rotation; Deactivation. The other parts of the suite:
test_oauth_client_commands.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from identity.credentials.encryption import secret_decrypt
from identity.models import (
    Customer,
    GrantType,
    OAuthClient,
    OAuthClientKind,
    OAuthClientSecret,
)
from identity.oauth.clients import client_create, client_secret_rotate, client_set_active
from tests.conftest import Storefront
from tests.identity.oauth_clients_common import (
    CART_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    _database_text,
    assert_invalid_client,
    authenticates,
    client_rows,
)
from tests.identity.oauth_helpers import (
    Client,
    customer_headers,
    make_client,
    password_tokens,
    token_request,
)

# --- client_create ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "grants", "scopes"),
    [
        pytest.param(
            OAuthClientKind.SALES_CHANNEL,
            ["client_credentials", "password", "refresh_token"],
            [
                "cart:read",
                "cart:write",
                "catalog:read",
                "customer:read",
                "customers:create",
                "orders:read",
                "orders:write",
            ],
            id="sales channel",
        ),
        pytest.param(
            OAuthClientKind.INTEGRATION, ["client_credentials"], ["catalog:read"], id="integration"
        ),
        pytest.param(
            OAuthClientKind.WEBAPP,
            ["password", "refresh_token"],
            [
                "cart:read",
                "cart:write",
                "catalog:read",
                "customer:read",
                "orders:read",
                "orders:write",
            ],
            id="webapp",
        ),
        pytest.param(OAuthClientKind.THIRD_PARTY_APP, [], [], id="third-party app"),
    ],
)
def test_a_client_gets_its_kinds_defaults(
    storefront: Storefront, kind: str, grants: list[str], scopes: list[str]
) -> None:
    # given
    app = storefront.app if kind == OAuthClientKind.SALES_CHANNEL else None

    # when
    created = client_create(tenant=storefront.tenant, kind=kind, storefront_app=app)

    # then
    client = OAuthClient.objects.get()
    assert client == created.client
    assert CLIENT_ID.fullmatch(client.client_id)
    assert re.fullmatch(rf"{kind} [0-9a-f]{{6}}", client.name)
    assert client.tenant == storefront.tenant
    assert client.storefront_app == app
    assert client.grant_types == grants
    assert client.scopes == scopes
    assert client.is_active
    assert not client.may_act_for_any_customer
    assert (
        client.access_token_lifetime_seconds,
        client.refresh_token_idle_seconds,
        client.refresh_token_absolute_seconds,
    ) == (900, 14 * 86400, 90 * 86400)
    if kind == OAuthClientKind.SALES_CHANNEL:
        assert not client.is_confidential
        assert created.client_secret == ""
        assert OAuthClientSecret.objects.count() == 0
    else:
        assert client.is_confidential
        assert CLIENT_SECRET.fullmatch(created.client_secret)
        secret = OAuthClientSecret.objects.get()
        assert (secret.client, secret.expires_at) == (client, None)


def test_two_clients_get_different_ids_and_secrets(storefront: Storefront) -> None:
    # when
    first = client_create(tenant=storefront.tenant, kind=OAuthClientKind.INTEGRATION)
    second = client_create(tenant=storefront.tenant, kind=OAuthClientKind.INTEGRATION)

    # then
    assert first.client.client_id != second.client.client_id
    assert first.client_secret != second.client_secret


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param(
            {"kind": OAuthClientKind.SALES_CHANNEL, "grant_types": [GrantType.TOKEN_EXCHANGE]},
            "grant_types",
            id="token exchange for a sales channel",
        ),
        pytest.param(
            {"kind": OAuthClientKind.THIRD_PARTY_APP, "grant_types": [GrantType.PASSWORD]},
            "grant_types",
            id="password for a third-party app",
        ),
        pytest.param(
            {"kind": OAuthClientKind.INTEGRATION, "grant_types": ["implicit"]},
            "grant_types",
            id="unknown grant",
        ),
        pytest.param(
            {"kind": OAuthClientKind.INTEGRATION, "grant_types": "password"},
            "grant_types",
            id="grants not a list",
        ),
        pytest.param(
            {"kind": OAuthClientKind.INTEGRATION, "scopes": ["catalog:read", "admin"]},
            "scopes",
            id="unknown scope",
        ),
        pytest.param(
            {"kind": OAuthClientKind.SALES_CHANNEL, "storefront_app": None},
            "storefront_app",
            id="sales channel without storefront app",
        ),
        pytest.param(
            {"kind": OAuthClientKind.SALES_CHANNEL, "storefront_app": "other"},
            "storefront_app",
            id="storefront app of another tenant",
        ),
        pytest.param(
            {"kind": OAuthClientKind.INTEGRATION, "storefront_app": "own"},
            "storefront_app",
            id="storefront app for an integration",
        ),
        pytest.param(
            {"kind": OAuthClientKind.SALES_CHANNEL, "may_act_for_any_customer": True},
            "may_act_for_any_customer",
            id="sales channel acting for any customer",
        ),
        pytest.param({"kind": "superuser"}, "kind", id="unknown kind"),
    ],
)
def test_invalid_client_settings_are_refused_and_nothing_is_saved(
    storefront: Storefront, other_storefront: Storefront, fields: dict[str, Any], field: str
) -> None:
    # given
    apps_by_name = {"own": storefront.app, "other": other_storefront.app, None: None}
    fields = dict(fields)
    default_app = storefront.app if fields["kind"] == OAuthClientKind.SALES_CHANNEL else None
    fields["storefront_app"] = (
        apps_by_name[fields["storefront_app"]] if ("storefront_app" in fields) else default_app
    )
    before = client_rows()

    # when
    with pytest.raises(ValidationError) as refused:
        client_create(tenant=storefront.tenant, **fields)

    # then
    assert field in refused.value.message_dict
    assert client_rows() == before


def test_a_duplicate_client_name_is_refused(storefront: Storefront) -> None:
    # given
    client_create(tenant=storefront.tenant, kind=OAuthClientKind.INTEGRATION, name="ERP")
    before = client_rows()

    # when
    with pytest.raises(ValidationError):
        client_create(tenant=storefront.tenant, kind=OAuthClientKind.WEBAPP, name="ERP")

    # then
    assert client_rows() == before


def test_a_client_secret_is_stored_hashed(api: APIClient, integration: Client) -> None:
    # then the secret (and its random part) appears nowhere in the database
    stored = OAuthClientSecret.objects.get()
    _, prefix, random_part = integration.secret.split("_", 2)
    text = _database_text()
    assert integration.secret not in text
    assert random_part not in text
    assert stored.prefix == prefix
    assert stored.secret_hash == hashlib.sha256(integration.secret.encode()).hexdigest()
    assert stored.encrypted_signing_secret == ""
    # and it authenticates
    assert authenticates(api, integration.client_id, integration.secret).status_code == 200


def test_a_third_party_apps_secret_is_kept_only_encrypted_as_its_signing_secret(
    loyalty_app: Client,
) -> None:
    # given
    stored = OAuthClientSecret.objects.get()

    # then the secret is the signing secret, encrypted, and in clear nowhere
    assert secret_decrypt(stored.encrypted_signing_secret) == loyalty_app.secret
    assert stored.secret_hash == hashlib.sha256(loyalty_app.secret.encode()).hexdigest()
    assert loyalty_app.secret.split("_", 2)[2] not in _database_text()


# --- Secret rotation --------------------------------------------------------------------------


def test_old_and_new_secret_both_work_during_the_overlap_and_only_the_new_after(
    api: APIClient, integration: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a rotation with an hour's overlap
    old = integration.secret
    new = client_secret_rotate(client=integration.client, overlap=timedelta(hours=1))

    # then both authenticate
    assert new != old
    assert CLIENT_SECRET.fullmatch(new)
    assert authenticates(api, integration.client_id, old).status_code == 200
    assert authenticates(api, integration.client_id, new).status_code == 200
    old_row = OAuthClientSecret.objects.get(prefix=old.split("_")[1])
    new_row = OAuthClientSecret.objects.get(prefix=new.split("_")[1])
    assert new_row.expires_at is None
    assert old_row.expires_at is not None
    assert timedelta(minutes=59) < old_row.expires_at - timezone.now() <= timedelta(hours=1)

    # when the overlap is over
    later = old_row.expires_at + timedelta(seconds=1)
    monkeypatch.setattr("identity.oauth.clients.timezone.now", lambda: later)

    # then only the new one authenticates
    assert_invalid_client(authenticates(api, integration.client_id, old))
    assert authenticates(api, integration.client_id, new).status_code == 200


def test_a_rotation_without_overlap_ends_the_old_secret_at_once(
    api: APIClient, integration: Client
) -> None:
    # when
    new = client_secret_rotate(client=integration.client, overlap=timedelta(0))

    # then
    assert_invalid_client(authenticates(api, integration.client_id, integration.secret))
    assert authenticates(api, integration.client_id, new).status_code == 200


def test_a_second_rotation_does_not_extend_an_older_secret(integration: Client) -> None:
    # given a secret already ending in a minute
    client_secret_rotate(client=integration.client, overlap=timedelta(minutes=1))
    first_row = OAuthClientSecret.objects.get(prefix=integration.secret.split("_")[1])
    ends = first_row.expires_at

    # when rotated again with a day's overlap
    client_secret_rotate(client=integration.client, overlap=timedelta(days=1))

    # then the oldest secret still ends when it did
    first_row.refresh_from_db()
    assert first_row.expires_at == ends
    assert OAuthClientSecret.objects.filter(expires_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("fixture", "overlap"),
    [
        pytest.param("sales_channel", timedelta(0), id="public client"),
        pytest.param("integration", timedelta(seconds=-1), id="negative overlap"),
    ],
)
def test_a_refused_rotation_changes_nothing(
    request: pytest.FixtureRequest, storefront: Storefront, fixture: str, overlap: timedelta
) -> None:
    # given
    client: Client = request.getfixturevalue(fixture)
    before = client_rows()

    # when
    with pytest.raises(ValidationError):
        client_secret_rotate(client=client.client, overlap=overlap)

    # then
    assert client_rows() == before


# --- Deactivation -----------------------------------------------------------------------------


def test_deactivating_a_client_ends_its_tokens_at_once(
    api: APIClient,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a guest and a customer of the sales channel, both using their carts
    guest_token = token_request(
        api, grant_type="client_credentials", client_id=sales_channel.client_id
    ).json()["access_token"]
    guest = customer_headers(api, guest_token)
    signed_in = password_tokens(api, sales_channel)
    ada = customer_headers(api, signed_in["access_token"])
    assert api.get(CART_URL, **guest).status_code == 200
    assert api.get(CART_URL, **ada).status_code == 200

    # when the client is deactivated
    with django_capture_on_commit_callbacks(execute=True):
        client_set_active(client=sales_channel.client, is_active=False)

    # then its tokens stop working, and it gets no new ones
    for headers in (guest, ada):
        answer = api.get(CART_URL, **headers)
        assert answer.status_code == 401, answer.content
        assert answer.json()["code"] == 2012
    assert_invalid_client(
        token_request(
            api,
            grant_type="refresh_token",
            client_id=sales_channel.client_id,
            refresh_token=signed_in["refresh_token"],
        )
    )
    assert_invalid_client(
        token_request(api, grant_type="client_credentials", client_id=sales_channel.client_id)
    )
    assert OAuthClient.objects.get().is_active is False


def test_deactivating_a_client_spares_the_tenants_other_clients(
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    customer: Customer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a customer signed in through another sales channel
    app = make_client(storefront, name="Mobile app")
    ada = customer_headers(api, password_tokens(api, app)["access_token"])

    # when the web shop is deactivated
    with django_capture_on_commit_callbacks(execute=True):
        client_set_active(client=sales_channel.client, is_active=False)

    # then
    assert api.get(CART_URL, **ada).status_code == 200
