"""Customers and their provider identities.

A provider's token finds its customer only through ``(provider, subject)``; the first valid
token of a new pair creates the customer. E-mail addresses are profile data copied from the
token, never used to find or link a customer: a provider that lets a user claim any e-mail must
not open someone else's account.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError
from identity import errors
from identity.credentials.revocation import (
    customer_revocation_key,
    revocation_add,
    revocation_remove,
)
from identity.customers.providers import (
    ProviderIdentity,
)
from identity.models import Customer, CustomerIdentity

LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def storable_text(value: Any) -> str | None:
    """``value`` if it is text a database can store (UTF-8, no NUL), else None."""
    if not isinstance(value, str) or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can carry
        return None
    return value


def _profile(claims: dict[str, Any]) -> dict[str, Any]:
    email = storable_text(claims.get("email"))
    try:
        if email is None or len(email) > 254:
            raise ValidationError("not an e-mail")
        validate_email(email)
    except (ValidationError, UnicodeError):
        email = ""
    name = storable_text(claims.get("name"))
    if name is None:
        parts = [storable_text(claims.get(claim)) for claim in ("given_name", "family_name")]
        name = " ".join(part for part in parts if part)
    return {
        "email": email,
        "email_verified": bool(email) and claims.get("email_verified") is True,
        "name": name[:200],
    }


def customer_get(*, customer_id: str) -> Customer | None:
    """An active customer by public id."""
    return Customer.objects.filter(public_id=customer_id, is_active=True).first()


def customer_sign_in(*, identity: ProviderIdentity) -> str:
    """The public id of this provider identity's customer, created on first sight; the profile
    claims and the last-seen time refreshed.

    The answer is cached for ``LAST_SEEN_RESOLUTION`` as long as the token's profile claims are
    the same, so that a storefront minting contexts costs no query; whether the customer is
    still active is the revocation check's to say (``customer_set_active`` revokes at once).
    Raises a 401 ``DomainError`` for a deactivated customer.
    """
    profile = _profile(identity.claims)
    fingerprint = hashlib.sha256(json.dumps(profile, sort_keys=True).encode()).hexdigest()
    cache_key = (
        "sign-in:"
        + hashlib.sha256(f"{identity.provider.id}:{identity.subject}".encode()).hexdigest()
    )
    cached = cache.get(cache_key)
    if cached is not None and cached[1] == fingerprint:
        return str(cached[0])
    customer = _customer_sign_in_database(identity, profile)
    customer_id = str(customer.public_id)
    cache.set(cache_key, (customer_id, fingerprint), LAST_SEEN_RESOLUTION.total_seconds())
    return customer_id


def _customer_sign_in_database(identity: ProviderIdentity, profile: dict[str, Any]) -> Customer:
    provider = identity.provider
    link = (
        CustomerIdentity.objects.select_related("customer")
        .filter(provider_id=provider.id, subject=identity.subject)
        .first()
    )
    if link is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    tenant_id=provider.tenant_id, last_seen_at=timezone.now(), **profile
                )
                CustomerIdentity.objects.create(
                    customer=customer, provider_id=provider.id, subject=identity.subject
                )
                return customer
        except IntegrityError:
            # The same first token arrived twice at once; the other request created it.
            link = CustomerIdentity.objects.select_related("customer").get(
                provider_id=provider.id, subject=identity.subject
            )
    customer = link.customer
    if not customer.is_active:
        raise DomainError(errors.CUSTOMER_DEACTIVATED)
    now = timezone.now()
    changes = {key: value for key, value in profile.items() if getattr(customer, key) != value}
    if customer.last_seen_at is None or now - customer.last_seen_at > LAST_SEEN_RESOLUTION:
        changes["last_seen_at"] = now
    if changes:
        Customer.objects.filter(pk=customer.pk).update(**changes, updated_at=now)
        for key, value in changes.items():
            setattr(customer, key, value)
    return customer


def customer_set_active(*, customer: Customer, is_active: bool) -> Customer:
    """Deactivating ends every token and context of the customer on their next use."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(
            is_active=is_active, updated_at=timezone.now()
        )
        key = customer_revocation_key(str(customer.public_id))
        if is_active:
            revocation_remove(key=key)
        else:
            revocation_add(key=key, reason="customer deactivated")
    customer.is_active = is_active
    return customer
