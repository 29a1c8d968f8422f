"""The operators' admin for identity providers and customers, and that shopper credentials never
open it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from rest_framework.test import APIClient

from identity.credentials.revocation import customer_revocation_key
from identity.models import Customer, IdentityProvider, Revocation
from tests.conftest import Shopper, Storefront
from tests.identity.provider_fixtures import (
    CART_URL,
    CONTEXT_URL,
    CustomerShopper,
    KeyPair,
    StaticKeyProvider,
)

PROVIDER_ADD_URL = "/admin/identity/identityprovider/add/"
CUSTOMERS_URL = "/admin/identity/customer/"


def provider_form(storefront: Storefront, **fields: str) -> dict[str, Any]:
    """The add form as an operator fills it in, for a static public key unless overridden."""
    return {
        "tenant": str(storefront.tenant.pk),
        "name": "shop-login",
        "flavor": "generic",
        "issuer": "https://login.shop.example/",
        "audiences": '["api://storefront"]',
        "discovery_url": "",
        "jwks_uri": "",
        "public_key_pem": "",
        "algorithms": '["RS256"]',
        "subject_claim": "",
        "leeway_seconds": "30",
        "refuse_id_tokens": "on",
        "is_enabled": "on",
        **fields,
    }


pytestmark = pytest.mark.usefixtures("fresh_provider_registry")


def form_errors(answer: Any) -> dict[str, list[str]]:
    form = answer.context["adminform"].form
    return {field: list(messages) for field, messages in form.errors.items()}


# --- Identity providers -----------------------------------------------------------------------


def test_provider_form_refuses_an_http_jwks_uri_off_loopback(
    operator: Client, storefront: Storefront
) -> None:
    # when an operator adds a provider whose JWKS URI is plain http on another host
    answer = operator.post(
        PROVIDER_ADD_URL, provider_form(storefront, jwks_uri="http://idp.example.com/jwks.json")
    )

    # then the form is shown again with the error on that field, and nothing is saved
    assert answer.status_code == 200
    assert form_errors(answer) == {
        "jwks_uri": ["Must be an https URL (http only on a loopback host)."]
    }
    assert IdentityProvider.objects.count() == 0


def test_provider_form_refuses_two_key_sources(
    operator: Client, storefront: Storefront, provider_keys: KeyPair
) -> None:
    # when an operator gives both a JWKS URI and a public key
    answer = operator.post(
        PROVIDER_ADD_URL,
        provider_form(
            storefront,
            jwks_uri="https://login.shop.example/jwks.json",
            public_key_pem=provider_keys.public_key_pem,
        ),
    )

    # then the form says to give exactly one, and nothing is saved
    assert answer.status_code == 200
    assert form_errors(answer) == {
        "__all__": [
            "Give exactly one key source: a discovery URL, a JWKS URI or a public key (PEM)."
        ]
    }
    assert IdentityProvider.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"algorithms": '["HS256"]'}, "algorithms"),
        ({"audiences": "[]"}, "audiences"),
        ({"public_key_pem": "not a key"}, "public_key_pem"),
        ({"leeway_seconds": "61"}, "leeway_seconds"),
    ],
)
def test_provider_form_refuses_bad_settings_on_their_field(
    operator: Client,
    storefront: Storefront,
    provider_keys: KeyPair,
    fields: dict[str, str],
    field: str,
) -> None:
    # when one setting of an otherwise valid static-key provider is bad
    data = provider_form(storefront, public_key_pem=provider_keys.public_key_pem)
    answer = operator.post(PROVIDER_ADD_URL, {**data, **fields})

    # then the form names that field, and nothing is saved
    assert answer.status_code == 200
    assert list(form_errors(answer)) == [field]
    assert IdentityProvider.objects.count() == 0


def test_provider_form_saves_a_valid_provider(
    operator: Client, storefront: Storefront, provider_keys: KeyPair
) -> None:
    # when an operator adds a provider with a static public key
    answer = operator.post(
        PROVIDER_ADD_URL, provider_form(storefront, public_key_pem=provider_keys.public_key_pem)
    )

    # then it is saved as entered and the operator is sent back to the list
    assert answer.status_code == 302, form_errors(answer)
    assert answer["Location"] == "/admin/identity/identityprovider/"
    provider = IdentityProvider.objects.get()
    assert provider.tenant == storefront.tenant
    assert (provider.name, provider.issuer) == ("shop-login", "https://login.shop.example/")
    assert provider.audiences == ["api://storefront"]
    assert provider.algorithms == ["RS256"]
    assert provider.public_key_pem.strip() == provider_keys.public_key_pem.strip()
    assert provider.is_enabled


def test_provider_form_saves_a_loopback_http_jwks_uri(
    operator: Client, storefront: Storefront
) -> None:
    # when the JWKS URI is plain http on the loopback host
    answer = operator.post(
        PROVIDER_ADD_URL, provider_form(storefront, jwks_uri="http://127.0.0.1:9/jwks.json")
    )

    # then it is saved
    assert answer.status_code == 302, form_errors(answer)
    assert IdentityProvider.objects.get().jwks_uri == "http://127.0.0.1:9/jwks.json"


def test_provider_pages_render(
    operator: Client, storefront: Storefront, static_provider: Any
) -> None:
    # when the list, the add form and a provider's page are opened
    pages = [
        "/admin/identity/identityprovider/",
        PROVIDER_ADD_URL,
        f"/admin/identity/identityprovider/{static_provider.provider.pk}/change/",
    ]

    # then each renders
    assert [operator.get(url).status_code for url in pages] == [200, 200, 200]


# --- Customers --------------------------------------------------------------------------------


def test_customer_list_and_page_render_with_identities_and_carts(
    operator: Client, customer_shopper: CustomerShopper
) -> None:
    # given a customer who signed in
    session = customer_shopper("auth0|alice", email="alice@example.com")
    customer = Customer.objects.get(public_id=session.customer_id)

    # when the operator opens the list, searches by subject, and opens the customer
    listing = operator.get(CUSTOMERS_URL)
    search = operator.get(CUSTOMERS_URL, {"q": "auth0|alice"})
    page = operator.get(f"{CUSTOMERS_URL}{customer.pk}/change/")

    # then each renders, naming the customer, their identity and a link to their carts
    assert (listing.status_code, search.status_code, page.status_code) == (200, 200, 200)
    assert "alice@example.com" in listing.content.decode()
    assert search.context["cl"].result_count == 1
    content = page.content.decode()
    assert "auth0|alice" in content
    assert f"/admin/carts/cart/?customer_id={customer.public_id}" in content


def test_customers_cannot_be_added_or_deleted_in_the_admin(
    operator: Client, customer_shopper: CustomerShopper
) -> None:
    # given a customer
    session = customer_shopper("alice")
    customer = Customer.objects.get(public_id=session.customer_id)

    # when the operator tries to add or delete one
    add = operator.get(f"{CUSTOMERS_URL}add/")
    delete = operator.post(f"{CUSTOMERS_URL}{customer.pk}/delete/", {"post": "yes"})

    # then both are refused and the customer stays
    assert add.status_code == 403
    assert delete.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_deactivate_action_ends_the_customers_session(
    operator: Client,
    api: APIClient,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given a customer whose session works, and another customer
    session = customer_shopper("alice")
    other = customer_shopper("bob")
    assert api.get(CART_URL, **session.headers()).status_code == 200
    customer = Customer.objects.get(public_id=session.customer_id)

    # when the operator deactivates the first with the admin action
    with django_capture_on_commit_callbacks(execute=True):
        answer = operator.post(
            CUSTOMERS_URL, {"action": "deactivate", ACTION_CHECKBOX_NAME: [str(customer.pk)]}
        )

    # then the customer is deactivated and revoked, and their session stops at once
    assert answer.status_code == 302
    customer.refresh_from_db()
    assert customer.is_active is False
    assert Revocation.objects.filter(key=customer_revocation_key(session.customer_id)).exists()
    refused = api.get(CART_URL, **session.headers())
    assert refused.status_code == 401
    assert refused.json()["code"] == 2064

    # and the other customer is untouched
    assert Customer.objects.get(public_id=other.customer_id).is_active
    assert api.get(CART_URL, **other.headers()).status_code == 200

    # when the operator reactivates the customer
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            CUSTOMERS_URL, {"action": "reactivate", ACTION_CHECKBOX_NAME: [str(customer.pk)]}
        )

    # then the session works again
    assert api.get(CART_URL, **session.headers()).status_code == 200


# --- Shopper credentials on the admin ---------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/", CUSTOMERS_URL, PROVIDER_ADD_URL])
def test_shopper_credentials_do_not_open_the_admin(
    client: Client,
    storefront: Storefront,
    shopper: Shopper,
    customer_shopper: CustomerShopper,
    operator_user: Any,
    url: str,
) -> None:
    # given an anonymous shopper's, a customer's and a storefront's credentials
    customer = customer_shopper("alice")
    credentials: list[dict[str, str]] = [
        shopper.headers(),
        customer.headers(),
        {"HTTP_X_AUTH_KEY": storefront.key},
        {"HTTP_AUTHORIZATION": f"Bearer {customer.token}", "HTTP_X_AUTH_KEY": storefront.key},
    ]

    # when each is sent to the admin
    answers = [client.get(url, **headers) for headers in credentials]

    # then each is sent to the login page, and nobody is logged in
    for answer in answers:
        assert answer.status_code == 302
        assert answer["Location"] == f"/admin/login/?next={url}"
    assert "_auth_user_id" not in client.session


def test_providers_registered_in_the_admin_are_trusted_by_the_api(
    operator: Client,
    api: APIClient,
    storefront: Storefront,
    provider_keys: KeyPair,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # given a provider added in the admin
    with django_capture_on_commit_callbacks(execute=True):
        added = operator.post(
            PROVIDER_ADD_URL,
            provider_form(storefront, public_key_pem=provider_keys.public_key_pem),
        )
    assert added.status_code == 302

    # when a token it signed is presented
    token = StaticKeyProvider(IdentityProvider.objects.get(), provider_keys).token("alice")
    answer = api.get(CONTEXT_URL, HTTP_AUTHORIZATION=f"Bearer {token}")

    # then the customer is signed in
    assert answer.status_code == 200, answer.content
    assert answer.json()["isAnonymous"] is False
