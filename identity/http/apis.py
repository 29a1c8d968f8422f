"""Shopper session endpoints: the anonymous token and the customer context."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.password_validation import password_validators_help_texts
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.bodies import OMITTED, Body, BodyField, moment
from core.errors import DomainError
from core.http import NO_STORE
from core.openapi import problems
from core.problems import ProblemAuthenticationFailed, ProblemPermissionDenied
from core.throttling import throttles_check
from identity import errors
from identity.customers.accounts import (
    MAX_PASSWORD_LENGTH,
    customer_sign_out_everywhere,
    local_account_create,
    password_minimum_length,
)
from identity.customers.customers import customer_get
from identity.http.authentication import (
    BearerAuthentication,
    ShopperAuthentication,
    StorefrontKeyAuthentication,
    principal_of,
)
from identity.http.openapi import CONTEXT_HEADER
from identity.http.permissions import HasScope, HasStorefrontKey, IsCustomer, IsShopper
from identity.http.throttles import (
    AnonymousTokenAddressThrottle,
    AnonymousTokenKeyThrottle,
    CustomerRegisterAddressThrottle,
)
from identity.models import Customer, Tenant
from identity.oauth.current_customer import current_customer_token, third_party_app_get
from identity.scopes import CUSTOMER_READ, CUSTOMERS_CREATE
from identity.sessions.anonymous import anonymous_token_issue
from identity.sessions.context import customer_context_issue
from identity.tenancy.storefront import StorefrontKeyInfo

ANONYMOUS_TOKEN = Body(
    "AnonymousAuthenticationOutput",
    {
        "tokenType": BodyField(serializers.CharField(), lambda issued: "Bearer"),
        "accessToken": BodyField(serializers.CharField(), lambda issued: issued.access_token),
        "expiresIn": BodyField(serializers.IntegerField(), lambda issued: issued.expires_in),
        "refreshToken": BodyField(serializers.CharField(), lambda issued: ""),
        "anonymousId": BodyField(serializers.UUIDField(), lambda issued: issued.anonymous_id),
    },
)
# Rendered from the principal and the context minted for it.
CUSTOMER_CONTEXT = Body(
    "CustomerContext",
    {
        "isAnonymous": BodyField(
            serializers.BooleanField(), lambda answer: answer[0].is_anonymous_shopper
        ),
        "customerContext": BodyField(serializers.CharField(), lambda answer: answer[1]),
        "customerId": BodyField(
            serializers.CharField(required=False),
            lambda answer: OMITTED if answer[0].is_anonymous_shopper else answer[0].subject_id,
        ),
    },
)
SIGNED_OUT = Body(
    "SignedOut", {"endedSignIns": BodyField(serializers.IntegerField(), lambda ended: ended)}
)


# Security requirements (alternatives), as drf-spectacular takes them for ``auth``, which its
# stubs type as scheme names. The anonymous token: the key always, and to keep an id the
# previous token as the bearer too. The customer context: the bearer, with a provider's token
# the storefront's key too where several tenants trust its issuer.
KEY_AND_OPTIONAL_PROOF: Any = [{"storefrontKey": []}, {"storefrontKey": [], "bearer": []}]
BEARER_AND_OPTIONAL_KEY: Any = [{"bearer": []}, {"bearer": [], "storefrontKey": []}]


class AnonymousIdField(serializers.UUIDField):
    """``anonymousAuthenticationRequest``: a UUID string. Any other value (blank, too long, a
    number, a list...) is one error, ``anonymous_id_invalid``, whatever the check that caught it."""

    max_input_length = 64

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if isinstance(data, str) and len(data) <= self.max_input_length:
            try:
                return uuid.UUID(data)
            except ValueError:
                pass
        raise DomainError.for_field(
            errors.ANONYMOUS_ID_INVALID,
            "anonymousAuthenticationRequest",
            "Must be a UUID such as 3f2c1d9e-8a7b-4c6d-9e0f-1a2b3c4d5e6f.",
        )


class AnonymousAuthenticationApi(APIView):
    """POST /commerceapi/authentication/ — an anonymous shopper token."""

    authentication_classes = [StorefrontKeyAuthentication]
    permission_classes = [HasStorefrontKey]
    throttle_classes = [AnonymousTokenAddressThrottle, AnonymousTokenKeyThrottle]

    class InputSerializer(serializers.Serializer):
        anonymousAuthenticationRequest = AnonymousIdField(
            required=False,
            allow_null=True,
            help_text="The anonymous id to keep (a UUID). See README 'Anonymous ids'.",
        )

    _throttles_checked = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Throttle before the key is looked up, so that a flood of guessed keys is cheap.
        self.check_throttles(request)
        super().initial(request, *args, **kwargs)

    def check_throttles(self, request: Request) -> None:
        if not self._throttles_checked:
            self._throttles_checked = True
            throttles_check(self, request)  # both counters in one round trip

    @extend_schema(
        operation_id="anonymous_token_issue",
        description=(
            "An anonymous shopper token for the storefront's X-Auth-Key. With no body, or no "
            "anonymousAuthenticationRequest, a new anonymous id. To keep an id across expiry "
            "or a reload, send it as anonymousAuthenticationRequest and authorize with the "
            "bearer scheme too: the bearer is that id's previous anonymous token, the proof "
            "(accepted expired, within the renewal window). README, 'Anonymous ids'."
        ),
        request=InputSerializer,
        examples=[
            OpenApiExample("A new shopper", value={}, request_only=True),
            OpenApiExample(
                "Keep an id (its previous token as the bearer)",
                value={"anonymousAuthenticationRequest": "the anonymousId of the previous answer"},
                request_only=True,
            ),
        ],
        responses={
            200: ANONYMOUS_TOKEN.schema,
            **problems(
                _400=("Malformed anonymous id or body.", errors.ANONYMOUS_ID_INVALID),
                _401="X-Auth-Key missing, unknown or revoked.",
                _429="Too many requests from this address or key (see Retry-After).",
            ),
        },
        auth=KEY_AND_OPTIONAL_PROOF,
        tags=["authentication"],
    )
    def post(self, request: Request) -> Response:
        # No body parses to {}; a body must be a JSON object (null and [] are refused).
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        storefront = request.auth
        assert isinstance(storefront, StorefrontKeyInfo)
        issued = anonymous_token_issue(
            storefront=storefront,
            requested_id=serializer.validated_data.get("anonymousAuthenticationRequest"),
            proof_token=_bearer_or_none(request),
        )
        return Response(ANONYMOUS_TOKEN.render(issued), headers=NO_STORE)


def _bearer_or_none(request: Request) -> str | None:
    """The proof bearer, if one is sent: anything else is simply no proof."""
    try:
        return BearerAuthentication.get_raw_token(request.META.get("HTTP_AUTHORIZATION", ""))
    except ProblemAuthenticationFailed:
        return None


class CustomerContextApi(APIView):
    """GET /commerceapi/authentication/customercontext — the context for this bearer."""

    authentication_classes = [BearerAuthentication]
    permission_classes = [IsShopper]

    @extend_schema(
        operation_id="customer_context_issue",
        description=(
            "The customer context bound to this bearer (an anonymous token, a customer token "
            "of the token service, or an identity provider's access token). With a provider's "
            "token, send the storefront's X-Auth-Key too when several tenants trust that "
            "provider's issuer: it names the tenant."
        ),
        responses={
            200: CUSTOMER_CONTEXT.schema,
            **problems(
                _401="Bearer missing, malformed, expired or revoked.", _403="Not a shopper token."
            ),
        },
        auth=BEARER_AND_OPTIONAL_KEY,
        tags=["authentication"],
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        assert isinstance(request.auth, str)
        context = customer_context_issue(principal=principal, raw_bearer=request.auth)
        return Response(CUSTOMER_CONTEXT.render((principal, context)), headers=NO_STORE)


CUSTOMER = Body(
    "CustomerProfile",
    {
        "id": BodyField(serializers.UUIDField(), lambda customer: str(customer.public_id)),
        "email": BodyField(serializers.CharField(), lambda customer: customer.email),
        "emailVerified": BodyField(
            serializers.BooleanField(), lambda customer: customer.email_verified
        ),
        "name": BodyField(serializers.CharField(), lambda customer: customer.name),
        "group": BodyField(serializers.CharField(), lambda customer: customer.group),
        "createdAt": moment(lambda customer: customer.created_at),
        "lastSeenAt": moment(lambda customer: customer.last_seen_at, nullable=True),
    },
)


class CustomerProfileApi(APIView):
    """GET /commerceapi/customer — the signed-in customer's own profile."""

    authentication_classes = [ShopperAuthentication]
    permission_classes = [IsCustomer, HasScope]
    required_scope = CUSTOMER_READ

    @extend_schema(
        operation_id="customer_profile",
        parameters=[CONTEXT_HEADER],
        responses={
            200: CUSTOMER.schema,
            **problems(
                _401="Bearer or context missing, invalid, or the customer is deactivated.",
                _403="An anonymous shopper has no profile, or the token lacks customer:read.",
            ),
        },
        tags=["customer"],
    )
    def get(self, request: Request) -> Response:
        customer = customer_get(customer_id=principal_of(request).subject_id)
        if customer is None:
            raise DomainError(errors.CUSTOMER_DEACTIVATED)
        return Response(CUSTOMER.render(customer))


class CustomerRegistrationApi(APIView):
    """POST /commerceapi/customers — a customer account with e-mail and password.

    For a sales channel's guest token (or any token with ``customers:create``); the customer
    then signs in with the password grant of /oauth/token.
    """

    authentication_classes = [BearerAuthentication]
    permission_classes = [HasScope]
    required_scope = CUSTOMERS_CREATE
    throttle_classes = [CustomerRegisterAddressThrottle]

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254, help_text="Compared in lower case.")
        # The schema states the rules it can (length, not only digits); the others are in
        # the description: Django's password validators decide (AUTH_PASSWORD_VALIDATORS).
        password = serializers.RegexField(
            r"\D",
            min_length=password_minimum_length(),
            max_length=MAX_PASSWORD_LENGTH,
            trim_whitespace=False,
            help_text=" ".join(password_validators_help_texts()),
        )
        name = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(
        operation_id="customer_register",
        request=InputSerializer,
        responses={
            201: CUSTOMER.schema,
            **problems(
                _400="E-mail malformed or password too weak (named in errors[]).",
                _401="Bearer missing or invalid.",
                _403="The token lacks customers:create.",
                _409=("A customer with this e-mail exists already.", errors.EMAIL_TAKEN),
                _429="Too many registrations from this address.",
            ),
        },
        tags=["customer"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = Tenant.objects.get(pk=principal_of(request).tenant_id)
        customer = local_account_create(
            tenant=tenant,
            email=data["email"],
            password=data["password"],
            name=data.get("name", ""),
        )
        return Response(CUSTOMER.render(customer), status=201, headers=NO_STORE)


class SignOutEverywhereApi(APIView):
    """POST /commerceapi/customer/sign-out-everywhere — end all of the customer's sessions."""

    authentication_classes = [ShopperAuthentication]
    permission_classes = [IsCustomer]

    @extend_schema(
        operation_id="customer_sign_out_everywhere",
        parameters=[CONTEXT_HEADER],
        request=None,
        responses={
            200: SIGNED_OUT.schema,
            **problems(_401="Bearer or context missing or invalid.", _403="Not a customer."),
        },
        tags=["customer"],
    )
    def post(self, request: Request) -> Response:
        customer = customer_get(customer_id=principal_of(request).subject_id)
        if customer is None:
            raise DomainError(errors.CUSTOMER_DEACTIVATED)
        ended = customer_sign_out_everywhere(customer=customer)
        return Response(SIGNED_OUT.render(ended), headers=NO_STORE)


class CurrentCustomerJwtApi(APIView):
    """GET /customer/current.jwt?app_client_id=… — a current-customer token for a third-party
    app, as text/plain (see docs/third-party-apps.md)."""

    authentication_classes = [ShopperAuthentication]
    permission_classes = [IsShopper]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The answer is text/plain; errors are problem+json whatever Accept asks for.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="current_customer_jwt",
        parameters=[
            CONTEXT_HEADER,
            OpenApiParameter("app_client_id", required=True, description="The app's client id."),
        ],
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            **problems(
                _401="Bearer or context missing or invalid.",
                _403="The token lacks customer:read.",
                _404="The shopper is anonymous, or no such active third-party app.",
            ),
        },
        tags=["customer"],
    )
    def get(self, request: Request) -> HttpResponse:
        principal = principal_of(request)
        if principal.is_anonymous_shopper:
            raise DomainError(errors.NO_CURRENT_CUSTOMER)
        if CUSTOMER_READ not in principal.scopes:
            raise ProblemPermissionDenied(errors.INSUFFICIENT_SCOPE)
        app = third_party_app_get(
            tenant_id=principal.tenant_id,
            client_id=str(request.query_params.get("app_client_id", ""))[:64],
        )
        customer = (
            Customer.objects.select_related("tenant")
            .filter(public_id=principal.subject_id, is_active=True)
            .first()
        )
        if customer is None:
            raise DomainError(errors.CUSTOMER_DEACTIVATED)
        token = current_customer_token(app=app, customer=customer) if app else None
        if token is None:
            raise DomainError(errors.THIRD_PARTY_APP_UNKNOWN)
        return HttpResponse(token, content_type="text/plain; charset=utf-8", headers=NO_STORE)
