"""Who may call: tenants, storefront apps with their X-Auth-Keys, our signing keys, revocations.

Secrets are never stored: an X-Auth-Key is kept as a lookup prefix and a SHA-256 hash (the key
holds 256 random bits, so a slow hash adds nothing). Signing keys are kept, encrypted, because
every API process must sign and verify with them; see README "Signing keys".
"""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from core.models import TimestampedModel
from core.origins import origins_validate
from core.policies import CartMergePolicy

# Lifetimes the token kinds, the keyring and the refresh families agree on (seconds).
# An anonymous token lives this long unless its storefront app says otherwise.
ANONYMOUS_TOKEN_DEFAULT_SECONDS = 7200
# No access token the token service issues for a customer lives longer.
ACCESS_TOKEN_MAX_SECONDS = 7200


class Tenant(TimestampedModel):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    currency = models.CharField(
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code such as EUR.")],
    )
    is_active = models.BooleanField(default=True)
    # The server-to-server surfaces called with API keys: on by default, switched off per
    # tenant (its keys of that surface then get 403).
    supplier_api_enabled = models.BooleanField(
        default=True, help_text="Suppliers' API keys may call /supplier/."
    )
    payment_api_enabled = models.BooleanField(
        default=True, help_text="Payment providers' API keys may call /payment/."
    )
    # The Reseller surface, the same way: its partners then get 403.
    reseller_api_enabled = models.BooleanField(
        default=True, help_text="Reseller partners may generate tokens and call /reseller/."
    )

    def __str__(self) -> str:
        return self.slug


class AnonymousIdPolicy(models.TextChoices):
    PROOF = "proof", "Keep a requested id only if unknown or proven by its previous token"
    COMPAT = "compat", "Keep any requested id that is not retired (compatibility)"


class StorefrontApp(TimestampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="storefront_apps")
    name = models.CharField(max_length=200)
    anonymous_token_lifetime_seconds = models.PositiveIntegerField(
        default=ANONYMOUS_TOKEN_DEFAULT_SECONDS,
        validators=[MinValueValidator(60), MaxValueValidator(86400)],
    )
    anonymous_id_policy = models.CharField(
        max_length=16, choices=AnonymousIdPolicy.choices, default=AnonymousIdPolicy.PROOF
    )
    cart_merge_policy = models.CharField(
        max_length=16, choices=CartMergePolicy.choices, default=CartMergePolicy.MAX
    )
    allowed_cors_origins = models.JSONField(
        default=list,
        blank=True,
        validators=[origins_validate],
        help_text=(
            "Origins allowed to call the shopper API from a browser, exactly as the browser "
            "sends them: scheme://host[:port], no path or trailing slash, "
            'e.g. ["https://shop.example"].'
        ),
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="storefront_app_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.name}"


class StorefrontKey(TimestampedModel):
    """An X-Auth-Key. Several may be live at once so that a storefront can rotate its key."""

    app = models.ForeignKey(StorefrontApp, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({'revoked' if self.revoked_at else 'live'})"


class SigningKeyPurpose(models.TextChoices):
    """What a key signs. ``access``: the token service's access tokens (customer and client
    tokens), which third parties verify against /.well-known/jwks.json; ``anonymous``:
    anonymous shopper tokens; ``context``: customer contexts; ``reseller``: partners' tokens
    of the Reseller surface. Only the API verifies the last three."""

    ACCESS = "access", "Access tokens of the token service"
    ANONYMOUS = "anonymous", "Anonymous shopper tokens"
    CONTEXT = "context", "Customer contexts"
    RESELLER = "reseller", "Reseller tokens (Generate Token)"


class SigningKey(TimestampedModel):
    """A key of the keyring. One active key per purpose signs; older ones only verify.

    ``verify_until`` is set when a key is retired: the latest moment a token it signed can still
    be presented (its lifetime plus, for anonymous tokens, the renewal window).
    """

    kid = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=16, choices=SigningKeyPurpose.choices)
    algorithm = models.CharField(max_length=16)
    # The HMAC secret (base64url) or PEM private key, encrypted (identity.credentials.encryption).
    # Never shown in the admin.
    encrypted_secret = models.TextField()
    is_active = models.BooleanField(default=True)
    verify_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"], condition=Q(is_active=True), name="one_active_key_per_purpose"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose}:{self.kid}"


class Revocation(models.Model):
    """The source of truth for revoked subjects (apps, customers, anonymous ids, tokens).

    The shared cache mirrors it so that a request checks revocation without a query.
    """

    key = models.CharField(max_length=200, unique=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Set: only tokens issued at or before this moment are revoked ("sign out everywhere").
    not_before = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key


class ProviderFlavor(models.TextChoices):
    """Token shapes that need more than the generic OIDC checks (see identity/providers.py)."""

    GENERIC = "generic", "Generic OIDC / trusted system"
    ENTRA_ID = "entra_id", "Microsoft Entra ID (v2)"
    OKTA = "okta", "Okta (custom authorization server)"
    AUTH0 = "auth0", "Auth0"
    COGNITO = "cognito", "Amazon Cognito"
    KEYCLOAK = "keycloak", "Keycloak"


PROVIDER_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


def _default_algorithms() -> list[str]:
    """The default of migration 0003; providers now default to what they advertise."""
    return ["RS256"]


class IdentityProvider(TimestampedModel):
    """An external identity provider whose access tokens a tenant's shoppers sign in with.

    Exactly one key source: an OIDC discovery URL, a JWKS URI, or a static public key (PEM) of a
    trusted system that signs its own JWTs. The issuer is matched exactly (a trailing slash
    counts), so it is unique per tenant.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="identity_providers")
    name = models.CharField(max_length=100)
    flavor = models.CharField(
        max_length=16, choices=ProviderFlavor.choices, default=ProviderFlavor.GENERIC
    )
    issuer = models.CharField(max_length=500)
    audiences = models.JSONField(
        default=list,
        help_text='Accepted "aud" values (Cognito: app client ids), e.g. ["api://shop"].',
    )
    discovery_url = models.URLField(max_length=500, blank=True)
    jwks_uri = models.URLField(max_length=500, blank=True)
    public_key_pem = models.TextField(blank=True)
    algorithms = models.JSONField(
        default=list,
        blank=True,
        help_text="Allowed signing algorithms (asymmetric only); empty: the ones the provider "
        "advertises in its discovery document or JWKS (or its public key's), chosen on save.",
    )
    subject_claim = models.CharField(
        max_length=64,
        blank=True,
        help_text="Claim identifying the user; empty: the flavor's default.",
    )
    leeway_seconds = models.PositiveSmallIntegerField(
        default=30, validators=[MaxValueValidator(60)]
    )
    refuse_id_tokens = models.BooleanField(default=True)
    is_enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "issuer"], name="provider_issuer_unique"),
            models.UniqueConstraint(fields=["tenant", "name"], name="provider_name_unique"),
            models.CheckConstraint(
                condition=Q(leeway_seconds__lte=60), name="provider_leeway_at_most_60s"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.name}"


class Customer(TimestampedModel):
    """A shopper known by name. Linked to providers only through ``CustomerIdentity``; the
    e-mail is profile data, never a key."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="customers")
    email = models.EmailField(blank=True)
    email_verified = models.BooleanField(default=False)
    name = models.CharField(max_length=200, blank=True)
    group = models.CharField(
        max_length=64, blank=True, help_text="Customer group, e.g. for prices or third-party apps."
    )
    is_active = models.BooleanField(default=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.email or str(self.public_id)


class CustomerIdentity(TimestampedModel):
    """``(provider, subject)`` → customer: the only way a provider's token finds a customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    provider = models.ForeignKey(
        IdentityProvider, on_delete=models.PROTECT, related_name="identities"
    )
    subject = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "subject"], name="one_customer_per_provider_subject"
            ),
        ]
        verbose_name_plural = "customer identities"

    def __str__(self) -> str:
        return f"{self.provider.name}:{self.subject}"


class OAuthClientKind(models.TextChoices):
    """Who holds the client. A sales channel is public (its id ships in browser or app code);
    the others are confidential and authenticate with a secret. A reseller is a partner
    account: its client_credentials token is a reseller token, good only on /reseller/."""

    SALES_CHANNEL = "sales_channel", "Sales channel (public, no secret)"
    INTEGRATION = "integration", "Integration (server to server)"
    WEBAPP = "webapp", "Web application (server side)"
    THIRD_PARTY_APP = "third_party_app", "Third-party app"
    RESELLER = "reseller", "Reseller partner (the Reseller surface, /reseller/)"


class GrantType(models.TextChoices):
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    PASSWORD = "password", "Password (local customer accounts)"
    REFRESH_TOKEN = "refresh_token", "Refresh token"
    TOKEN_EXCHANGE = (
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "Token exchange (on behalf of)",
    )


class OAuthClient(TimestampedModel):
    """A client of the token service (/oauth/token). Its settings are checked by
    ``identity.oauth.clients.client_save``; a sales channel needs its storefront app, whose
    anonymous-id and cart-merge policies its guest tokens follow."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="oauth_clients")
    client_id = models.CharField(max_length=64, unique=True, editable=False)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=OAuthClientKind.choices)
    storefront_app = models.ForeignKey(
        StorefrontApp,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="oauth_clients",
        help_text="Sales channels only: the storefront app whose guest carts they start.",
    )
    grant_types = models.JSONField(default=list, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    may_act_for_any_customer = models.BooleanField(
        default=False,
        help_text="Token exchange: may name any customer of the tenant by id as the subject "
        "(otherwise only a subject token it holds).",
    )
    access_token_lifetime_seconds = models.PositiveIntegerField(
        default=900,
        validators=[MinValueValidator(60), MaxValueValidator(ACCESS_TOKEN_MAX_SECONDS)],
    )
    refresh_token_idle_seconds = models.PositiveIntegerField(
        default=14 * 86400,
        validators=[MinValueValidator(300), MaxValueValidator(90 * 86400)],
        help_text="A refresh token unused for this long expires.",
    )
    refresh_token_absolute_seconds = models.PositiveIntegerField(
        default=90 * 86400,
        validators=[MinValueValidator(300), MaxValueValidator(365 * 86400)],
        help_text="No refresh token of a sign-in outlives this, however often it is rotated.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="oauth_client_name_unique"),
        ]
        verbose_name = "OAuth client"

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def is_confidential(self) -> bool:
        return self.kind != OAuthClientKind.SALES_CHANNEL


class OAuthClientSecret(models.Model):
    """A client secret: a lookup prefix and a SHA-256 hash. Several are live during a rotation.

    A third-party app's secret is also kept, encrypted (``encrypted_signing_secret``, see
    identity.credentials.encryption): it is the HMAC key of the current-customer tokens the API
    signs for that app, so the API must hold it, as it holds its own signing keys. Other kinds'
    secrets are never stored.
    """

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="secrets")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    encrypted_signing_secret = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "OAuth client secret"

    def __str__(self) -> str:
        return f"{self.prefix}…"


class LocalAccount(TimestampedModel):
    """A customer's e-mail and password at this API (the password grant).

    The e-mail here is a sign-in name, unique per tenant and stored lower-cased; the customer's
    profile e-mail stays profile data. Customers of external providers have no local account.
    """

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="local_account"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="local_accounts")
    email = models.EmailField()
    password = models.CharField(max_length=256)
    password_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "email"], name="local_account_email_unique"),
        ]

    def __str__(self) -> str:
        return self.email


class OAuthGrant(models.Model):
    """One sign-in through the token service: the family of its refresh tokens.

    Access tokens carry its id (``grant``), so revoking the grant ends them too.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="oauth_grants")
    client = models.ForeignKey(OAuthClient, on_delete=models.PROTECT, related_name="grants")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="oauth_grants")
    scope = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "OAuth grant"
        indexes = [models.Index(fields=["customer", "revoked_at"], name="grant_customer_idx")]

    def __str__(self) -> str:
        return str(self.public_id)


class RefreshToken(models.Model):
    """A refresh token, stored as a lookup prefix and a hash; used once, then replaced.

    The answer its use returned is kept for the reuse grace (``replay_answer``), encrypted with
    a key derived from the token itself, which is stored nowhere: only its holder can have that
    answer again (identity.credentials.refresh).
    """

    grant = models.ForeignKey(OAuthGrant, on_delete=models.CASCADE, related_name="refresh_tokens")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    replay_answer = models.TextField(blank=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}…"


class Supplier(TimestampedModel):
    """A supplier of a tenant: it manages its own products and their stock through the Supplier
    API, with API keys issued for it. Products name it through ``settings.SUPPLIER_MODEL``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="suppliers")
    code = models.SlugField(max_length=64, help_text="The supplier's code within the tenant.")
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="supplier_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug}/{self.code}"


class ApiSurface(models.TextChoices):
    """The server-to-server surfaces an API key is for."""

    SUPPLIER = "supplier", "Supplier API (/supplier/)"
    PAYMENT = "payment", "Payment API (/payment/)"


class ApiKey(models.Model):
    """A long-lived key of a server-to-server integration, sent as ``ApiKey: <key>``.

    Stored as its public lookup id and a SHA-256 of the whole key (which holds 190 random bits,
    so a slow hash adds nothing); the key itself is shown once. A key acts for one party: a
    supplier (surface ``supplier``) or a payment provider, by name (surface ``payment``).
    ``expires_at`` is an optional expiry, also set on the old key when a key is rolled;
    ``last_used_at`` is written at most once a minute.
    """

    lookup_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="api_keys")
    surface = models.CharField(max_length=16, choices=ApiSurface.choices)
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="api_keys"
    )
    provider = models.CharField(
        max_length=100, blank=True, help_text="The payment provider's name (payment keys)."
    )
    name = models.CharField(max_length=200, blank=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The key this one replaced when it was rolled.
    rolled_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(surface="supplier", supplier__isnull=False, provider="")
                    | Q(surface="payment", supplier__isnull=True) & ~Q(provider="")
                ),
                name="api_key_party_of_its_surface",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lookup_id} ({self.surface})"
