"""Generate Token, the Reseller surface's token endpoint: ``POST /reseller/token``.

The answer is the token service's client_credentials grant for the partner, in the surface's
own JSON; its errors are problem+json like every endpoint of the surfaces. No refresh token:
the partner calls Generate Token again before ``expiresIn`` runs out, or on its first 401.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.bodies import Body, BodyField
from core.errors import DomainError
from core.fields import ClosedSerializer
from core.http import NO_STORE
from core.openapi import problems
from core.problems import ProblemAuthenticationFailed
from identity.http.oauth_apis import CLIENT_AUTHENTICATION, REALM
from identity.http.throttles import OAuthTokenAddressThrottle
from identity.oauth.grants import IssuedTokens
from identity.oauth.reseller import reseller_token_generate

RESELLER_TOKEN = Body(
    "ResellerToken",
    {
        "tokenType": BodyField(serializers.CharField(), lambda issued: "Bearer"),
        "accessToken": BodyField(
            serializers.CharField(help_text="The reseller token (a JWT)."),
            lambda issued: issued.access_token,
        ),
        "expiresIn": BodyField(
            serializers.IntegerField(help_text="Seconds until it expires."),
            lambda issued: issued.expires_in,
        ),
        "refreshToken": BodyField(
            serializers.CharField(help_text="Always empty: call Generate Token again."),
            lambda issued: "",
        ),
    },
)


class ResellerTokenApi(APIView):
    """POST /reseller/token: Generate Token."""

    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    throttle_classes = [OAuthTokenAddressThrottle]

    class InputSerializer(ClosedSerializer):
        """The partner's credentials, unless sent by HTTP Basic."""

        unknown_field_message = "Not a field of Generate Token."

        clientId = serializers.CharField(required=False, max_length=64)
        clientSecret = serializers.CharField(required=False, max_length=200, trim_whitespace=False)

    def get_authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{REALM}"'

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Refusals too: nothing about a partner's credentials is ever cached.
        response = super().finalize_response(request, response, *args, **kwargs)
        for header, value in NO_STORE.items():
            response[header] = value
        return response

    @extend_schema(
        operation_id="reseller_token_generate",
        request=InputSerializer,
        responses={
            200: OpenApiResponse(RESELLER_TOKEN.schema, description="The reseller token."),
            **problems(
                _400="Invalid body, or credentials sent both by HTTP Basic and in the body.",
                _401="Unknown or inactive partner, or a wrong or expired secret.",
                _413="Body too large.",
                _429="Too many requests from this address (see Retry-After).",
            ),
        },
        auth=CLIENT_AUTHENTICATION,
        tags=["authentication"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            issued: IssuedTokens = reseller_token_generate(
                authorization=request.META.get("HTTP_AUTHORIZATION"),
                client_id=data.get("clientId"),
                client_secret=data.get("clientSecret"),
            )
        except DomainError as error:
            if error.code.status == 401:
                raise ProblemAuthenticationFailed(error.code) from None
            raise
        return Response(RESELLER_TOKEN.render(issued))
