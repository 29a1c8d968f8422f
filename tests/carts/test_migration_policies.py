"""Who may migrate which anonymous id (SECURITY.md, "migrate" and "carts" rows).

The caller must be a customer and must prove the anonymous session with its token (or, only
where the storefront app that started the cart has the ``compat`` policy, send a bare id). Every
refusal is asserted as the whole problem document and against a snapshot of every table a
migration may write: a refused migration changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from carts.models import Cart, CartMigration
from catalog.models import Product
from identity.credentials.kinds import AnonymousAccessToken
from identity.credentials.tokens import token_encode
from tests.carts.migration_fixtures import (
    ANONYMOUS_TOKEN_INVALID,
    ANONYMOUS_TOKEN_REQUIRED,
    MIGRATE_URL,
    anonymous_cart,
    cart_line,
    cart_quantities,
    customer_cart,
    customer_cart_body,
    lines_add,
    migrate,
    migration_body,
    proof_of,
    report_line,
    storefront_policy,
)
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    assert_problem,
    make_storefront,
    problem,
    tables_snapshot,
    validation_problem,
)
from tests.factories import ProductFactory, StorefrontAppFactory, TenantFactory
from tests.identity.provider_fixtures import (
    CustomerSession,
    CustomerShopper,
)
from tests.identity.tokens_helpers import assemble, segments

pytestmark = pytest.mark.django_db

Catalog = dict[str, Product]


@pytest.fixture
def alice(customer_shopper: CustomerShopper, api: APIClient, catalog: Catalog) -> CustomerSession:
    """A signed-in customer with a cart of 1 CAP."""
    customer = customer_shopper("auth0|alice")
    lines_add(api, customer, CAP=1)
    return customer


@pytest.fixture
def filled(api: APIClient, shopper: Shopper, catalog: Catalog) -> Shopper:
    """The anonymous shopper's cart holds 2 MUG."""
    lines_add(api, shopper, MUG=2)
    return shopper


def assert_refused_and_unchanged(
    api: APIClient, customer: CustomerSession, body: Any, expected: dict[str, Any]
) -> None:
    before = tables_snapshot()
    answer = migrate(api, customer, body)
    assert_problem(answer, expected)
    assert tables_snapshot() == before


def expired_anonymous_token(storefront: Storefront, anonymous_id: str, seconds_ago: int) -> str:
    """A real anonymous token of ``anonymous_id`` that expired ``seconds_ago``."""
    token = AnonymousAccessToken.issue(
        anonymous_id=anonymous_id,
        tenant_id=storefront.tenant.pk,
        app_id=str(storefront.app.public_id),
        lifetime_seconds=-seconds_ago,
    )
    return token_encode(token)


# --- proof required ---------------------------------------------------------------------------


@pytest.mark.parametrize("token_field", [{}, {"anonymousToken": ""}], ids=["missing", "blank"])
def test_a_bare_anonymous_id_is_refused_under_the_default_policy(
    api: APIClient, filled: Shopper, alice: CustomerSession, token_field: dict[str, str]
) -> None:
    # given an anonymous cart started from a storefront app with the default (proof) policy
    body = {"anonymousId": filled.anonymous_id, **token_field}

    # when a customer sends its id without the session's token
    # then the token is asked for, by field, and nothing changes
    assert_refused_and_unchanged(api, alice, body, ANONYMOUS_TOKEN_REQUIRED)


def test_under_the_compat_policy_a_bare_id_is_enough(
    api: APIClient, storefront: Storefront, shopper: Shopper, alice: CustomerSession
) -> None:
    # given a storefront app with the compat anonymous-id policy, and a cart started from it
    storefront_policy(storefront, anonymous_id="compat")
    lines_add(api, shopper, MUG=2)
    source = anonymous_cart(shopper.anonymous_id)
    assert str(source.storefront_app_id) == str(storefront.app.public_id)
    target = customer_cart(alice.customer_id)

    # when a customer sends the bare anonymous id
    answer = migrate(api, alice, {"anonymousId": shopper.anonymous_id})

    # then the cart is migrated as with a proof
    assert answer.status_code == 200, answer.content
    record = CartMigration.objects.get()
    assert answer.json() == {
        "cart": customer_cart_body(
            target, [cart_line("CAP", 1, "24.00"), cart_line("MUG", 2, "9.50")]
        ),
        "migration": migration_body(
            record,
            repeated=False,
            lines=[report_line("MUG", "moved", anonymous=2, customer=0, quantity=2)],
        ),
    }

    # and a retry of the same call gets the recorded result, not a demand for a token
    again = migrate(api, alice, {"anonymousId": shopper.anonymous_id})
    assert again.status_code == 200, again.content
    assert again.json() == {
        "cart": answer.json()["cart"],
        "migration": {**answer.json()["migration"], "repeated": True},
    }


def test_compat_of_another_app_does_not_open_a_cart_started_under_proof(
    api: APIClient, storefront: Storefront, filled: Shopper, alice: CustomerSession
) -> None:
    # given the tenant's other storefront app has the compat policy, while the anonymous cart
    # was started from the app with the proof policy
    StorefrontAppFactory(tenant=storefront.tenant, anonymous_id_policy="compat")

    # when a customer sends the bare anonymous id
    # then the token is still required
    assert_refused_and_unchanged(
        api, alice, {"anonymousId": filled.anonymous_id}, ANONYMOUS_TOKEN_REQUIRED
    )


# --- proofs that prove nothing ----------------------------------------------------------------


def _tampered_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = "A" if signature[10] != "A" else "B"
    return f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}"


def _payload_edited_to(token: str, anonymous_id: str) -> str:
    header, claims, signature = segments(token)
    return assemble(header, {**claims, "jti": anonymous_id, "sub": anonymous_id}, signature)


def _unsigned(token: str, anonymous_id: str) -> str:
    header, claims, _ = segments(token)
    return assemble(
        {"alg": "none", "kid": header["kid"], "typ": "at+jwt"},
        {**claims, "jti": anonymous_id, "sub": anonymous_id},
        "",
    )


ForgedProof = Callable[[APIClient, Storefront, Shopper, Shopper, CustomerSession], str]

FORGED_PROOFS: dict[str, ForgedProof] = {
    "token of another anonymous id": lambda api, sf, victim, other, customer: other.token,
    "token edited to the id": lambda api, sf, victim, other, customer: _payload_edited_to(
        other.token, victim.anonymous_id
    ),
    "token with alg none": lambda api, sf, victim, other, customer: _unsigned(
        other.token, victim.anonymous_id
    ),
    "flipped signature": lambda api, sf, victim, other, customer: _tampered_signature(victim.token),
    "garbage": lambda api, sf, victim, other, customer: "not-a-token",
    "anonymous session's context": lambda api, sf, victim, other, customer: victim.context,
    "customer's context": lambda api, sf, victim, other, customer: customer.context,
    "customer's bearer": lambda api, sf, victim, other, customer: customer.token,
}


@pytest.mark.parametrize("forge", list(FORGED_PROOFS.values()), ids=list(FORGED_PROOFS))
def test_a_token_that_does_not_prove_the_id_is_refused(
    api: APIClient,
    storefront: Storefront,
    filled: Shopper,
    alice: CustomerSession,
    forge: ForgedProof,
) -> None:
    # given another anonymous shopper's cart, and a customer holding only other credentials
    other = anonymous_shopper(api, storefront.key)
    lines_add(api, other, TEE=1)
    proof = forge(api, storefront, filled, other, alice)

    # when the customer presents the victim's anonymous id with that "proof"
    # then it is refused as no proof, and neither cart changes
    assert_refused_and_unchanged(
        api,
        alice,
        {"anonymousId": filled.anonymous_id, "anonymousToken": proof},
        ANONYMOUS_TOKEN_INVALID,
    )
    assert cart_quantities(anonymous_cart(filled.anonymous_id)) == {"MUG": 2}
    assert cart_quantities(customer_cart(alice.customer_id)) == {"CAP": 1}


def test_a_token_of_another_tenant_for_the_same_id_is_refused(
    api: APIClient, other_storefront: Storefront, filled: Shopper, alice: CustomerSession
) -> None:
    # given another tenant's storefront, which hands out a token for the very same anonymous id
    # (unknown in that tenant, so it keeps the requested id)
    foreign = anonymous_shopper(
        api, other_storefront.key, anonymousAuthenticationRequest=filled.anonymous_id
    )
    assert foreign.anonymous_id == filled.anonymous_id

    # when a customer of the first tenant presents that token
    # then it proves nothing here
    assert_refused_and_unchanged(api, alice, proof_of(foreign), ANONYMOUS_TOKEN_INVALID)


def test_an_anonymous_id_of_another_tenant_is_refused_with_or_without_its_token(
    api: APIClient, other_storefront: Storefront, shopper: Shopper, alice: CustomerSession
) -> None:
    # given an anonymous cart in another tenant
    ProductFactory(tenant=other_storefront.tenant, sku="MUG")
    foreign = anonymous_shopper(api, other_storefront.key)
    lines_add(api, foreign, MUG=1)

    # when a customer of this tenant presents its id with its token, or bare
    # then neither is accepted and the foreign cart is untouched
    assert_refused_and_unchanged(api, alice, proof_of(foreign), ANONYMOUS_TOKEN_INVALID)
    assert_refused_and_unchanged(
        api, alice, {"anonymousId": foreign.anonymous_id}, ANONYMOUS_TOKEN_REQUIRED
    )
    assert cart_quantities(anonymous_cart(foreign.anonymous_id)) == {"MUG": 1}


def test_under_compat_another_tenants_anonymous_id_is_still_refused(
    api: APIClient, storefront: Storefront, alice: CustomerSession
) -> None:
    # given another tenant's compat storefront and an anonymous cart started there
    elsewhere = make_storefront(tenant=TenantFactory(slug="globex"), anonymous_id_policy="compat")
    ProductFactory(tenant=elsewhere.tenant, sku="MUG")
    foreign = anonymous_shopper(api, elsewhere.key)
    lines_add(api, foreign, MUG=1)

    # when a customer of this tenant sends its bare id
    # then it is not this tenant's to migrate
    assert_refused_and_unchanged(
        api, alice, {"anonymousId": foreign.anonymous_id}, ANONYMOUS_TOKEN_REQUIRED
    )


def test_a_customer_cannot_pass_off_another_customers_cart_as_anonymous(
    api: APIClient,
    storefront: Storefront,
    shopper: Shopper,
    alice: CustomerSession,
    customer_shopper: CustomerShopper,
) -> None:
    # given bob's cart, and a compat storefront that accepts bare ids
    storefront_policy(storefront, anonymous_id="compat")
    bob = customer_shopper("auth0|bob")
    lines_add(api, bob, TEE=2)
    bobs_cart = customer_cart(bob.customer_id)

    # when alice names bob's customer id or cart id as the anonymous id, bare or with her own
    # anonymous session's token
    for anonymous_id in (bob.customer_id, str(bobs_cart.public_id)):
        assert_refused_and_unchanged(
            api, alice, {"anonymousId": anonymous_id}, ANONYMOUS_TOKEN_REQUIRED
        )
        assert_refused_and_unchanged(
            api,
            alice,
            {"anonymousId": anonymous_id, "anonymousToken": shopper.token},
            ANONYMOUS_TOKEN_INVALID,
        )

    # then bob's cart is his as it was
    assert cart_quantities(customer_cart(bob.customer_id)) == {"TEE": 2}
    assert not CartMigration.objects.exists()


# --- expired proofs ---------------------------------------------------------------------------


def test_an_expired_token_within_the_renewal_window_still_proves_the_id(
    api: APIClient, storefront: Storefront, filled: Shopper, alice: CustomerSession
) -> None:
    # given the anonymous session's token expired an hour ago
    expired = expired_anonymous_token(storefront, filled.anonymous_id, seconds_ago=3600)

    # when the customer presents it
    answer = migrate(api, alice, {"anonymousId": filled.anonymous_id, "anonymousToken": expired})

    # then the cart is migrated
    assert answer.status_code == 200, answer.content
    assert answer.json()["migration"]["lines"] == [
        report_line("MUG", "moved", anonymous=2, customer=0, quantity=2)
    ]
    assert cart_quantities(customer_cart(alice.customer_id)) == {"CAP": 1, "MUG": 2}


def test_a_token_expired_beyond_the_renewal_window_is_refused(
    api: APIClient, storefront: Storefront, filled: Shopper, alice: CustomerSession
) -> None:
    # given the anonymous session's token expired a minute longer ago than the renewal window
    expired = expired_anonymous_token(
        storefront,
        filled.anonymous_id,
        seconds_ago=settings.ANONYMOUS_RENEWAL_WINDOW_SECONDS + 60,
    )

    # when the customer presents it
    # then it proves nothing any more
    assert_refused_and_unchanged(
        api,
        alice,
        {"anonymousId": filled.anonymous_id, "anonymousToken": expired},
        ANONYMOUS_TOKEN_INVALID,
    )


# --- callers ----------------------------------------------------------------------------------


def test_an_anonymous_caller_may_not_migrate(
    api: APIClient, storefront: Storefront, filled: Shopper
) -> None:
    # given another anonymous shopper, holding the first one's token
    other = anonymous_shopper(api, storefront.key)
    before = tables_snapshot()

    # when it calls migrate with its own anonymous session
    answer = api.post(MIGRATE_URL, proof_of(filled), format="json", **other.headers())

    # then it is forbidden, and nothing changes
    assert_problem(
        answer,
        problem(
            "customer_required",
            "Customer required",
            403,
            "This endpoint is for signed-in customers; the caller is an anonymous shopper.",
            2042,
        ),
    )
    assert tables_snapshot() == before


def test_a_customer_bearer_without_its_context_is_unauthenticated(
    api: APIClient, filled: Shopper, alice: CustomerSession
) -> None:
    # given a customer's bearer sent without X-Customer-Context
    before = tables_snapshot()

    # when it calls migrate
    answer = api.post(
        MIGRATE_URL, proof_of(filled), format="json", HTTP_AUTHORIZATION=f"Bearer {alice.token}"
    )

    # then it is a 401 asking for the context, and nothing changes
    assert_problem(
        answer,
        problem(
            "customer_context_missing",
            "Customer context required",
            401,
            "Send X-Customer-Context from GET /commerceapi/authentication/customercontext.",
            2030,
        ),
    )
    assert answer["WWW-Authenticate"] == 'Bearer realm="commerceapi"'
    assert tables_snapshot() == before


def test_no_credentials_are_unauthenticated(api: APIClient, filled: Shopper) -> None:
    # given no credentials at all
    before = tables_snapshot()

    # when migrate is called
    answer = api.post(MIGRATE_URL, proof_of(filled), format="json")

    # then it is a 401, and nothing changes
    assert answer.status_code == 401, answer.content
    assert answer.json()["code"] == 2000
    assert answer["WWW-Authenticate"] == 'Bearer realm="commerceapi"'
    assert tables_snapshot() == before


# --- the body ---------------------------------------------------------------------------------


def test_extra_fields_in_the_body_are_ignored(
    api: APIClient,
    storefront: Storefront,
    filled: Shopper,
    alice: CustomerSession,
    customer_shopper: CustomerShopper,
) -> None:
    # given bob, another customer, and another tenant
    bob = customer_shopper("auth0|bob")
    elsewhere = TenantFactory(slug="globex")

    # when alice migrates, adding fields that try to choose the owner, tenant, price, status
    # and policy
    answer = migrate(
        api,
        alice,
        {
            **proof_of(filled),
            "customerId": bob.customer_id,
            "customer": bob.customer_id,
            "tenant": elsewhere.pk,
            "price": "0.01",
            "unitPrice": "0.01",
            "status": "open",
            "policy": "sum",
            "repeated": True,
        },
    )

    # then the migration is alice's, in her tenant, at catalog prices, by the app's policy
    assert answer.status_code == 200, answer.content
    record = CartMigration.objects.get()
    assert answer.json() == {
        "cart": customer_cart_body(
            customer_cart(alice.customer_id),
            [cart_line("CAP", 1, "24.00"), cart_line("MUG", 2, "9.50")],
        ),
        "migration": migration_body(
            record,
            repeated=False,
            lines=[report_line("MUG", "moved", anonymous=2, customer=0, quantity=2)],
        ),
    }
    assert (str(record.customer_id), record.tenant_id, record.policy) == (
        alice.customer_id,
        storefront.tenant.pk,
        "max",
    )
    assert not Cart.objects.filter(customer_id=bob.customer_id).exists()
    assert anonymous_cart(filled.anonymous_id).status == "merged"


@pytest.mark.parametrize(
    ("anonymous_id", "message"),
    [
        ("not-a-uuid", "Must be a valid UUID."),
        (["3f2c1d9e-8a7b-4c6d-9e0f-1a2b3c4d5e6f"], "Must be a valid UUID."),
        (None, "This field may not be null."),
    ],
    ids=["text", "list", "null"],
)
def test_a_malformed_anonymous_id_is_named_in_the_errors(
    api: APIClient, filled: Shopper, alice: CustomerSession, anonymous_id: Any, message: str
) -> None:
    # given a malformed anonymous id
    body = {"anonymousId": anonymous_id, "anonymousToken": filled.token}

    # when a customer sends it
    # then the field is named, and nothing changes
    code = "null" if anonymous_id is None else "invalid"
    assert_refused_and_unchanged(
        api,
        alice,
        body,
        validation_problem(("anonymousId", code, message)),
    )
