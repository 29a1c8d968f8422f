"""The customer context of a provider's customer: bound to its exact bearer, never outliving
it, ended at once by deactivation or a disabled provider, and resolved without identity queries."""

from __future__ import annotations

import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import SettingsWrapper
from rest_framework.test import APIClient

from carts.models import Cart
from carts.owners import CartOwner
from carts.selectors import cart_get
from identity.credentials.revocation import customer_revocation_key
from identity.customers.customers import customer_set_active
from identity.customers.providers import providers_clear_cache
from identity.models import Customer, Revocation
from identity.tenancy.storefront import tenant_save
from tests.conftest import Shopper, Storefront, bearer_headers, shopper_headers
from tests.identity.provider_fixtures import (
    CART_URL,
    CONTEXT_URL,
    PROFILE_URL,
    CustomerShopper,
    CustomerTokenSigner,
    StaticKeyProvider,
    customer_session,
    identity_queries,
)
from tests.identity.tokens_helpers import assert_unauthorized, segments

CaptureOnCommit = Callable[..., Any]


# --- Bound to the bearer and expiring with it -------------------------------------------------


def test_context_expires_with_its_bearer(
    api: APIClient, customer_token: CustomerTokenSigner
) -> None:
    # given a provider token living ten more minutes
    token = customer_token("alice", lifetime=600)
    _, bearer_claims, _ = segments(token)

    # when the context is minted with it
    session = customer_session(api, token)

    # then the context expires exactly with the bearer and names the customer
    _, claims, _ = segments(session.context)
    assert claims["exp"] == bearer_claims["exp"]
    assert claims["sub"] == session.customer_id
    assert claims["isAnonymous"] is False
    assert api.get(CART_URL, **session.headers()).status_code == 200


def test_context_of_a_long_lived_bearer_is_capped(
    api: APIClient, customer_token: CustomerTokenSigner, settings: SettingsWrapper
) -> None:
    # given a cap on contexts shorter than the bearer's remaining life
    settings.CUSTOMER_CONTEXT_MAX_LIFETIME_SECONDS = 900
    token = customer_token("alice", lifetime=10 * 3600)

    # when the context is minted
    before = int(time.time())
    session = customer_session(api, token)
    after = int(time.time())

    # then it expires at the cap
    _, claims, _ = segments(session.context)
    assert before + 900 <= claims["exp"] <= after + 900


def test_no_context_is_minted_for_a_bearer_accepted_only_within_the_leeway(
    api: APIClient, customer_token: CustomerTokenSigner
) -> None:
    # given a bearer that expired a few seconds ago, still inside the provider's clock leeway
    token = customer_token("alice", exp=int(time.time()) - 5)

    # when a context is asked for with it
    answer = api.get(CONTEXT_URL, **bearer_headers(token))

    # then none is minted: it would be born expired
    assert_unauthorized(answer, 2011)


def test_context_with_a_new_bearer_of_the_same_customer_is_refused(
    api: APIClient, customer_token: CustomerTokenSigner, customer_shopper: CustomerShopper
) -> None:
    # given a customer's context, and a new token after re-login
    session = customer_shopper("alice")
    relogin_token = customer_token("alice")
    assert relogin_token != session.token

    # when the old context is sent with the new bearer
    answer = api.get(
        CART_URL,
        **shopper_headers(relogin_token, session.context),
    )

    # then it is refused as minted for another bearer, and nothing was created
    assert_unauthorized(answer, 2032)
    assert Cart.objects.count() == 0


@pytest.mark.parametrize(
    ("bearer_of", "context_of"),
    [
        pytest.param("bob", "alice", id="another-customers-bearer"),
        pytest.param("alice", "anonymous", id="anonymous-context-with-a-customer-bearer"),
        pytest.param("anonymous", "alice", id="customer-context-with-an-anonymous-bearer"),
    ],
)
def test_context_with_someone_elses_bearer_is_refused(
    api: APIClient,
    customer_shopper: CustomerShopper,
    shopper: Shopper,
    bearer_of: str,
    context_of: str,
) -> None:
    # given two customers and an anonymous shopper
    sessions = {
        "alice": customer_shopper("alice"),
        "bob": customer_shopper("bob"),
        "anonymous": shopper,
    }

    # when the bearer of one comes with the context of another
    answer = api.get(
        CART_URL,
        **shopper_headers(sessions[bearer_of].token, sessions[context_of].context),
    )

    # then it is refused
    assert_unauthorized(answer, 2032)


@pytest.mark.parametrize("url", [CART_URL, CONTEXT_URL])
def test_context_sent_as_the_bearer_is_refused(
    api: APIClient, customer_shopper: CustomerShopper, url: str
) -> None:
    # given a customer's context
    session = customer_shopper("alice")

    # when it is sent as the bearer (with itself as context)
    answer = api.get(
        url,
        **shopper_headers(session.context, session.context),
    )

    # then it is not a bearer
    assert_unauthorized(answer, 2010)


# --- Deactivated customers and disabled providers ---------------------------------------------


def test_deactivated_customer_is_refused_on_the_next_request(
    api: APIClient,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer whose session works, so the cache has answered "not revoked"
    session = customer_shopper("alice")
    assert api.get(CART_URL, **session.headers()).status_code == 200
    customer = Customer.objects.get(public_id=session.customer_id)

    # when the customer is deactivated
    with django_capture_on_commit_callbacks(execute=True):
        customer_set_active(customer=customer, is_active=False)

    # then the same bearer and context stop working at once, everywhere
    assert_unauthorized(api.get(CART_URL, **session.headers()), 2064)
    assert_unauthorized(api.get(PROFILE_URL, **session.headers()), 2064)
    assert_unauthorized(
        api.post(
            CART_URL + "/lines", {"sku": "MUG", "quantity": 1}, format="json", **session.headers()
        ),
        2064,
    )
    assert Cart.objects.count() == 0

    # and a new context cannot be minted, with this bearer or a new one
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(session.token)), 2064)
    # and the database, not the cache, is the source of truth
    assert Revocation.objects.filter(key=customer_revocation_key(session.customer_id)).exists()
    cache.clear()
    assert_unauthorized(api.get(CART_URL, **session.headers()), 2064)


def test_deactivating_the_tenant_ends_customer_sessions_and_sign_ins(
    api: APIClient,
    storefront: Storefront,
    customer_token: CustomerTokenSigner,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer whose session works, so the cache has answered "not revoked"
    session = customer_shopper("alice")
    assert api.get(CART_URL, **session.headers()).status_code == 200

    # when their tenant is deactivated
    storefront.tenant.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        tenant_save(tenant=storefront.tenant)

    # then the session stops at once, and nobody signs in, not even a new customer
    assert_unauthorized(api.get(CART_URL, **session.headers()), 2012)
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(customer_token("bob"))), 2012)
    assert Customer.objects.count() == 1

    # and reactivating the tenant restores the session
    storefront.tenant.is_active = True
    with django_capture_on_commit_callbacks(execute=True):
        tenant_save(tenant=storefront.tenant)
    assert api.get(CART_URL, **session.headers()).status_code == 200


def test_deactivated_customer_cannot_sign_in_again(
    api: APIClient,
    customer_token: CustomerTokenSigner,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a deactivated customer
    session = customer_shopper("alice")
    with django_capture_on_commit_callbacks(execute=True):
        customer_set_active(
            customer=Customer.objects.get(public_id=session.customer_id), is_active=False
        )

    # when a fresh provider token of theirs asks for a context
    answer = api.get(CONTEXT_URL, **bearer_headers(customer_token("alice")))

    # then it is refused, and no other customer is created for them
    assert_unauthorized(answer, 2064)
    assert Customer.objects.count() == 1


def test_reactivated_customer_gets_access_back(
    api: APIClient,
    customer_token: CustomerTokenSigner,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a deactivated customer whose refusal the cache holds
    session = customer_shopper("alice")
    customer = Customer.objects.get(public_id=session.customer_id)
    with django_capture_on_commit_callbacks(execute=True):
        customer_set_active(customer=customer, is_active=False)
    assert_unauthorized(api.get(CART_URL, **session.headers()), 2064)

    # when the customer is reactivated
    with django_capture_on_commit_callbacks(execute=True):
        customer_set_active(customer=customer, is_active=True)

    # then the session works again and new sign-ins find the same customer
    assert api.get(CART_URL, **session.headers()).status_code == 200
    assert api.get(PROFILE_URL, **session.headers()).status_code == 200
    again = customer_session(api, customer_token("alice"))
    assert again.customer_id == session.customer_id
    assert Customer.objects.count() == 1


def test_disabled_provider_ends_its_customers_sessions_at_once(
    api: APIClient,
    storefront: Storefront,
    static_provider: StaticKeyProvider,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer whose session works
    session = customer_shopper("alice")
    assert api.get(CART_URL, **session.headers()).status_code == 200
    name = static_provider.provider.name

    # when the provider is disabled
    with django_capture_on_commit_callbacks(execute=True):
        call_command("idp_disable", tenant=storefront.tenant.slug, name=name, stdout=StringIO())

    # then its tokens are no longer trusted, for the cart or for a new context
    assert_unauthorized(api.get(CART_URL, **session.headers()), 2060)
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(session.token)), 2060)

    # when it is enabled again
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "idp_disable", "--enable", tenant=storefront.tenant.slug, name=name, stdout=StringIO()
        )

    # then the session works again
    assert api.get(CART_URL, **session.headers()).status_code == 200


def test_disabled_provider_is_refused_by_a_process_that_still_holds_its_settings(
    api: APIClient,
    storefront: Storefront,
    static_provider: StaticKeyProvider,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    # given a customer whose session works, and the provider's settings loaded in this process
    session = customer_shopper("alice")
    assert api.get(CART_URL, **session.headers()).status_code == 200

    # when the provider is disabled in another process: the shared cache learns of it, this
    # process's registry of providers is not reloaded yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command(
            "idp_disable",
            tenant=storefront.tenant.slug,
            name=static_provider.provider.name,
            stdout=StringIO(),
        )
    assert providers_clear_cache in callbacks
    for callback in callbacks:
        if callback is not providers_clear_cache:
            callback()

    # then the revocation alone ends the session and refuses new contexts
    assert_unauthorized(api.get(CART_URL, **session.headers()), 2012)
    assert_unauthorized(api.get(CONTEXT_URL, **bearer_headers(session.token)), 2012)


# --- No identity queries with the context -----------------------------------------------------


def test_cart_read_with_the_context_makes_no_identity_query(
    api: APIClient,
    storefront: Storefront,
    customer_shopper: CustomerShopper,
    products: dict[str, Any],
) -> None:
    # given a customer with a cart, and the revocation cache warm from an earlier request
    session = customer_shopper("alice")
    for sku in ("MUG", "TEE"):
        added = api.post(
            CART_URL + "/lines", {"sku": sku, "quantity": 1}, format="json", **session.headers()
        )
        assert added.status_code == 200, added.content
    assert api.get(CART_URL, **session.headers()).status_code == 200
    owner = CartOwner(tenant_id=storefront.tenant.pk, customer_id=session.customer_id)
    with CaptureQueriesContext(connection) as cart_read:
        cart_get(owner=owner)

    # when the customer reads the cart
    with CaptureQueriesContext(connection) as request:
        answer = api.get(CART_URL, **session.headers())

    # then the request made exactly the cart read's queries: none for identity or revocation
    assert answer.status_code == 200
    assert len(answer.json()["lines"]) == 2
    assert [query["sql"] for query in request.captured_queries] == [
        query["sql"] for query in cart_read.captured_queries
    ]
    assert identity_queries(request) == []
    assert not any("identity_revocation" in query["sql"] for query in request.captured_queries)


def test_empty_cart_read_with_the_context_makes_no_customer_query(
    api: APIClient, customer_shopper: CustomerShopper
) -> None:
    # given a customer without a cart, the caches warm
    session = customer_shopper("alice")
    assert api.get(CART_URL, **session.headers()).status_code == 200

    # when the cart is read
    with CaptureQueriesContext(connection) as request:
        answer = api.get(CART_URL, **session.headers())

    # then no query touched customers, identities or providers
    assert answer.status_code == 200
    assert identity_queries(request) == []
