"""Helpers of the provider token tests (test_provider_token_shapes, test_provider_tokens,
test_provider_token_claims): providers on loopback and the tokens they sign."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.test import APIClient

from identity.models import Customer, CustomerIdentity, IdentityProvider
from tests.conftest import Storefront
from tests.identity.jwks_server import (
    JwksServer,
    assert_customer_context,
    context_get,
)

ServerFactory = Callable[..., JwksServer]


def assert_signed_in_once(
    api: APIClient,
    storefront: Storefront,
    provider: IdentityProvider,
    *,
    first_token: str,
    second_token: str,
    subject: str,
) -> Customer:
    """Two tokens of one user: one customer, linked by (provider, subject), found again."""
    customer_id = assert_customer_context(context_get(api, first_token, storefront.key))
    again = assert_customer_context(context_get(api, second_token, storefront.key))
    assert again == customer_id
    identity = CustomerIdentity.objects.select_related("customer").get()
    assert identity.provider_id == provider.pk
    assert identity.subject == subject
    assert str(identity.customer.public_id) == customer_id
    assert identity.customer.tenant_id == storefront.tenant.pk
    assert Customer.objects.count() == 1
    return identity.customer


def assert_nobody_signed_in() -> None:
    assert Customer.objects.count() == 0
    assert CustomerIdentity.objects.count() == 0
