"""Cart endpoints for shoppers (bearer + X-Customer-Context). Every answer is the whole cart."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carts.migration import MergePolicy, Outcome, Reason, cart_migrate
from carts.owners import CartOwner
from carts.selectors import CartView, anonymous_cart_storefront_app, cart_get
from carts.services import cart_clear, cart_line_add, cart_line_remove, cart_line_set
from commerceapi.fields import StrictIntegerField, iso_datetime
from commerceapi.openapi import CONTEXT_HEADER, problems
from identity.anonymous import anonymous_id_retire, anonymous_migration_authorize
from identity.authentication import ShopperAuthentication, principal_of
from identity.permissions import HasScope, IsCustomer, IsShopper
from identity.principal import Principal
from identity.scopes import CART_READ, CART_WRITE
from identity.tokens import MAX_TOKEN_LENGTH

CartOutput = inline_serializer(
    name="Cart",
    fields={
        "id": serializers.UUIDField(allow_null=True, help_text="null until the first line."),
        "isAnonymous": serializers.BooleanField(),
        "currency": serializers.CharField(),
        "lines": inline_serializer(
            name="CartLine",
            many=True,
            fields={
                "sku": serializers.CharField(),
                "name": serializers.CharField(),
                "quantity": serializers.IntegerField(),
                "unitPrice": serializers.DecimalField(max_digits=12, decimal_places=2),
                "lineTotal": serializers.DecimalField(max_digits=14, decimal_places=2),
            },
        ),
        "itemCount": serializers.IntegerField(),
        "subtotal": serializers.DecimalField(max_digits=14, decimal_places=2),
        "updatedAt": serializers.DateTimeField(allow_null=True),
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
    if principal.is_anonymous:
        return CartOwner(
            tenant_id=principal.tenant_id,
            anonymous_id=principal.subject_id,
            storefront_app_id=principal.client_id or None,
        )
    return CartOwner(tenant_id=principal.tenant_id, customer_id=principal.subject_id)


def cart_body(cart: CartView) -> dict[str, object]:
    return {
        "id": cart.id,
        "isAnonymous": cart.is_anonymous,
        "currency": cart.currency,
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unitPrice": f"{line.unit_price:.2f}",
                "lineTotal": f"{line.line_total:.2f}",
            }
            for line in cart.lines
        ],
        "itemCount": cart.item_count,
        "subtotal": f"{cart.subtotal:.2f}",
        "updatedAt": cart.updated_at.isoformat().replace("+00:00", "Z")
        if cart.updated_at
        else None,
    }


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
        return Response(cart_body(cart_get(owner=self.owner(request))))


def _quantity_field(minimum: int) -> StrictIntegerField:
    return StrictIntegerField(min_value=minimum, max_value=settings.CART_MAX_QUANTITY_PER_LINE)


class CartApi(_ShopperApi):
    """GET /commerceapi/cart (the open cart, empty if none) and DELETE (empty it)."""

    @extend_schema(
        operation_id="cart_get",
        parameters=[CONTEXT_HEADER],
        responses={200: CartOutput, **_AUTH_ERRORS},
        tags=["cart"],
    )
    def get(self, request: Request) -> Response:
        return self.cart_response(request)

    @extend_schema(
        operation_id="cart_clear",
        parameters=[CONTEXT_HEADER],
        responses={200: CartOutput, **_AUTH_ERRORS},
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
        responses={200: CartOutput, **_CHANGE_ERRORS, **_AUTH_ERRORS},
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
            200: CartOutput,
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
        responses={200: CartOutput, **_AUTH_ERRORS, **problems(_404="No line for this SKU.")},
        tags=["cart"],
    )
    def delete(self, request: Request, sku: str) -> Response:
        cart_line_remove(owner=self.owner(request), sku=sku)
        return self.cart_response(request)


MigrationOutput = inline_serializer(
    name="CartMigration",
    fields={
        "cart": CartOutput,
        "migration": inline_serializer(
            name="CartMigrationReport",
            fields={
                "anonymousId": serializers.UUIDField(),
                "policy": serializers.ChoiceField(choices=[policy.value for policy in MergePolicy]),
                "repeated": serializers.BooleanField(
                    help_text="true: this migration happened before; nothing was merged now."
                ),
                "migratedAt": serializers.DateTimeField(),
                "sourceCartId": serializers.UUIDField(allow_null=True),
                "lines": inline_serializer(
                    name="CartMigrationLine",
                    many=True,
                    fields={
                        "sku": serializers.CharField(),
                        "outcome": serializers.ChoiceField(
                            choices=[outcome.value for outcome in Outcome]
                        ),
                        "anonymousQuantity": serializers.IntegerField(),
                        "customerQuantity": serializers.IntegerField(),
                        "quantity": serializers.IntegerField(help_text="In the cart now."),
                        "reasons": serializers.ListField(
                            child=serializers.ChoiceField(choices=[r.value for r in Reason])
                        ),
                    },
                ),
            },
        ),
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
            200: MigrationOutput,
            **_AUTH_ERRORS,
            **problems(
                _400="anonymousId malformed, or anonymousToken missing where it is required.",
                _403="Not a customer, or anonymousToken does not prove anonymousId.",
                _409="The anonymous id was migrated to another customer.",
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
        return Response(
            {
                "cart": cart_body(cart),
                "migration": {
                    "anonymousId": result.anonymous_id,
                    "policy": result.policy,
                    "repeated": result.repeated,
                    "migratedAt": iso_datetime(result.migrated_at),
                    "sourceCartId": result.source_cart_id,
                    "lines": result.lines,
                },
            }
        )
