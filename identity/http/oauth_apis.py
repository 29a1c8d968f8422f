"""The OAuth endpoints: /oauth/token, /oauth/revoke, /oauth/introspect, and the documents under
/.well-known/. Requests are forms (application/x-www-form-urlencoded); answers are RFC 6749
JSON, never cached (``Cache-Control: no-store``), errors included.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import QueryDict
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.bodies import OMITTED, Body, BodyField
from core.errors import DomainError
from core.http import NO_STORE
from core.parsers import StrictFormParser
from core.problems import security_logger
from identity.http.throttles import (
    OAuthPasswordAddressThrottle,
    OAuthPasswordClientThrottle,
    OAuthTokenAddressThrottle,
)
from identity.models import GrantType, OAuthClient
from identity.oauth.clients import client_authenticate, client_credentials_read
from identity.oauth.discovery import authorization_server_metadata, jwks
from identity.oauth.errors import OAuthError, OAuthErrorCode, invalid_request, oauth_error_of
from identity.oauth.grants import token_grant
from identity.oauth.introspection import token_introspect, token_revoke

PUBLIC_DOCUMENT = {"Cache-Control": "public, max-age=300"}
REALM = "commerceapi"
_MAX_PARAMETER_LENGTH = 16384

OAuthErrorOutput = inline_serializer(
    name="OAuthError",
    fields={
        "error": serializers.ChoiceField(choices=[code.value for code in OAuthErrorCode]),
        "error_description": serializers.CharField(),
    },
)
# A confidential client sends its secret by HTTP Basic (client_secret_basic) or in the form
# (client_secret_post); a public client only its client_id in the form.
# (drf-spectacular takes security requirements here, though its annotation names strings.)
CLIENT_AUTHENTICATION: Any = [{"clientBasic": []}, {}]
_CLIENT_FIELDS = {
    "client_id": serializers.CharField(required=False, help_text="Unless sent by HTTP Basic."),
    "client_secret": serializers.CharField(
        required=False, help_text="Confidential clients, unless sent by HTTP Basic."
    ),
}


def oauth_error_response(error: OAuthError) -> Response:
    headers = dict(NO_STORE)
    if error.status == 401:
        headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return Response(error.body(), status=error.status, headers=headers)


class OAuthApi(APIView):
    """A form in, RFC 6749 JSON out; the client authenticated from the header or the form."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    parser_classes = [StrictFormParser]
    throttle_classes = [OAuthTokenAddressThrottle]
    # The parameters the endpoint reads; the client's are read by every endpoint.
    parameters: tuple[str, ...] = ("client_id", "client_secret")

    def form(self, request: Request) -> Mapping[str, str]:
        """The endpoint's parameters, each at most once (RFC 6749 section 3.1). Parameters it
        does not know are ignored, repeated or not, and never named in an answer."""
        data = request.data
        form: dict[str, str] = {}
        for name in self.parameters:
            values = data.getlist(name) if isinstance(data, QueryDict) else []
            if not values:
                continue
            if len(values) != 1:
                raise invalid_request(f"The {name} parameter is repeated.")
            if len(values[0]) > _MAX_PARAMETER_LENGTH:
                raise invalid_request(f"The {name} parameter is too long.")
            form[name] = values[0]
        return form

    def client(
        self, request: Request, form: Mapping[str, str], *, require_confidential: bool = False
    ) -> OAuthClient:
        credentials = client_credentials_read(
            authorization=request.META.get("HTTP_AUTHORIZATION"),
            form_client_id=form.get("client_id"),
            form_client_secret=form.get("client_secret"),
        )
        return client_authenticate(credentials, require_confidential=require_confidential)

    def handle_exception(self, exc: Exception) -> Response:
        error = _as_oauth_error(exc)
        if error is None:
            return super().handle_exception(exc)
        request = self.request
        security_logger.warning(
            "refused %s %s: %s %s",
            request.method,
            request.path,
            error.status,
            error.error.value,
            extra={"status": error.status, "oauth_error": error.error.value},
        )
        response = oauth_error_response(error)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            response["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        for header, value in NO_STORE.items():
            response[header] = value
        return response


def _as_oauth_error(exc: Exception) -> OAuthError | None:
    if isinstance(exc, OAuthError):
        return exc
    if isinstance(exc, DomainError):
        return oauth_error_of(exc)
    if isinstance(exc, exceptions.Throttled):
        return OAuthError(OAuthErrorCode.SLOW_DOWN, "Too many requests; see Retry-After.")
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return oauth_error_of(
            invalid_request("Send the parameters as application/x-www-form-urlencoded.")
        )
    if isinstance(exc, (exceptions.ParseError, SuspiciousOperation)):
        return oauth_error_of(invalid_request("The request body could not be read."))
    return None


_TOKEN_ERRORS = {
    400: OpenApiResponse(OAuthErrorOutput, "invalid_request, invalid_grant, invalid_scope, ..."),
    401: OpenApiResponse(OAuthErrorOutput, "invalid_client (with WWW-Authenticate: Basic)."),
    429: OpenApiResponse(OAuthErrorOutput, "slow_down: too many requests (see Retry-After)."),
}


def _unless_empty(value: str) -> str:
    return value or OMITTED


# RFC 6749 section 5.1 (and RFC 8693 section 2.2.1), rendered from the grant's IssuedTokens.
TOKEN_RESPONSE = Body(
    "TokenResponse",
    {
        "access_token": BodyField(serializers.CharField(), lambda issued: issued.access_token),
        "token_type": BodyField(serializers.CharField(), lambda issued: "Bearer"),
        "expires_in": BodyField(serializers.IntegerField(), lambda issued: issued.expires_in),
        "scope": BodyField(serializers.CharField(), lambda issued: issued.scope),
        "refresh_token": BodyField(
            serializers.CharField(required=False),
            lambda issued: _unless_empty(issued.refresh_token),
        ),
        "issued_token_type": BodyField(
            serializers.CharField(required=False),
            lambda issued: _unless_empty(issued.issued_token_type),
        ),
    },
)


class TokenApi(OAuthApi):
    """POST /oauth/token — RFC 6749 section 3.2, RFC 8693."""

    parameters = (
        *OAuthApi.parameters,
        "grant_type",
        "scope",
        "username",
        "password",
        "refresh_token",
        "subject_token",
        "subject_token_type",
        "requested_token_type",
        "actor_token",
        "actor_token_type",
        "audience",
        "resource",
        "custom_claims",
    )

    @extend_schema(
        operation_id="oauth_token",
        request={
            "application/x-www-form-urlencoded": inline_serializer(
                name="TokenRequest",
                fields={
                    "grant_type": serializers.ChoiceField(choices=GrantType.values),
                    **_CLIENT_FIELDS,
                    "scope": serializers.CharField(required=False),
                    "username": serializers.CharField(required=False, help_text="password"),
                    "password": serializers.CharField(required=False, help_text="password"),
                    "refresh_token": serializers.CharField(required=False),
                    "subject_token": serializers.CharField(required=False),
                    "subject_token_type": serializers.CharField(required=False),
                    "custom_claims": serializers.CharField(
                        required=False, help_text="Token exchange: a JSON object."
                    ),
                },
            )
        },
        responses={
            200: TOKEN_RESPONSE.schema,
            **_TOKEN_ERRORS,
        },
        auth=CLIENT_AUTHENTICATION,
        tags=["oauth"],
    )
    def post(self, request: Request) -> Response:
        form = self.form(request)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise invalid_request("The grant_type parameter is required.")
        client = self.client(request, form)
        if grant_type == GrantType.PASSWORD:
            throttle = (
                OAuthPasswordClientThrottle(client.client_id)
                if client.is_confidential
                else OAuthPasswordAddressThrottle()
            )
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())
        issued = token_grant(client=client, grant_type=grant_type, form=form)
        return Response(TOKEN_RESPONSE.render(issued))


_TOKEN_PARAMETER = inline_serializer(
    name="TokenParameter",
    fields={
        "token": serializers.CharField(),
        "token_type_hint": serializers.CharField(required=False),
        **_CLIENT_FIELDS,
    },
)


class RevokeApi(OAuthApi):
    """POST /oauth/revoke — RFC 7009. 200 whether or not the token was known."""

    parameters = (*OAuthApi.parameters, "token", "token_type_hint")

    @extend_schema(
        operation_id="oauth_revoke",
        request={"application/x-www-form-urlencoded": _TOKEN_PARAMETER},
        responses={
            200: OpenApiResponse(description="Revoked, or not a token of this client."),
            **_TOKEN_ERRORS,
        },
        auth=CLIENT_AUTHENTICATION,
        tags=["oauth"],
    )
    def post(self, request: Request) -> Response:
        form = self.form(request)
        client = self.client(request, form)
        raw_token = form.get("token")
        if not raw_token:
            raise invalid_request("The token parameter is required.")
        token_revoke(client=client, raw_token=raw_token)
        return Response(status=200)


class IntrospectApi(OAuthApi):
    """POST /oauth/introspect — RFC 7662, for confidential clients."""

    parameters = (*OAuthApi.parameters, "token", "token_type_hint")

    @extend_schema(
        operation_id="oauth_introspect",
        request={"application/x-www-form-urlencoded": _TOKEN_PARAMETER},
        responses={
            200: inline_serializer(
                name="Introspection",
                fields={
                    "active": serializers.BooleanField(),
                    "scope": serializers.CharField(required=False),
                    "client_id": serializers.CharField(required=False),
                    "sub": serializers.CharField(required=False),
                    "exp": serializers.IntegerField(required=False),
                    "iat": serializers.IntegerField(required=False),
                    "token_type": serializers.CharField(required=False),
                    "kind": serializers.CharField(required=False),
                },
            ),
            **_TOKEN_ERRORS,
        },
        auth=CLIENT_AUTHENTICATION,
        tags=["oauth"],
    )
    def post(self, request: Request) -> Response:
        form = self.form(request)
        client = self.client(request, form, require_confidential=True)
        raw_token = form.get("token")
        if not raw_token:
            raise invalid_request("The token parameter is required.")
        return Response(token_introspect(client=client, raw_token=raw_token))


class JwksApi(APIView):
    """GET /.well-known/jwks.json — the keyring's public keys (asymmetric keys only)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(operation_id="jwks", auth=[], tags=["oauth"], responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(jwks(), headers=PUBLIC_DOCUMENT)


class MetadataApi(APIView):
    """GET /.well-known/oauth-authorization-server (RFC 8414), also served as
    /.well-known/openid-configuration for clients that look only there."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(operation_id="oauth_metadata", auth=[], tags=["oauth"], responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(
            authorization_server_metadata(
                issuer=settings.TOKEN_ISSUER, base_url=settings.PUBLIC_BASE_URL
            ),
            headers=PUBLIC_DOCUMENT,
        )


class OpenIdConfigurationApi(MetadataApi):
    """GET /.well-known/openid-configuration — the same document as RFC 8414's."""

    @extend_schema(
        operation_id="openid_configuration", auth=[], tags=["oauth"], responses={200: dict}
    )
    def get(self, request: Request) -> Response:
        return super().get(request)
