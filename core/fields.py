"""Serializer fields and value formats the API layers share."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class ClosedSerializer(serializers.Serializer):
    """An input that names its fields and refuses any other (400, ``unknown_field``) rather than
    ignoring it, where an ignored field would change what the request means: a misspelt
    ``expectedTotal`` would skip the check it asks for. Its schema says so
    (``additionalProperties: false``, core.openapi)."""

    unknown_field_message = "Not a field of this request."

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {name: [self.unknown_field_message] for name in unknown},
                    code="unknown_field",
                )
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: no "5", no 5.0, no true."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": MONEY_PATTERN})
class MoneyField(serializers.DecimalField):
    """An amount as the API writes it, a decimal string ("43.00", "43" or "43.5"), never below
    zero: no JSON number (a float cannot be trusted to the cent), no exponent, no sign, no NaN."""

    default_error_messages = {"invalid": 'An amount as a string of digits, such as "43.00".'}
    pattern = MONEY_PATTERN
    digits = 14  # in all, 2 of them after the point

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=self.digits, decimal_places=2, min_value=Decimal("0"), **kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not re.fullmatch(self.pattern, data):
            self.fail("invalid")
        return super().to_internal_value(data)


# A product's price: at most 10 digits before the point (the catalog's and order lines' column).
PRICE_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": PRICE_PATTERN})
class PriceField(MoneyField):
    """A product's unit price, as ``MoneyField`` writes amounts, within 9999999999.99."""

    default_error_messages = {
        "invalid": 'A price as a string of at most 10 digits and 2 decimals, such as "43.00".'
    }
    pattern = PRICE_PATTERN
    digits = 12


# Above zero: some digit other than 0, before or after the point.
POSITIVE_MONEY_PATTERN = (
    r"^(0{0,11}[1-9][0-9]{0,11}(\.[0-9]{1,2})?|0{1,12}\.(0?[1-9]|[1-9][0-9]?))$"
)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": POSITIVE_MONEY_PATTERN, "maxLength": 15}
)
class PositiveMoneyField(MoneyField):
    """An amount above zero, as ``MoneyField`` writes it (a payment, never a 0.00 one)."""

    default_error_messages = {
        "invalid": 'An amount above 0 as a string of digits, such as "43.00".'
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not re.fullmatch(POSITIVE_MONEY_PATTERN, data):
            self.fail("invalid")
        return super().to_internal_value(data)


def iso_datetime(moment: datetime) -> str:
    """An aware datetime as the API writes it: ISO 8601 in UTC with ``Z``."""
    return moment.isoformat().replace("+00:00", "Z")
