"""Operators' admin. Changes go through the services, so that caches and revocations follow.

X-Auth-Keys are created by an action on storefront apps and shown once in the message area.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from commerceapi.admin import NoDeleteAdmin, ReadOnlyInline
from identity.customers import customer_set_active, provider_save
from identity.keyring import signing_key_rotate
from identity.models import (
    Customer,
    CustomerIdentity,
    IdentityProvider,
    SigningKey,
    StorefrontApp,
    StorefrontKey,
    Tenant,
)
from identity.providers import provider_settings_check
from identity.storefront import (
    storefront_app_save,
    storefront_key_create,
    storefront_key_revoke,
    tenant_save,
)


@admin.register(Tenant)
class TenantAdmin(NoDeleteAdmin):
    list_display = ("slug", "name", "currency", "is_active", "created_at")
    search_fields = ("slug", "name")

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        tenant_save(tenant=obj)


class StorefrontKeyInline(ReadOnlyInline):
    model = StorefrontKey
    fields = ("prefix", "created_at", "revoked_at")
    readonly_fields = fields


@admin.register(StorefrontApp)
class StorefrontAppAdmin(NoDeleteAdmin):
    list_display = (
        "name",
        "tenant",
        "anonymous_id_policy",
        "anonymous_token_lifetime_seconds",
        "is_active",
    )
    list_filter = ("tenant", "is_active", "anonymous_id_policy")
    readonly_fields = ("public_id",)
    inlines = [StorefrontKeyInline]
    actions = ["create_key"]

    def save_model(self, request: HttpRequest, obj: StorefrontApp, form: Any, change: bool) -> None:
        storefront_app_save(app=obj)

    @admin.action(description="Create a new X-Auth-Key (shown once)")
    def create_key(self, request: HttpRequest, queryset: QuerySet[StorefrontApp]) -> None:
        for app in queryset:
            created = storefront_key_create(app=app)
            self.message_user(
                request,
                f"New X-Auth-Key for {app}: {created.value} — copy it now, it is not stored.",
                messages.WARNING,
            )


@admin.register(StorefrontKey)
class StorefrontKeyAdmin(NoDeleteAdmin):
    list_display = ("prefix", "app", "created_at", "revoked_at")
    list_filter = ("app__tenant",)
    search_fields = ("prefix",)
    readonly_fields = ("app", "prefix", "created_at", "revoked_at")
    exclude = ("secret_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[StorefrontKey]) -> None:
        for key in queryset:
            storefront_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


@admin.register(SigningKey)
class SigningKeyAdmin(NoDeleteAdmin):
    list_display = ("kid", "purpose", "algorithm", "is_active", "created_at", "verify_until")
    list_filter = ("purpose", "is_active")
    fields = ("kid", "purpose", "algorithm", "is_active", "created_at", "verify_until")
    readonly_fields = fields
    actions = ["rotate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Rotate: a new active key for the purposes of the selected keys")
    def rotate(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        for purpose in sorted(set(queryset.values_list("purpose", flat=True))):
            new_key = signing_key_rotate(purpose=purpose)
            self.message_user(request, f"{purpose}: new active key {new_key.kid}.")


class IdentityProviderForm(forms.ModelForm):
    discovery_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    jwks_uri = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = IdentityProvider
        fields = [
            "tenant",
            "name",
            "flavor",
            "issuer",
            "audiences",
            "discovery_url",
            "jwks_uri",
            "public_key_pem",
            "algorithms",
            "subject_claim",
            "leeway_seconds",
            "refuse_id_tokens",
            "is_enabled",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        candidate = copy.copy(self.instance)
        for name, value in cleaned.items():
            setattr(candidate, name, value)
        try:
            provider_settings_check(candidate)
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


@admin.register(IdentityProvider)
class IdentityProviderAdmin(NoDeleteAdmin):
    form = IdentityProviderForm
    list_display = ("name", "tenant", "flavor", "issuer", "is_enabled")
    list_filter = ("tenant", "flavor", "is_enabled")
    search_fields = ("name", "issuer")
    readonly_fields = ("public_id", "created_at", "updated_at")

    def save_model(
        self, request: HttpRequest, obj: IdentityProvider, form: Any, change: bool
    ) -> None:
        provider_save(provider=obj)


class CustomerIdentityInline(ReadOnlyInline):
    model = CustomerIdentity
    fields = ("provider", "subject", "created_at")
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(NoDeleteAdmin):
    """Customers are created by their first sign-in; operators look them up and deactivate."""

    list_display = ("public_id", "email", "name", "tenant", "is_active", "last_seen_at")
    list_filter = ("tenant", "is_active")
    search_fields = ("=public_id", "email", "name", "identities__subject")
    fields = (
        "public_id",
        "tenant",
        "email",
        "email_verified",
        "name",
        "is_active",
        "carts",
        "created_at",
        "last_seen_at",
    )
    readonly_fields = fields
    inlines = [CustomerIdentityInline]
    actions = ["deactivate", "reactivate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Carts")
    def carts(self, customer: Customer) -> str:
        url = reverse("admin:carts_cart_changelist") + f"?customer_id={customer.public_id}"
        return format_html('<a href="{}">carts of this customer</a>', url)

    @admin.action(description="Deactivate: end all their tokens and contexts now")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        for customer in queryset:
            customer_set_active(customer=customer, is_active=False)
        self.message_user(request, f"Deactivated {queryset.count()} customer(s).")

    @admin.action(description="Reactivate")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        for customer in queryset:
            customer_set_active(customer=customer, is_active=True)
        self.message_user(request, f"Reactivated {queryset.count()} customer(s).")
