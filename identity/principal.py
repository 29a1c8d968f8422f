"""The one thing a view knows about its caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    CLIENT = "client"
    PARTNER = "partner"
    API_KEY = "api_key"


SHOPPER_KINDS = frozenset({PrincipalKind.ANONYMOUS, PrincipalKind.CUSTOMER})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, built by an authentication class and never by a view.

    ``subject_id`` is the anonymous id for anonymous shoppers, the customer's public id for
    customers, the storefront app's id for a client calling with its X-Auth-Key.
    ``provider_id`` names the external identity provider a customer signed in with.
    For an API key (kind ``api_key``) ``subject_id`` is the key's id, ``api_surface`` the
    surface it is for (``supplier``, ``payment``) and ``party_id`` who it acts for: the
    supplier's id, or the payment provider's name.
    """

    tenant_id: int
    kind: PrincipalKind
    subject_id: str
    client_id: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str = ""
    expires_at: int = 0
    provider_id: str = ""
    # The token service's client the token was issued to (empty for X-Auth-Key and provider
    # tokens).
    oauth_client_id: str = ""
    api_surface: str = ""
    party_id: str = ""

    # Django and DRF ask these of ``request.user``: a Principal is an authenticated caller,
    # never Django's anonymous user, whatever its kind.
    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    @property
    def is_anonymous_shopper(self) -> bool:
        """A shopper who has not signed in (kind ``anonymous``): an anonymous id owns its cart."""
        return self.kind is PrincipalKind.ANONYMOUS

    @property
    def is_api_key(self) -> bool:
        return self.kind is PrincipalKind.API_KEY

    @property
    def is_shopper(self) -> bool:
        return self.kind in SHOPPER_KINDS
