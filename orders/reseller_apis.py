"""Order endpoints of the Reseller surface (a partner's reseller token): a partner places
orders for its own customers and reads them back. Another partner's order, or another
tenant's, is a 404 as no order is."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.bodies import Body, BodyField
from core.errors import DomainError, FieldError
from core.fields import ClosedSerializer, MoneyField, StrictIntegerField
from core.idempotency import (
    IdempotentAnswer,
    idempotency_key_read,
    idempotent_perform,
    idempotent_response,
)
from core.openapi import page_of, problems
from core.pagination import StrictPageNumberPagination
from identity.http.authentication import ResellerAuthentication, principal_of
from identity.http.permissions import HasScope, IsPartner
from identity.scopes import RESELLER_ORDERS_READ, RESELLER_ORDERS_WRITE
from orders import errors
from orders.apis import (
    ORDER_FIELDS,
    PLACED_AT,
    order_created,
    order_created_parameters,
    orders_page,
    with_lines,
)
from orders.models import OrderStatus
from orders.selectors import order_get_for_partner, order_list_for_partner
from orders.services import LineRequest, order_place_from_lines

RESELLER_ORDERS_PATH = "/reseller/orders"
RESELLER_PLACE_OPERATION = "orders.reseller_place"
EXTERNAL_REFERENCE_MAX_LENGTH = 100

RESELLER_CUSTOMER = Body(
    "ResellerCustomer",
    {
        "email": BodyField(serializers.EmailField(), lambda order: order.email),
        "name": BodyField(
            serializers.CharField(allow_blank=True), lambda order: order.customer_name
        ),
        "externalReference": BodyField(
            serializers.CharField(allow_blank=True, help_text="The partner's own reference."),
            lambda order: order.external_reference,
        ),
    },
)
RESELLER_ORDER = Body(
    "ResellerOrder",
    {
        **ORDER_FIELDS,
        "customer": RESELLER_CUSTOMER.one(lambda placed: placed.order),
        "placedAt": PLACED_AT,
    },
)

_AUTH_ERRORS = problems(
    _401="No reseller token: missing, not Bearer, malformed, expired, revoked (the partner "
    "deactivated), or a credential of another surface.",
    _403="The reseller token lacks the scope (insufficient_scope).",
)


class _CustomerInput(ClosedSerializer):
    """The partner's customer: where the order is confirmed, and the partner's reference."""

    unknown_field_message = "Not a field of the partner's customer."

    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(required=False, max_length=200, allow_blank=True)
    externalReference = serializers.CharField(
        required=False, max_length=EXTERNAL_REFERENCE_MAX_LENGTH, allow_blank=True
    )


class _LineInput(ClosedSerializer):
    unknown_field_message = "Not a field of an order line."

    sku = serializers.CharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=settings.CART_MAX_QUANTITY_PER_LINE)


class _PartnerApi(APIView):
    authentication_classes = [ResellerAuthentication]
    permission_classes = [IsPartner, HasScope]
    required_scope = {"GET": RESELLER_ORDERS_READ, "POST": RESELLER_ORDERS_WRITE}


class ResellerOrdersApi(_PartnerApi):
    """POST /reseller/orders: place an order for the partner's customer.
    GET /reseller/orders: the partner's orders, newest first."""

    class InputSerializer(ClosedSerializer):
        """The order: the partner's customer, the lines, and optionally the total it expects.
        Prices, totals, status and the partner come from the API, never from the body."""

        unknown_field_message = "Not a field of a reseller order."

        customer = _CustomerInput()
        lines = _LineInput(many=True)
        expectedTotal = MoneyField(
            required=False,
            help_text="The total the partner expects; another total is a 409 with the new one.",
        )

    @extend_schema(
        operation_id="reseller_order_create",
        parameters=order_created_parameters(RESELLER_ORDERS_PATH, what="this order"),
        request=InputSerializer,
        responses={
            201: OpenApiResponse(RESELLER_ORDER.schema, description="The order placed."),
            **_AUTH_ERRORS,
            **problems(
                _400="Idempotency-Key missing or invalid; invalid or unknown body fields; lines "
                "empty, too many or a SKU twice (5008); lines unknown, inactive, above stock or "
                "above the per-order maximum (5003, errors[] names each as lines.SKU); a total "
                "above what an order records (5009). Nothing ordered.",
                _409="Another total than expectedTotal (5004, with the new subtotal and total), "
                "or a request with this Idempotency-Key still in progress (1053).",
                _413="Body too large.",
                _422="The Idempotency-Key was used with another body.",
            ),
        },
        tags=["orders"],
    )
    def post(self, request: Request) -> HttpResponse:
        key = idempotency_key_read(request.META.get("HTTP_IDEMPOTENCY_KEY"))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        principal = principal_of(request)
        data = serializer.validated_data
        customer = data["customer"]

        def place() -> IdempotentAnswer:
            placed = order_place_from_lines(
                tenant_id=principal.tenant_id,
                lines=[
                    LineRequest(sku=line["sku"], quantity=line["quantity"])
                    for line in data["lines"]
                ],
                email=customer["email"],
                customer_name=customer.get("name", ""),
                external_reference=customer.get("externalReference", ""),
                partner_id=principal.subject_id,
                expected_total=data.get("expectedTotal"),
            )
            return order_created(RESELLER_ORDER, placed, orders_path=RESELLER_ORDERS_PATH)

        answer = idempotent_perform(
            tenant_id=principal.tenant_id,
            caller=f"{principal.kind}:{principal.subject_id}",
            key=key,
            operation=RESELLER_PLACE_OPERATION,
            payload=request.data,
            perform=place,
        )
        return idempotent_response(answer)

    @extend_schema(
        operation_id="reseller_order_list",
        parameters=[
            OpenApiParameter(
                "status",
                {"type": "string", "enum": OrderStatus.values},
                description="Only orders in this status.",
            ),
            OpenApiParameter(
                "externalReference",
                {"type": "string", "minLength": 1, "maxLength": EXTERNAL_REFERENCE_MAX_LENGTH},
                description="Only orders whose customer has this reference (exact).",
            ),
            *StrictPageNumberPagination.openapi_parameters("orders"),
        ],
        responses={
            200: page_of("ResellerOrderPage", RESELLER_ORDER.many(lambda page: page).schema),
            **_AUTH_ERRORS,
            **problems(
                _400="A filter (7002) or page or pageSize (1043) is not one the list takes "
                "(named in errors[]).",
                _404="No such page.",
                _414="The request target (path and query) is too long.",
            ),
        },
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        orders = order_list_for_partner(
            tenant_id=principal.tenant_id,
            partner_id=principal.subject_id,
            status=_filter(request, "status", choices=OrderStatus.values),
            external_reference=_filter(request, "externalReference"),
        )
        return orders_page(request, self, orders, RESELLER_ORDER)


def _filter(request: Request, name: str, *, choices: list[str] | None = None) -> str | None:
    """A filter's value, sent at most once; a 400 (7002) naming it otherwise."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    value = values[0]
    if len(values) != 1:
        message = "Send it at most once."
    elif choices is not None and value not in choices:
        message = f"One of {', '.join(choices)}."
    elif not 1 <= len(value) <= EXTERNAL_REFERENCE_MAX_LENGTH:
        message = f"1 to {EXTERNAL_REFERENCE_MAX_LENGTH} characters."
    else:
        return value
    code = errors.RESELLER_ORDER_FILTER_INVALID
    raise DomainError(code, message, [FieldError(name, code.slug, message)])


class ResellerOrderDetailApi(_PartnerApi):
    """GET /reseller/orders/{orderNumber}: one of the partner's orders."""

    @extend_schema(
        operation_id="reseller_order_get",
        responses={
            200: RESELLER_ORDER.schema,
            **_AUTH_ERRORS,
            **problems(_404="No order of this partner has this number."),
        },
        tags=["orders"],
    )
    def get(self, request: Request, orderNumber: str) -> Response:
        principal = principal_of(request)
        order = order_get_for_partner(
            tenant_id=principal.tenant_id, partner_id=principal.subject_id, number=orderNumber
        )
        if order is None:
            raise DomainError(errors.RESELLER_ORDER_NOT_FOUND)
        return Response(RESELLER_ORDER.render(with_lines(order)))
