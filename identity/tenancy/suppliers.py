"""Suppliers of a tenant: the party of supplier API keys, whose products the Supplier API
manages (catalog names them through ``settings.SUPPLIER_MODEL``)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from core.errors import DomainError
from identity import errors
from identity.models import ApiKey, Supplier, Tenant
from identity.tenancy.api_keys import api_key_cache_refresh_on_commit


def supplier_create(*, tenant: Tenant, code: str, name: str) -> Supplier:
    """A new supplier of ``tenant``; 409 (2108) when the code is taken."""
    supplier = Supplier(tenant=tenant, code=code, name=name or code)
    supplier.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            supplier.save()
    except IntegrityError:
        raise DomainError(
            errors.SUPPLIER_CODE_TAKEN, f"Tenant {tenant.slug} already has a supplier {code!r}."
        ) from None
    return supplier


def supplier_save(*, supplier: Supplier) -> Supplier:
    """Save a supplier's settings; deactivating it stops its keys at once."""
    supplier.full_clean()
    with transaction.atomic():
        supplier.save()
        api_key_cache_refresh_on_commit(
            ApiKey.objects.filter(supplier=supplier).values_list("lookup_id", flat=True)
        )
    return supplier
