"""Response bodies described once: the same description renders an answer and documents it.

A ``Body`` names its fields, each with the serializer field that documents it and the function
that reads its value from the object answered. ``body.render(obj)`` is the JSON-ready answer
(plain calls, no serializer machinery on the hot path); ``body.schema`` the serializer
drf-spectacular documents. tests/commerceapi/test_bodies_match_schema.py checks every
endpoint's answers against the OpenAPI schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from core.fields import iso_datetime


class _Omitted:
    def __repr__(self) -> str:
        return "OMITTED"


# What a field's reader returns for a key the answer leaves out (an optional field).
OMITTED: Any = _Omitted()


@dataclass(frozen=True)
class BodyField:
    schema: serializers.Field
    read: Callable[[Any], Any]


class Body:
    """An object of an answer: its component name and its fields, in order."""

    def __init__(self, name: str, fields: dict[str, BodyField]) -> None:
        self.name = name
        self.fields = fields

    @cached_property
    def schema(self) -> serializers.Serializer:
        return self._serializer()

    def _serializer(self, **options: Any) -> serializers.Serializer:
        return inline_serializer(
            name=self.name,
            fields={name: field.schema for name, field in self.fields.items()},
            **options,
        )

    def render(self, source: Any) -> dict[str, Any]:
        answer = {}
        for name, field in self.fields.items():
            value = field.read(source)
            if value is not OMITTED:
                answer[name] = value
        return answer

    def one(self, read: Callable[[Any], Any]) -> BodyField:
        """This body as a field of another, read from its source by ``read``."""
        return BodyField(self.schema, lambda source: self.render(read(source)))

    def many(self, read: Callable[[Any], Any]) -> BodyField:
        """A list of this body as a field of another."""
        return BodyField(
            self._serializer(many=True),
            lambda source: [self.render(item) for item in read(source)],
        )


def money(read: Callable[[Any], Decimal], *, max_digits: int = 14) -> BodyField:
    """A decimal amount, written as a string with two decimals."""
    return BodyField(
        serializers.DecimalField(max_digits=max_digits, decimal_places=2),
        lambda source: f"{read(source):.2f}",
    )


def moment(read: Callable[[Any], datetime | None], *, nullable: bool = False) -> BodyField:
    """A point in time, ISO 8601 in UTC with ``Z`` (null when ``nullable`` and unknown)."""

    def value(source: Any) -> str | None:
        when = read(source)
        return iso_datetime(when) if when is not None else None

    return BodyField(serializers.DateTimeField(allow_null=nullable), value)
