"""A refresh-token rotation is a fixed list of statements on a warm process."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.identity.oauth_helpers import Client, password_tokens
from tests.identity.oauth_token_common import refresh
from tests.orders.test_checkout_queries import statement_kinds

pytestmark = pytest.mark.django_db

# What a rotation costs, by statement, on a warm process (the client is cached).
ROTATION = [
    "SELECT",  # the refresh token with its sign-in and customer, locked
    "INSERT",  # the next refresh token
    "UPDATE",  # the answer kept for a retry is dropped from the token before
    "UPDATE",  # the token used, with its answer sealed for one retry
]


def statements(captured: CaptureQueriesContext) -> list[str]:
    # The test's own transaction turns the services' transactions into savepoints.
    return [kind for kind in statement_kinds(captured) if kind not in {"SAVEPOINT", "RELEASE"}]


def test_a_rotation_is_a_fixed_list_of_statements(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given a sign-in, rotated once so that the process is warm
    first = password_tokens(api, sales_channel)
    second = refresh(api, sales_channel, first["refresh_token"])
    assert second.status_code == 200, second.content

    # when its refresh token is rotated
    with CaptureQueriesContext(connection) as captured:
        answer = refresh(api, sales_channel, second.json()["refresh_token"])

    # then
    assert answer.status_code == 200, answer.content
    assert statements(captured) == ROTATION
