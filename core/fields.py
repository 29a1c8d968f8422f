"""Serializer fields and value formats the API layers share."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: no "5", no 5.0, no true."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


def iso_datetime(moment: datetime) -> str:
    """An aware datetime as the API writes it: ISO 8601 in UTC with ``Z``."""
    return moment.isoformat().replace("+00:00", "Z")
