"""Operators' admin. Changes go through the services, so that caches and revocations follow.

X-Auth-Keys are created by an action on storefront apps and shown once in the message area;
API keys are added on their own page and shown once the same way.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from core.admin import NoDeleteAdmin, ReadOnlyInline, RecordAdmin
from core.errors import DomainError
from core.origins import origins_validate
from identity.credentials.keyring import signing_key_rotate
from identity.credentials.refresh import grant_revoke
from identity.customers.accounts import (
    customer_set_group,
    customer_sign_out_everywhere,
    local_account_create,
    local_account_password_problems,
    local_account_set_password,
)
from identity.customers.customers import customer_set_active
from identity.customers.providers import (
    provider_save,
    provider_settings_check,
    provider_settings_complete,
)
from identity.models import (
    ApiKey,
    ApiSurface,
    Customer,
    CustomerIdentity,
    GrantType,
    IdentityProvider,
    LocalAccount,
    OAuthClient,
    OAuthClientSecret,
    OAuthGrant,
    SigningKey,
    StorefrontApp,
    StorefrontKey,
    Supplier,
    Tenant,
)
from identity.oauth.clients import (
    client_create,
    client_save,
    client_secret_rotate,
    client_set_active,
)
from identity.scopes import API_KEY_SCOPE_DESCRIPTIONS, DESCRIPTIONS
from identity.tenancy.api_keys import (
    DEFAULT_ROLL_OVERLAP_SECONDS,
    CreatedApiKey,
    api_key_create,
    api_key_revoke,
    api_key_roll,
)
from identity.tenancy.storefront import (
    storefront_app_save,
    storefront_key_create,
    storefront_key_revoke,
    tenant_save,
)
from identity.tenancy.suppliers import supplier_create, supplier_save


@admin.register(Tenant)
class TenantAdmin(NoDeleteAdmin):
    list_display = (
        "slug",
        "name",
        "currency",
        "is_active",
        "supplier_api_enabled",
        "payment_api_enabled",
        "reseller_api_enabled",
        "created_at",
    )
    search_fields = ("slug", "name")

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        tenant_save(tenant=obj)


class StorefrontKeyInline(ReadOnlyInline):
    model = StorefrontKey
    fields = ("prefix", "created_at", "revoked_at")
    readonly_fields = fields


class OriginsField(forms.Field):
    """Allowed origins, one a line, checked as the model checks them (each error names the
    line's value) and stored as the model's JSON list."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(str(origin) for origin in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]

    def validate(self, value: Any) -> None:
        super().validate(value)
        origins_validate(value)


class StorefrontAppForm(forms.ModelForm):
    allowed_cors_origins = OriginsField(
        required=False,
        label="Allowed CORS origins",
        help_text=(
            "One a line, exactly as the browser sends it: scheme://host[:port], no path or "
            "trailing slash, e.g. https://shop.example or http://127.0.0.1:8001."
        ),
    )

    class Meta:
        model = StorefrontApp
        fields = (
            "tenant",
            "name",
            "anonymous_token_lifetime_seconds",
            "anonymous_id_policy",
            "cart_merge_policy",
            "allowed_cors_origins",
            "is_active",
        )


@admin.register(StorefrontApp)
class StorefrontAppAdmin(NoDeleteAdmin):
    form = StorefrontAppForm
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

    # Set by ``clean`` when the algorithms were left to the provider's advertised ones.
    algorithms_advertised: list[str] | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        candidate = copy.copy(self.instance)
        for name, value in cleaned.items():
            setattr(candidate, name, value)
        try:
            if "algorithms" in cleaned and not cleaned["algorithms"]:
                provider_settings_complete(candidate)
                cleaned["algorithms"] = self.algorithms_advertised = candidate.algorithms
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
        if form.algorithms_advertised:
            self.message_user(
                request,
                f"Allowed algorithms, as the provider advertises them: "
                f"{', '.join(form.algorithms_advertised)}.",
            )


class CustomerIdentityInline(ReadOnlyInline):
    model = CustomerIdentity
    fields = ("provider", "subject", "created_at")
    readonly_fields = fields


@admin.register(Customer)
class CustomerAdmin(NoDeleteAdmin):
    """Customers are created by their first sign-in, or with a local account (see Local
    accounts); operators look them up, set their group, sign them out and deactivate them."""

    list_display = ("public_id", "email", "name", "tenant", "is_active", "last_seen_at")
    list_filter = ("tenant", "is_active")
    search_fields = ("=public_id", "email", "name", "identities__subject")
    fields = (
        "public_id",
        "tenant",
        "email",
        "email_verified",
        "name",
        "group",
        "is_active",
        "carts",
        "created_at",
        "last_seen_at",
    )
    readonly_fields = tuple(field for field in fields if field != "group")
    inlines = [CustomerIdentityInline]
    actions = ["sign_out_everywhere", "deactivate", "reactivate"]

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        customer_set_group(customer=obj, group=obj.group)

    @admin.action(description="Sign out everywhere: end all their tokens and contexts now")
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        for customer in queryset:
            customer_sign_out_everywhere(customer=customer)
        self.message_user(request, f"Signed out {queryset.count()} customer(s) everywhere.")

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


class _AdminRefused(Exception):
    """A service refused the form; the message says why."""


class ServiceFormAdmin(NoDeleteAdmin):
    """Saves through a service that may refuse: the change is rolled back and the form shown
    again, with the service's reason in the message area."""

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except _AdminRefused:
            return HttpResponseRedirect(request.get_full_path())


class LocalAccountForm(forms.ModelForm):
    """Adding: the customer and account from e-mail and password; changing: a new password."""

    name = forms.CharField(max_length=200, required=False)
    group = forms.CharField(max_length=64, required=False)
    new_password = forms.CharField(
        widget=forms.PasswordInput, required=False, strip=False, help_text="Leave empty to keep."
    )

    class Meta:
        model = LocalAccount
        fields = ("tenant", "email")

    def clean(self) -> dict[str, Any]:
        """The password validators' messages on the password field, the form kept as typed
        (the service checks again when it saves)."""
        super().clean()
        cleaned = self.cleaned_data
        password = cleaned.get("new_password") or ""
        adding = self.instance.pk is None
        if adding and not password:
            self.add_error("new_password", "A new account needs a password.")
        elif password:
            email = cleaned.get("email") or self.instance.email or ""
            name = cleaned.get("name") or (
                self.instance.customer.name if not adding and self.instance.customer_id else ""
            )
            for message in local_account_password_problems(
                password=password, email=email, name=name
            ):
                self.add_error("new_password", message)
        return cleaned


@admin.register(LocalAccount)
class LocalAccountAdmin(ServiceFormAdmin):
    """Customer accounts with a password at this API (the password grant)."""

    form = LocalAccountForm
    list_display = ("email", "tenant", "customer", "password_changed_at", "created_at")
    list_filter = ("tenant",)
    search_fields = ("email", "=customer__public_id")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("tenant", "email", "name", "group", "new_password")
        return ("tenant", "email", "customer", "password_changed_at", "new_password")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("tenant", "email", "customer", "password_changed_at")

    def save_model(self, request: HttpRequest, obj: LocalAccount, form: Any, change: bool) -> None:
        password = form.cleaned_data.get("new_password") or ""
        try:
            if not change:
                customer = local_account_create(
                    tenant=form.cleaned_data["tenant"],
                    email=form.cleaned_data["email"],
                    password=password,
                    name=form.cleaned_data.get("name") or "",
                    group=form.cleaned_data.get("group") or "",
                )
                obj.pk = customer.local_account.pk
            elif password:
                local_account_set_password(account=obj, password=password)
        except ValidationError as error:
            self.message_user(request, f"Not saved: {' '.join(error.messages)}", messages.ERROR)
            raise _AdminRefused from None
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.detail}", messages.ERROR)
            raise _AdminRefused from None


class OAuthClientSecretInline(ReadOnlyInline):
    model = OAuthClientSecret
    fields = ("prefix", "created_at", "expires_at")
    readonly_fields = fields


class OAuthClientForm(forms.ModelForm):
    grant_types = forms.MultipleChoiceField(
        choices=GrantType.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope}: {text}") for scope, text in DESCRIPTIONS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = OAuthClient
        fields = (
            "tenant",
            "name",
            "kind",
            "storefront_app",
            "grant_types",
            "scopes",
            "may_act_for_any_customer",
            "access_token_lifetime_seconds",
            "refresh_token_idle_seconds",
            "refresh_token_absolute_seconds",
            "is_active",
        )


@admin.register(OAuthClient)
class OAuthClientAdmin(ServiceFormAdmin):
    """Token service clients. A new confidential client's secret is shown once, in the
    message area; so is a rotated one."""

    form = OAuthClientForm
    list_display = ("name", "client_id", "kind", "tenant", "is_active", "created_at")
    list_filter = ("tenant", "kind", "is_active")
    search_fields = ("name", "=client_id")
    inlines = [OAuthClientSecretInline]
    actions = ["rotate_secret", "deactivate", "activate"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Its tokens, grants and secrets were made for this tenant and kind.
        return ("client_id",) if obj is None else ("client_id", "tenant", "kind")

    def save_model(self, request: HttpRequest, obj: OAuthClient, form: Any, change: bool) -> None:
        try:
            if change:
                client_save(client=obj)
                return
            created = client_create(
                tenant=obj.tenant,
                kind=obj.kind,
                name=obj.name,
                grant_types=list(obj.grant_types),
                scopes=list(obj.scopes),
                storefront_app=obj.storefront_app,
                may_act_for_any_customer=obj.may_act_for_any_customer,
            )
        except ValidationError as error:
            self.message_user(request, f"Not saved: {'; '.join(error.messages)}", messages.ERROR)
            raise _AdminRefused from None
        obj.pk, obj.client_id = created.client.pk, created.client.client_id
        if created.client_secret:
            self.message_user(
                request,
                f"client_id={obj.client_id} client_secret={created.client_secret} "
                "— copy the secret now, it is not shown again.",
                messages.WARNING,
            )

    @admin.action(description="Rotate the secret (the current one stays valid for a day)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[OAuthClient]) -> None:
        for client in queryset:
            if not client.is_confidential:
                self.message_user(request, f"{client}: public, no secret.", messages.ERROR)
                continue
            secret = client_secret_rotate(client=client)
            self.message_user(
                request,
                f"{client}: client_secret={secret} — copy it now, it is not shown again.",
                messages.WARNING,
            )

    @admin.action(description="Deactivate (its tokens stop at once)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[OAuthClient]) -> None:
        for client in queryset:
            client_set_active(client=client, is_active=False)
        self.message_user(request, f"Deactivated {len(queryset)} client(s).")

    @admin.action(description="Activate")
    def activate(self, request: HttpRequest, queryset: QuerySet[OAuthClient]) -> None:
        for client in queryset:
            client_set_active(client=client, is_active=True)
        self.message_user(request, f"Activated {len(queryset)} client(s).")


@admin.register(OAuthGrant)
class OAuthGrantAdmin(RecordAdmin):
    """Sign-ins of the token service (refresh-token families)."""

    list_display = ("public_id", "customer", "client", "created_at", "expires_at", "revoked_at")
    list_filter = ("tenant", "client", "revoked_at")
    search_fields = ("=public_id", "=customer__public_id", "customer__email")
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only, but the changelist must allow the revoke action.
        return obj is None and super().has_view_permission(request, obj)

    @admin.action(description="Revoke: end these sign-ins and their tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[OAuthGrant]) -> None:
        for grant in queryset.filter(revoked_at__isnull=True):
            grant_revoke(
                grant_id=grant.pk,
                public_id=str(grant.public_id),
                expires_at=grant.expires_at,
                reason="revoked by an operator",
            )
        self.message_user(request, "Revoked the selected sign-ins.")


@admin.register(Supplier)
class SupplierAdmin(ServiceFormAdmin):
    """Suppliers, whose API keys manage their own products. Deactivating one stops its keys."""

    list_display = ("code", "name", "tenant", "is_active", "created_at")
    list_filter = ("tenant", "is_active")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("tenant", "code")

    def save_model(self, request: HttpRequest, obj: Supplier, form: Any, change: bool) -> None:
        if change:
            supplier_save(supplier=obj)
            return
        try:
            created = supplier_create(tenant=obj.tenant, code=obj.code, name=obj.name)
        except DomainError as error:
            self.message_user(request, f"Not saved: {error}", messages.ERROR)
            raise _AdminRefused from None
        obj.pk = created.pk


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope}: {text}") for scope, text in API_KEY_SCOPE_DESCRIPTIONS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Scopes of the key's surface; none chosen: all of them.",
    )
    expires_in_seconds = forms.IntegerField(
        required=False, min_value=1, help_text="Empty: the key does not expire."
    )

    class Meta:
        model = ApiKey
        fields = ("tenant", "surface", "supplier", "provider", "name", "scopes")


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceFormAdmin):
    """API keys of the Supplier and Payment APIs. A new key is shown once, in the message area;
    so is a rolled one. Keys are revoked or expire, never deleted or edited."""

    form = ApiKeyForm
    list_display = (
        "lookup_id",
        "tenant",
        "surface",
        "party",
        "name",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("tenant", "surface", "revoked_at")
    search_fields = ("=lookup_id", "name", "provider", "supplier__code")
    actions = ["roll", "roll_now", "revoke"]
    _shown = (
        "lookup_id",
        "tenant",
        "surface",
        "supplier",
        "provider",
        "name",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "rolled_from",
    )

    @admin.display(description="acts for")
    def party(self, api_key: ApiKey) -> str:
        return api_key.supplier.code if api_key.supplier else api_key.provider

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return (
                "tenant",
                "surface",
                "supplier",
                "provider",
                "name",
                "scopes",
                "expires_in_seconds",
            )
        return self._shown

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self._shown

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return  # nothing of a key is edited; roll or revoke it
        try:
            created = api_key_create(
                tenant=obj.tenant,
                surface=obj.surface,
                supplier=obj.supplier if obj.surface == ApiSurface.SUPPLIER else None,
                provider=obj.provider,
                scopes=form.cleaned_data["scopes"],
                name=obj.name,
                expires_in_seconds=form.cleaned_data.get("expires_in_seconds"),
            )
        except DomainError as error:
            self.message_user(request, f"Not saved: {error}", messages.ERROR)
            raise _AdminRefused from None
        obj.pk = created.api_key.pk
        self._show_once(request, created)

    def _show_once(self, request: HttpRequest, created: CreatedApiKey, prefix: str = "") -> None:
        self.message_user(
            request,
            f"{prefix}key_id={created.api_key.lookup_id} API key: {created.value} "
            "— copy it now, it is not shown again.",
            messages.WARNING,
        )

    def _roll(self, request: HttpRequest, queryset: QuerySet[ApiKey], overlap: int) -> None:
        for api_key in queryset:
            try:
                created = api_key_roll(api_key=api_key, old_key_expires_in_seconds=overlap)
            except DomainError as error:
                self.message_user(request, f"{api_key.lookup_id}: {error}", messages.ERROR)
                continue
            self._show_once(request, created, prefix=f"{api_key.lookup_id} rolled: ")

    @admin.action(description="Roll: a new key; the old one works 24 hours more")
    def roll(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        self._roll(request, queryset, DEFAULT_ROLL_OVERLAP_SECONDS)

    @admin.action(description="Roll: a new key; the old one stops now")
    def roll_now(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        self._roll(request, queryset, 0)

    @admin.action(description="Revoke the selected keys (at once, everywhere)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = sum(api_key_revoke(api_key=api_key) for api_key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s).")
