"""Customers of an identity provider: created on first sight by (provider, sub), refreshed by
later tokens, never found or linked by e-mail, and their own profile."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from identity.models import Customer, CustomerIdentity
from tests.conftest import Shopper, Storefront, iso
from tests.identity.provider_fixtures import (
    CART_URL,
    CONTEXT_URL,
    PROFILE_URL,
    CustomerShopper,
    CustomerTokenSigner,
    StaticKeyProvider,
    customer_session,
    key_pair_generate,
    static_key_provider_register,
)


def profile_of(customer: Customer) -> dict[str, Any]:
    return {
        "id": str(customer.public_id),
        "email": customer.email,
        "emailVerified": customer.email_verified,
        "name": customer.name,
        "createdAt": iso(customer.created_at),
        "group": "",
        "lastSeenAt": iso(customer.last_seen_at),
    }


# --- First sight and later tokens -------------------------------------------------------------


def test_first_token_of_a_subject_creates_one_customer_and_its_identity(
    api: APIClient, customer_token: CustomerTokenSigner, static_provider: StaticKeyProvider
) -> None:
    # given a token of a subject the API has never seen
    token = customer_token("auth0|alice", email="alice@example.com", email_verified=True)

    # when the storefront asks for the customer context with it
    answer = api.get(CONTEXT_URL, HTTP_AUTHORIZATION=f"Bearer {token}")

    # then one customer exists, linked by (provider, sub), with the token's profile claims
    assert answer.status_code == 200, answer.content
    customer = Customer.objects.get()
    assert answer.json() == {
        "isAnonymous": False,
        "customerContext": answer.json()["customerContext"],
        "customerId": str(customer.public_id),
    }
    assert answer.json()["customerContext"].count(".") == 2
    assert answer["Cache-Control"] == "no-store"
    identity = CustomerIdentity.objects.get()
    assert (identity.customer_id, identity.provider_id, identity.subject) == (
        customer.pk,
        static_provider.provider.pk,
        "auth0|alice",
    )
    assert customer.tenant_id == static_provider.provider.tenant_id
    assert (customer.email, customer.email_verified, customer.name) == (
        "alice@example.com",
        True,
        "",
    )
    assert customer.is_active
    assert customer.last_seen_at is not None
    assert timezone.now() - customer.last_seen_at < timedelta(seconds=30)


def test_later_token_refreshes_the_profile_and_creates_no_other_customer(
    api: APIClient, customer_token: CustomerTokenSigner
) -> None:
    # given a customer created by a first token without a verified e-mail
    first = customer_session(api, customer_token("alice", email="old@example.com", name="Al"))
    customer = Customer.objects.get()
    assert (customer.email, customer.email_verified, customer.name) == (
        "old@example.com",
        False,
        "Al",
    )

    # when a later token of the same subject carries new profile claims
    later = customer_session(
        api,
        customer_token("alice", email="alice@example.com", email_verified=True, name="Alice A."),
    )

    # then the same customer is found and its profile follows the token
    assert later.customer_id == first.customer_id == str(customer.public_id)
    assert Customer.objects.count() == 1
    assert CustomerIdentity.objects.count() == 1
    customer.refresh_from_db()
    assert (customer.email, customer.email_verified, customer.name) == (
        "alice@example.com",
        True,
        "Alice A.",
    )


@pytest.mark.parametrize(
    ("claims", "profile"),
    [
        pytest.param(
            {"email": "a@example.com", "email_verified": True, "name": "Ann"},
            ("a@example.com", True, "Ann"),
            id="verified e-mail and name",
        ),
        pytest.param(
            {"email": "a@example.com", "email_verified": "true"},
            ("a@example.com", False, ""),
            id="verified only when the claim is the boolean true",
        ),
        pytest.param(
            {"email": "not an e-mail", "email_verified": True},
            ("", False, ""),
            id="malformed e-mail dropped and never verified",
        ),
        pytest.param(
            {"email": ["a@example.com"], "name": 42},
            ("", False, ""),
            id="claims of the wrong type ignored",
        ),
        pytest.param(
            {"given_name": "Ann", "family_name": "Lee"},
            ("", False, "Ann Lee"),
            id="name from given and family name",
        ),
        pytest.param({"name": "x" * 300}, ("", False, "x" * 200), id="long name cut"),
    ],
)
def test_profile_claims_are_copied_as_data(
    api: APIClient,
    customer_token: CustomerTokenSigner,
    claims: dict[str, Any],
    profile: tuple[str, bool, str],
) -> None:
    # given a first token with these profile claims
    token = customer_token("ann", **claims)

    # when it signs in
    answer = api.get(CONTEXT_URL, HTTP_AUTHORIZATION=f"Bearer {token}")

    # then the customer's profile holds what is valid of them, and the sign-in succeeded
    assert answer.status_code == 200, answer.content
    customer = Customer.objects.get()
    assert (customer.email, customer.email_verified, customer.name) == profile


def test_signing_in_again_with_the_same_claims_reads_no_customer_row(
    api: APIClient, customer_token: CustomerTokenSigner
) -> None:
    # given a customer who signed in a moment ago
    token = customer_token("alice", email="alice@example.com")
    first = customer_session(api, token)

    # when a context is minted again with the same claims
    with CaptureQueriesContext(connection) as queries:
        again = customer_session(api, token)

    # then the same customer, found without touching the customer tables
    assert again.customer_id == first.customer_id
    assert not [q["sql"] for q in queries if "identity_customer" in q["sql"]]


def test_last_seen_is_written_at_most_once_a_minute(
    api: APIClient, customer_token: CustomerTokenSigner
) -> None:
    # given a customer who signed in a moment ago
    customer_session(api, customer_token("alice"))
    customer = Customer.objects.get()
    first_seen = customer.last_seen_at
    assert first_seen is not None

    # when they sign in again within the minute
    customer_session(api, customer_token("alice"))

    # then last seen is unchanged
    customer.refresh_from_db()
    assert customer.last_seen_at == first_seen

    # when the last sign-in was over a minute ago and they sign in again
    long_ago = timezone.now() - timedelta(minutes=2)
    Customer.objects.filter(pk=customer.pk).update(last_seen_at=long_ago)
    cache.clear()  # a minute on, the cached sign-in has expired too
    customer_session(api, customer_token("alice"))

    # then last seen moves to now
    customer.refresh_from_db()
    assert customer.last_seen_at is not None
    assert customer.last_seen_at > long_ago + timedelta(minutes=1)
    assert timezone.now() - customer.last_seen_at < timedelta(seconds=30)


def test_two_subjects_are_two_customers(
    api: APIClient, customer_token: CustomerTokenSigner
) -> None:
    # when two different subjects sign in
    alice = customer_session(api, customer_token("alice"))
    bob = customer_session(api, customer_token("bob"))

    # then they are two customers, each with its own identity
    assert alice.customer_id != bob.customer_id
    assert Customer.objects.count() == 2
    assert dict(CustomerIdentity.objects.values_list("subject", "customer__public_id")) == {
        "alice": Customer.objects.get(public_id=alice.customer_id).public_id,
        "bob": Customer.objects.get(public_id=bob.customer_id).public_id,
    }


# --- Never by e-mail --------------------------------------------------------------------------


def test_new_subject_with_an_existing_customers_email_gets_a_new_customer_and_no_access(
    api: APIClient,
    customer_token: CustomerTokenSigner,
    customer_shopper: CustomerShopper,
    products: dict[str, Any],
) -> None:
    # given a customer with a verified e-mail and a cart
    victim = customer_shopper("victim-sub", email="alice@example.com", email_verified=True)
    added = api.post(
        "/commerceapi/cart/lines", {"sku": "MUG", "quantity": 2}, format="json", **victim.headers()
    )
    assert added.status_code == 200, added.content
    victim_cart = api.get(CART_URL, **victim.headers()).json()
    victim_customer = Customer.objects.get(public_id=victim.customer_id)
    victim_profile = api.get(PROFILE_URL, **victim.headers()).json()

    # when a token of another subject claims the same, verified, e-mail
    attacker = customer_shopper("attacker-sub", email="alice@example.com", email_verified=True)

    # then it is a new customer, not linked to the first
    assert attacker.customer_id != victim.customer_id
    assert Customer.objects.count() == 2
    assert list(
        CustomerIdentity.objects.filter(customer=victim_customer).values_list("subject", flat=True)
    ) == ["victim-sub"]
    assert (
        CustomerIdentity.objects.get(subject="attacker-sub").customer.public_id
        != victim_customer.public_id
    )

    # and it sees an empty cart of its own and its own profile
    attacker_cart = api.get(CART_URL, **attacker.headers())
    assert attacker_cart.status_code == 200
    assert attacker_cart.json()["id"] is None
    assert attacker_cart.json()["lines"] == []
    attacker_profile = api.get(PROFILE_URL, **attacker.headers()).json()
    assert attacker_profile["id"] == attacker.customer_id
    assert attacker_profile["id"] != victim_profile["id"]

    # and the victim's cart and profile are as before
    assert api.get(CART_URL, **victim.headers()).json() == victim_cart
    assert api.get(PROFILE_URL, **victim.headers()).json() == victim_profile
    victim_customer.refresh_from_db()
    assert victim_customer.is_active


def test_same_subject_at_two_providers_is_two_customers(
    api: APIClient,
    storefront: Storefront,
    static_provider: StaticKeyProvider,
) -> None:
    # given a second provider of the tenant with its own issuer and key
    other = static_key_provider_register(
        tenant=storefront.tenant,
        keys=key_pair_generate(),
        name="partner-login",
        issuer="https://partner.example/oauth2",
    )

    # when the same sub, with the same e-mail, signs in at both
    first = customer_session(api, static_provider.token("1234", email="same@example.com"))
    second = customer_session(api, other.token("1234", email="same@example.com"))

    # then they are two customers, one per provider
    assert first.customer_id != second.customer_id
    assert Customer.objects.count() == 2
    assert sorted(CustomerIdentity.objects.values_list("provider__name", "subject")) == [
        ("partner-login", "1234"),
        ("shop-login", "1234"),
    ]


def test_token_signed_with_another_providers_key_signs_nobody_in(
    api: APIClient, storefront: Storefront, static_provider: StaticKeyProvider
) -> None:
    # given a second provider whose key is not the first provider's
    other = static_key_provider_register(
        tenant=storefront.tenant,
        keys=key_pair_generate(),
        name="partner-login",
        issuer="https://partner.example/oauth2",
    )
    # a token naming the first provider's issuer, signed with the second provider's key
    forged = other.token("alice", iss=static_provider.provider.issuer)

    # when it is presented
    answer = api.get(CONTEXT_URL, HTTP_AUTHORIZATION=f"Bearer {forged}")

    # then it is refused and nobody is created
    assert answer.status_code == 401
    assert answer.json()["code"] == 2010
    assert Customer.objects.count() == 0


# --- The customer's own profile ---------------------------------------------------------------


def test_profile_is_the_callers_own(api: APIClient, customer_shopper: CustomerShopper) -> None:
    # given two signed-in customers
    alice = customer_shopper("alice", email="alice@example.com", email_verified=True, name="Alice")
    customer_shopper("bob", email="bob@example.com", name="Bob")
    customer = Customer.objects.get(public_id=alice.customer_id)

    # when the first reads the profile
    answer = api.get(PROFILE_URL, **alice.headers())

    # then it is exactly hers
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "id": alice.customer_id,
        "email": "alice@example.com",
        "emailVerified": True,
        "name": "Alice",
        "createdAt": iso(customer.created_at),
        "group": "",
        "lastSeenAt": iso(customer.last_seen_at),
    }
    assert answer.json() == profile_of(customer)


def test_profile_of_an_anonymous_shopper_is_forbidden(api: APIClient, shopper: Shopper) -> None:
    # when an anonymous shopper asks for the customer profile
    answer = api.get(PROFILE_URL, **shopper.headers())

    # then the answer is 403 customer required
    assert answer.status_code == 403
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == 2042


def test_profile_without_the_context_is_unauthorized(
    api: APIClient, customer_token: CustomerTokenSigner
) -> None:
    # given a customer's bearer without its context
    token = customer_token("alice")

    # when the profile is asked for
    answer = api.get(PROFILE_URL, HTTP_AUTHORIZATION=f"Bearer {token}")

    # then the answer is 401 context missing, with the Bearer challenge
    assert answer.status_code == 401
    assert answer.json()["code"] == 2030
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_profile_without_credentials_is_unauthorized(
    api: APIClient, storefront: Storefront
) -> None:
    # when the profile is asked for with no bearer at all
    answer = api.get(PROFILE_URL)

    # then the answer is 401 with a challenge
    assert answer.status_code == 401
    assert answer.json()["code"] == 2000
    assert "WWW-Authenticate" in answer
