"""DRF permission classes: which kind of caller, holding which scope, an endpoint admits.
A missing credential is a 401; a valid one of the wrong kind or scope, a 403."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.problems import ProblemAuthenticationFailed, ProblemPermissionDenied
from identity import errors
from identity.http.authentication import principal_of
from identity.models import ApiSurface
from identity.principal import Principal
from identity.tenancy.api_keys import ApiKeyInfo


class HasStorefrontKey(BasePermission):
    """The storefront itself, by its X-Auth-Key: 401 ``auth_key_missing`` without one."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.user, Principal):
            raise ProblemAuthenticationFailed(errors.AUTH_KEY_MISSING)
        return True


class IsShopper(BasePermission):
    """An anonymous or customer shopper; any other valid caller gets 403."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, Principal):
            return False  # DRF answers 401 with WWW-Authenticate
        if not user.is_shopper:
            raise ProblemPermissionDenied(errors.SHOPPER_REQUIRED)
        return True


class HasScope(BasePermission):
    """The principal holds the scope the view names: ``required_scope``, a scope or a mapping
    of HTTP method to scope. 403 ``insufficient_scope`` otherwise (see identity/scopes.py)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, Principal):
            return False
        required = getattr(view, "required_scope", "")
        if isinstance(required, dict):
            method = "GET" if request.method == "HEAD" else request.method or ""
            if method not in required and method != "OPTIONS":
                # A method the view names no scope for is refused, not let through.
                raise ProblemPermissionDenied(errors.INSUFFICIENT_SCOPE)
            required = required.get(method, "")
        if not required or required in user.scopes:
            return True
        raise ProblemPermissionDenied(errors.INSUFFICIENT_SCOPE)


class IsCustomer(IsShopper):
    """A signed-in customer; an anonymous shopper gets 403."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if principal_of(request).is_anonymous_shopper:
            raise ProblemPermissionDenied(errors.CUSTOMER_REQUIRED)
        return True


class _ApiKeySurface(BasePermission):
    """An API key of this surface, of a tenant that has the surface on, holding the scope the
    view names (``required_scope``: a scope, or a mapping of HTTP method to scope); 403 with
    its own code for each of these."""

    surface: str

    def has_permission(self, request: Request, view: Any) -> bool:
        user, info = request.user, request.auth
        if not isinstance(user, Principal) or not isinstance(info, ApiKeyInfo):
            return False  # ApiKeyAuthentication refuses before this; DRF would answer 401
        if user.api_surface != self.surface:
            raise ProblemPermissionDenied(errors.API_KEY_WRONG_SURFACE)
        if not info.surface_enabled:
            raise ProblemPermissionDenied(errors.API_KEY_SURFACE_DISABLED)
        required = getattr(view, "required_scope", "")
        if isinstance(required, dict):
            method = "GET" if request.method == "HEAD" else request.method or ""
            required = required.get(method, "")
        if not required or required not in user.scopes:
            raise ProblemPermissionDenied(errors.API_KEY_SCOPE_MISSING)
        return True


class IsSupplierKey(_ApiKeySurface):
    surface = ApiSurface.SUPPLIER


class IsPaymentKey(_ApiKeySurface):
    surface = ApiSurface.PAYMENT
