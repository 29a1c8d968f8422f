"""Order endpoints of the storefront surface (bearer + X-Customer-Context): checkout, and the
shopper's own orders. ``POST /Orders/Create`` is the checkout under the path integrations
written against the platform call: the same view and contract, POST only."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carts.apis import CART_LINE
from core import errors as core_errors
from core.bodies import Body, BodyField, moment, money
from core.errors import DomainError
from core.fields import ClosedSerializer, MoneyField
from core.idempotency import (
    REPLAYED_HEADER,
    IdempotentAnswer,
    idempotency_key_read,
    idempotent_perform,
    idempotent_response,
)
from core.openapi import AutoSchema, idempotency_key_parameter, page_of, problems
from core.pagination import StrictPageNumberPagination
from identity.customers.customers import customer_get
from identity.http.authentication import (
    ShopperAuthentication,
    StorefrontKeyAuthentication,
    principal_of,
)
from identity.http.openapi import CONTEXT_HEADER
from identity.http.permissions import HasScope, IsShopper
from identity.principal import Principal
from identity.scopes import ORDERS_READ, ORDERS_WRITE
from orders import errors
from orders.models import Order, OrderStatus, PaymentStatus
from orders.selectors import order_get_for_shopper, order_list_for_shopper
from orders.services import PlacedOrder, order_place_from_cart

CHECKOUT_PATH = "/commerceapi/orders"
CHECKOUT_OPERATION = "orders.checkout"

# What every answer of an order holds, from the order and its lines (a line as a cart's).
ORDER_FIELDS = {
    "orderNumber": BodyField(
        serializers.CharField(
            help_text="The tenant's slug in capitals and its own sequence, e.g. DEMO-000001."
        ),
        lambda placed: placed.order.number,
    ),
    "status": BodyField(
        serializers.ChoiceField(choices=OrderStatus.values), lambda placed: placed.order.status
    ),
    "paymentStatus": BodyField(
        serializers.ChoiceField(choices=PaymentStatus.values),
        lambda placed: placed.order.payment_status,
    ),
    "currency": BodyField(serializers.CharField(), lambda placed: placed.order.currency),
    "lines": CART_LINE.many(lambda placed: placed.lines),
    "itemCount": BodyField(serializers.IntegerField(), lambda placed: placed.order.item_count),
    "subtotal": money(lambda placed: placed.order.subtotal),
    "total": money(lambda placed: placed.order.total),
}
PLACED_AT = moment(lambda placed: placed.order.placed_at)
# The storefront's order: the shopper's.
ORDER = Body(
    "Order",
    {
        **ORDER_FIELDS,
        "email": BodyField(
            serializers.EmailField(allow_blank=True), lambda placed: placed.order.email
        ),
        "customerId": BodyField(
            serializers.UUIDField(allow_null=True, help_text="null for a guest."),
            lambda placed: str(placed.order.customer_id) if placed.order.customer_id else None,
        ),
        "placedAt": PLACED_AT,
    },
)


def with_lines(order: Order) -> PlacedOrder:
    return PlacedOrder(order=order, lines=list(order.lines.all()))


_AUTH_ERRORS = problems(
    _401="Bearer or customer context missing, invalid, expired or mismatched.",
    _403="Not a shopper (a client token, an X-Auth-Key alone), or without the scope.",
)


def _shopper_ids(principal: Principal) -> dict[str, str]:
    if principal.is_anonymous_shopper:
        return {"anonymous_id": principal.subject_id}
    return {"customer_id": principal.subject_id}


def order_created_parameters(orders_path: str, *, what: str) -> list[OpenApiParameter]:
    """The headers of a request that places an order (``what``, e.g. "this checkout") and of
    its 201 answer."""
    return [
        idempotency_key_parameter(what),
        OpenApiParameter(
            "Location",
            location=OpenApiParameter.HEADER,
            response=[201],
            description=f"The order: {orders_path}/{{orderNumber}}.",
        ),
        OpenApiParameter(
            REPLAYED_HEADER,
            location=OpenApiParameter.HEADER,
            response=[201],
            description="true when this is the stored answer to an earlier request with "
            "the same Idempotency-Key; absent on the first answer.",
        ),
    ]


def order_created(body: Body, placed: PlacedOrder, *, orders_path: str) -> IdempotentAnswer:
    """The 201 answer to an order placed, as it is stored for the replays of its key."""
    return IdempotentAnswer(
        status=201,
        body=JSONRenderer().render(body.render(placed)).decode(),
        headers={
            "Content-Type": "application/json",
            "Location": f"{orders_path}/{placed.order.number}",
        },
    )


def orders_page(request: Request, view: APIView, orders: QuerySet[Order], body: Body) -> Response:
    """A page of ``orders`` (each with its lines) as every order list answers it."""
    paginator = StrictPageNumberPagination()
    page = paginator.paginate_queryset(orders, request, view=view) or []
    return paginator.get_paginated_response([body.render(with_lines(order)) for order in page])


class _CheckoutSchema(AutoSchema):
    """The checkout is documented under both of its paths; the alias's operation needs an id
    of its own (ids are unique in a schema)."""

    def get_operation_id(self) -> str:
        if self.method == "POST":
            return "order_create" if self.path == CHECKOUT_PATH else "order_create_alias"
        return super().get_operation_id()


class _ShopperOrdersApi(APIView):
    # A bearer is a shopper's (or refused); an X-Auth-Key alone is the storefront itself, which
    # may not order: 403, not 401.
    authentication_classes = [ShopperAuthentication, StorefrontKeyAuthentication]
    permission_classes = [IsShopper, HasScope]
    required_scope = {"GET": ORDERS_READ, "POST": ORDERS_WRITE}


class OrdersApi(_ShopperOrdersApi):
    """POST /commerceapi/orders (and /Orders/Create): check out the cart.
    GET /commerceapi/orders: the shopper's orders, newest first."""

    schema = _CheckoutSchema()

    class InputSerializer(ClosedSerializer):
        """The checkout's body: both fields optional (a guest needs the e-mail), no other."""

        unknown_field_message = "Not a field of a checkout."

        email = serializers.EmailField(
            required=False, max_length=254, help_text="Required for a guest."
        )
        expectedTotal = MoneyField(
            required=False,
            help_text="The total the shopper saw; another total is a 409 with the new one.",
        )

    @extend_schema(
        # The operation id comes from _CheckoutSchema: one per path.
        parameters=[CONTEXT_HEADER, *order_created_parameters(CHECKOUT_PATH, what="this checkout")],
        request=InputSerializer,
        responses={
            201: OpenApiResponse(ORDER.schema, description="The order placed."),
            **_AUTH_ERRORS,
            **problems(
                _400=(
                    "Idempotency-Key missing or invalid; invalid or unknown body fields; an "
                    "e-mail missing for a guest; lines inactive, above stock or above the "
                    "per-order maximum (errors[] names each as lines.SKU); a total above what "
                    "an order records (5009). Nothing ordered.",
                    core_errors.IDEMPOTENCY_KEY_MISSING,
                    errors.EMAIL_REQUIRED,
                    errors.ORDER_LINES_UNAVAILABLE,
                    errors.ORDER_TOTAL_TOO_LARGE,
                ),
                _409=(
                    "Empty cart (5001), cart already ordered (5002), another total than "
                    "expectedTotal (5004, with the new subtotal and total), or a request with "
                    "this Idempotency-Key still in progress (1053). Nothing ordered.",
                    errors.CART_EMPTY,
                    errors.CART_ALREADY_ORDERED,
                    errors.ORDER_TOTAL_CHANGED,
                    core_errors.IDEMPOTENCY_REQUEST_IN_PROGRESS,
                ),
                _413="Body too large.",
                _422=(
                    "The Idempotency-Key was used with another body.",
                    core_errors.IDEMPOTENCY_KEY_REUSED,
                ),
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

        def checkout() -> IdempotentAnswer:
            email = data.get("email", "")
            if not email and not principal.is_anonymous_shopper:
                customer = customer_get(customer_id=principal.subject_id)
                email = customer.email if customer is not None else ""
            placed = order_place_from_cart(
                tenant_id=principal.tenant_id,
                email=email,
                expected_total=data.get("expectedTotal"),
                storefront_app_id=principal.client_id or None,
                **_shopper_ids(principal),
            )
            return order_created(ORDER, placed, orders_path=CHECKOUT_PATH)

        answer = idempotent_perform(
            tenant_id=principal.tenant_id,
            caller=f"{principal.kind}:{principal.subject_id}",
            key=key,
            operation=CHECKOUT_OPERATION,
            payload=request.data,
            perform=checkout,
        )
        return idempotent_response(answer)

    @extend_schema(
        operation_id="order_list",
        parameters=[
            CONTEXT_HEADER,
            *StrictPageNumberPagination.openapi_parameters("orders"),
        ],
        responses={
            200: page_of("OrderPage", ORDER.many(lambda page: page).schema),
            **_AUTH_ERRORS,
            **problems(
                _400="page or pageSize is not a whole number in range (named in errors[]).",
                _404="No such page.",
                _414="The request target (path and query) is too long.",
            ),
        },
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        orders = order_list_for_shopper(tenant_id=principal.tenant_id, **_shopper_ids(principal))
        return orders_page(request, self, orders, ORDER)


class OrderDetailApi(_ShopperOrdersApi):
    """GET /commerceapi/orders/{orderNumber}: the shopper's own order; anyone else's is a 404."""

    @extend_schema(
        operation_id="order_get",
        parameters=[CONTEXT_HEADER],
        responses={
            200: ORDER.schema,
            **_AUTH_ERRORS,
            **problems(_404="No order of this shopper has this number."),
        },
        tags=["orders"],
    )
    def get(self, request: Request, orderNumber: str) -> Response:
        principal = principal_of(request)
        order = order_get_for_shopper(
            tenant_id=principal.tenant_id, number=orderNumber, **_shopper_ids(principal)
        )
        if order is None:
            raise DomainError(errors.ORDER_NOT_FOUND)
        return Response(ORDER.render(with_lines(order)))
