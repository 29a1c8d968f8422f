"""Cart endpoints for shoppers (bearer + X-Customer-Context). Every answer is the whole cart."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carts import errors as cart_errors
from carts.migration import Outcome, Reason, cart_migrate
from carts.owners import CartOwner
from carts.selectors import anonymous_cart_storefront_app, cart_get
from carts.services import cart_clear, cart_line_add, cart_line_remove, cart_line_set
from catalog.models import Product
from core.bodies import Body, BodyField, moment, money
from core.fields import StrictIntegerField
from core.models import decimal_field_max
from core.openapi import problems
from core.policies import CartMergePolicy
from identity.credentials.tokens import MAX_TOKEN_LENGTH
from identity.http.authentication import ShopperAuthentication, principal_of
from identity.http.openapi import CONTEXT_HEADER
from identity.http.permissions import HasScope, IsCustomer, IsShopper
from identity.principal import Principal
from identity.scopes import CART_READ, CART_WRITE
from identity.sessions.anonymous import anonymous_id_retire, anonymous_migration_authorize

# The digits a cart's amounts may need: its limits (settings.CART_MAX_QUANTITY_PER_LINE and
# CART_MAX_LINES) times the dearest price a product holds. An order holds less (5009 at
# checkout); the cart shows what the shopper put in it.
_PRICE = Product._meta.get_field("unit_price")
_LINE_TOTAL_MAX = settings.CART_MAX_QUANTITY_PER_LINE * decimal_field_max(_PRICE)
_LINE_TOTAL_DIGITS = len(str(int(_LINE_TOTAL_MAX))) + 2
_SUBTOTAL_DIGITS = len(str(int(settings.CART_MAX_LINES * _LINE_TOTAL_MAX))) + 2

CART_LINE = Body(
    "CartLine",
    {
        "sku": BodyField(serializers.CharField(), lambda line: line.sku),
        "name": BodyField(serializers.CharField(), lambda line: line.name),
        "quantity": BodyField(serializers.IntegerField(), lambda line: line.quantity),
        "unitPrice": money(lambda line: line.unit_price, max_digits=_PRICE.max_digits),
        "lineTotal": money(lambda line: line.line_total, max_digits=_LINE_TOTAL_DIGITS),
    },
)
CART = Body(
    "Cart",
    {
        "id": BodyField(
            serializers.UUIDField(allow_null=True, help_text="null until the first line."),
            lambda cart: cart.id,
        ),
        "isAnonymous": BodyField(serializers.BooleanField(), lambda cart: cart.is_anonymous),
        "currency": BodyField(serializers.CharField(), lambda cart: cart.currency),
        "lines": CART_LINE.many(lambda cart: cart.lines),
        "itemCount": BodyField(serializers.IntegerField(), lambda cart: cart.item_count),
        "subtotal": money(lambda cart: cart.subtotal, max_digits=_SUBTOTAL_DIGITS),
        "updatedAt": moment(lambda cart: cart.updated_at, nullable=True),
    },
)

_AUTH_ERRORS = problems(
    _401="Bearer or customer context missing, invalid, expired or mismatched.",
    _403="Not a shopper token.",
)
_CHANGE_ERRORS = problems(
    _400="Invalid sku or quantity (named in errors[]); nothing changed.",
    _413="Body too large.",
)


def cart_owner(principal: Principal) -> CartOwner:
    if principal.is_anonymous_shopper:
        return CartOwner(
            tenant_id=principal.tenant_id,
            anonymous_id=principal.subject_id,
            storefront_app_id=principal.client_id or None,
        )
    return CartOwner(tenant_id=principal.tenant_id, customer_id=principal.subject_id)


class _ShopperApi(APIView):
    authentication_classes = [ShopperAuthentication]
    permission_classes = [IsShopper, HasScope]
    required_scope = {
        "GET": CART_READ,
        "POST": CART_WRITE,
        "PUT": CART_WRITE,
        "PATCH": CART_WRITE,
        "DELETE": CART_WRITE,
    }

    def owner(self, request: Request) -> CartOwner:
        return cart_owner(principal_of(request))

    def cart_response(self, request: Request) -> Response:
        return Response(CART.render(cart_get(owner=self.owner(request))))


def _quantity_field(minimum: int) -> StrictIntegerField:
    return StrictIntegerField(min_value=minimum, max_value=settings.CART_MAX_QUANTITY_PER_LINE)


class CartApi(_ShopperApi):
    """GET /commerceapi/cart (the open cart, empty if none) and DELETE (empty it)."""

    @extend_schema(
        operation_id="cart_get",
        parameters=[CONTEXT_HEADER],
        responses={200: CART.schema, **_AUTH_ERRORS},
        tags=["cart"],
    )
    def get(self, request: Request) -> Response:
        return self.cart_response(request)

    @extend_schema(
        operation_id="cart_clear",
        parameters=[CONTEXT_HEADER],
        responses={200: CART.schema, **_AUTH_ERRORS},
        tags=["cart"],
    )
    def delete(self, request: Request) -> Response:
        cart_clear(owner=self.owner(request))
        return self.cart_response(request)


class CartLinesApi(_ShopperApi):
    """POST /commerceapi/cart/lines — add to the line of a SKU."""

    class InputSerializer(serializers.Serializer):
        sku = serializers.CharField(max_length=64)
        quantity = _quantity_field(1)

    @extend_schema(
        operation_id="cart_line_add",
        parameters=[CONTEXT_HEADER],
        request=InputSerializer,
        responses={200: CART.schema, **_CHANGE_ERRORS, **_AUTH_ERRORS},
        tags=["cart"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart_line_add(owner=self.owner(request), **serializer.validated_data)
        return self.cart_response(request)


class CartLineApi(_ShopperApi):
    """PATCH /commerceapi/cart/lines/{sku} (set; 0 removes) and DELETE."""

    class InputSerializer(serializers.Serializer):
        quantity = _quantity_field(0)

    @extend_schema(
        operation_id="cart_line_set",
        parameters=[CONTEXT_HEADER],
        request=InputSerializer,
        responses={
            200: CART.schema,
            **_CHANGE_ERRORS,
            **_AUTH_ERRORS,
            **problems(_404="The cart has no line for this SKU."),
        },
        tags=["cart"],
    )
    def patch(self, request: Request, sku: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart_line_set(owner=self.owner(request), sku=sku, **serializer.validated_data)
        return self.cart_response(request)

    @extend_schema(
        operation_id="cart_line_remove",
        parameters=[CONTEXT_HEADER],
        responses={200: CART.schema, **_AUTH_ERRORS, **problems(_404="No line for this SKU.")},
        tags=["cart"],
    )
    def delete(self, request: Request, sku: str) -> Response:
        cart_line_remove(owner=self.owner(request), sku=sku)
        return self.cart_response(request)


MIGRATION_LINE = Body(
    "CartMigrationLine",
    {
        "sku": BodyField(serializers.CharField(), lambda line: line["sku"]),
        "outcome": BodyField(
            serializers.ChoiceField(choices=[outcome.value for outcome in Outcome]),
            lambda line: line["outcome"],
        ),
        "anonymousQuantity": BodyField(
            serializers.IntegerField(), lambda line: line["anonymousQuantity"]
        ),
        "customerQuantity": BodyField(
            serializers.IntegerField(), lambda line: line["customerQuantity"]
        ),
        "quantity": BodyField(
            serializers.IntegerField(help_text="In the cart now."), lambda line: line["quantity"]
        ),
        "reasons": BodyField(
            serializers.ListField(child=serializers.ChoiceField(choices=[r.value for r in Reason])),
            lambda line: line["reasons"],
        ),
    },
)
MIGRATION_REPORT = Body(
    "CartMigrationReport",
    {
        "anonymousId": BodyField(serializers.UUIDField(), lambda result: result.anonymous_id),
        "policy": BodyField(
            serializers.ChoiceField(choices=CartMergePolicy.values), lambda result: result.policy
        ),
        "repeated": BodyField(
            serializers.BooleanField(
                help_text="true: this migration happened before; nothing was merged now."
            ),
            lambda result: result.repeated,
        ),
        "migratedAt": moment(lambda result: result.migrated_at),
        "sourceCartId": BodyField(
            serializers.UUIDField(allow_null=True), lambda result: result.source_cart_id
        ),
        "lines": MIGRATION_LINE.many(lambda result: result.lines),
    },
)
# Rendered from a pair: the customer's cart now, and the migration's result.
MIGRATION = Body(
    "CartMigration",
    {
        "cart": CART.one(lambda answer: answer[0]),
        "migration": MIGRATION_REPORT.one(lambda answer: answer[1]),
    },
)


class CartMigrateApi(_ShopperApi):
    """POST /commerceapi/cart/migrate — the anonymous cart joins the signed-in customer's."""

    permission_classes = [IsCustomer, HasScope]

    class InputSerializer(serializers.Serializer):
        """The request as documented: the anonymous session's token proves the id."""

        anonymousId = serializers.UUIDField()
        anonymousToken = serializers.CharField(
            max_length=MAX_TOKEN_LENGTH,
            help_text="The anonymous session's token (an expired one within the renewal "
            "window too). Only a storefront app with the compat anonymous-id policy may "
            "omit it.",
        )

    class TolerantInputSerializer(InputSerializer):
        """What is read: the token may be missing, for the compat policy to decide."""

        anonymousToken = serializers.CharField(
            required=False, allow_blank=True, max_length=MAX_TOKEN_LENGTH
        )

    @extend_schema(
        operation_id="cart_migrate",
        parameters=[CONTEXT_HEADER],
        request=InputSerializer,
        responses={
            200: MIGRATION.schema,
            **_AUTH_ERRORS,
            **problems(
                _400="anonymousId malformed, or anonymousToken missing where it is required.",
                _403="Not a customer, or anonymousToken does not prove anonymousId.",
                _409=(
                    "The anonymous id was migrated to another customer.",
                    cart_errors.MIGRATION_CONFLICT,
                ),
            ),
        },
        tags=["cart"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.TolerantInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        principal = principal_of(request)
        tenant_id, anonymous_id = principal.tenant_id, str(serializer.validated_data["anonymousId"])
        grant = anonymous_migration_authorize(
            tenant_id=tenant_id,
            anonymous_id=anonymous_id,
            anonymous_token=serializer.validated_data.get("anonymousToken") or None,
            cart_storefront_app_id=anonymous_cart_storefront_app(
                tenant_id=tenant_id, anonymous_id=anonymous_id
            ),
        )
        result = cart_migrate(
            tenant_id=tenant_id,
            anonymous_id=anonymous_id,
            customer_id=principal.subject_id,
            policy=grant.cart_merge_policy,
            on_migrated=lambda: anonymous_id_retire(tenant_id=tenant_id, anonymous_id=anonymous_id),
        )
        cart = cart_get(owner=cart_owner(principal))
        return Response(MIGRATION.render((cart, result)))
