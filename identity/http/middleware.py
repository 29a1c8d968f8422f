"""API keys outside their surfaces: refused on every other endpoint, before any view runs.

An ``ApiKey`` header is the credential of ``/supplier/`` and ``/payment/`` only. Anywhere else
(shopper, OAuth, reseller, admin, documentation) a request carrying one is refused: 403
``api_key_not_accepted`` when it is a live key (valid, but not for this endpoint), 401
``api_key_invalid`` with ``WWW-Authenticate: ApiKey`` when it is not one. Nothing else the
request carries is looked at.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.problems import problem_response
from identity import errors
from identity.http.authentication import API_KEY_HEADER, REALM, api_key_refusal_log
from identity.tenancy.api_keys import ApiKeyRefused, api_key_resolve

API_KEY_SURFACE_PREFIXES = ("/supplier/", "/payment/")


class ApiKeyElsewhereMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw_key = request.META.get(API_KEY_HEADER)
        if raw_key is None or request.path.startswith(API_KEY_SURFACE_PREFIXES):
            return self.get_response(request)
        try:
            info = api_key_resolve(raw_key)
        except ApiKeyRefused as refused:
            api_key_refusal_log(request, reason=refused.reason, key_id=refused.key_id)
            response = problem_response(errors.API_KEY_INVALID)
            response["WWW-Authenticate"] = f'ApiKey realm="{REALM}"'
            return response
        api_key_refusal_log(request, reason="not accepted on this endpoint", key_id=info.key_id)
        return problem_response(errors.API_KEY_NOT_ACCEPTED)
