"""The tenant, for apps that know tenants only by id (carts, catalog, orders).

The model is the one ``settings.TENANT_MODEL`` names, as Django names its user model in
``AUTH_USER_MODEL``: the composition root says which app holds tenants, and the apps that refer
to them (foreign keys to ``settings.TENANT_MODEL``, the reads below) import no app of the
project for it.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import models


def tenant_model() -> type[models.Model]:
    return apps.get_model(settings.TENANT_MODEL, require_ready=False)


def tenant_table() -> str:
    """The tenant model's table, for SQL written once (the cart read)."""
    return tenant_model()._meta.db_table


def tenant_currency(*, tenant_id: int) -> str:
    """The tenant's ISO 4217 currency; empty for an unknown tenant."""
    currency = (
        tenant_model()
        ._default_manager.filter(pk=tenant_id)
        .values_list("currency", flat=True)
        .first()
    )
    return currency or ""
