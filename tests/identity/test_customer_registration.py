"""POST /commerceapi/customers: a storefront's guest registers a customer account (e-mail and
password), who then signs in with the password grant."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from identity.http.throttles import CustomerRegisterAddressThrottle
from identity.models import Customer, LocalAccount
from tests.conftest import (
    Shopper,
    Storefront,
    assert_problem,
    bearer_headers,
    iso,
    problem,
    tables_snapshot,
)
from tests.identity.oauth_helpers import (
    EMAIL,
    PASSWORD,
    Client,
    make_client,
    password_tokens,
    token_request,
)

URL = "/commerceapi/customers"
NEW_PASSWORD = "a quiet walk by the river"
INSUFFICIENT_SCOPE = problem(
    "insufficient_scope",
    "Insufficient scope",
    403,
    "The credentials are valid but lack the scope this endpoint needs.",
    2041,
)


@pytest.fixture
def guest(api: APIClient, sales_channel: Client) -> dict[str, str]:
    """The bearer of a sales channel's guest (client_credentials): it holds customers:create."""
    answer = token_request(api, grant_type="client_credentials", client_id=sales_channel.client_id)
    assert answer.status_code == 200, answer.content
    assert "customers:create" in answer.json()["scope"].split()
    return bearer_headers(answer.json()["access_token"])


def register(api: APIClient, headers: dict[str, str], **body: Any) -> Any:
    return api.post(URL, body, format="json", **headers)


def profile_of(registered: Customer) -> dict[str, Any]:
    return {
        "id": str(registered.public_id),
        "email": registered.email,
        "emailVerified": False,
        "name": registered.name,
        "group": "",
        "createdAt": iso(registered.created_at),
        "lastSeenAt": None,
    }


def state() -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The tables a registration could change, local accounts included."""
    return tables_snapshot(), list(LocalAccount.objects.order_by("pk").values())


# --- Registering ----------------------------------------------------------------------------


def test_a_guest_registers_a_customer_who_then_signs_in(
    api: APIClient,
    guest: dict[str, str],
    sales_channel: Client,
    storefront: Storefront,
) -> None:
    # when the guest registers Grace
    answer = register(
        api, guest, email="grace@example.com", password=NEW_PASSWORD, name="Grace Hopper"
    )

    # then 201 with her profile, never cached
    assert answer.status_code == 201, answer.content
    assert answer["Cache-Control"] == "no-store"
    grace = Customer.objects.get(email="grace@example.com")
    assert answer.json() == profile_of(grace)
    assert (grace.tenant_id, grace.name, grace.is_active) == (
        storefront.tenant.pk,
        "Grace Hopper",
        True,
    )
    # the password is stored hashed
    account = LocalAccount.objects.get(customer=grace)
    assert NEW_PASSWORD not in account.password

    # and the password grant signs her in
    tokens = password_tokens(api, sales_channel, "grace@example.com", NEW_PASSWORD)
    assert tokens["scope"] == "cart:read cart:write catalog:read customer:read"


def test_the_name_is_optional(api: APIClient, guest: dict[str, str]) -> None:
    # when the guest registers without a name
    answer = register(api, guest, email="grace@example.com", password=NEW_PASSWORD)

    # then
    assert answer.status_code == 201, answer.content
    assert answer.json()["name"] == ""


def test_the_email_is_normalised_to_lower_case(
    api: APIClient,
    guest: dict[str, str],
    sales_channel: Client,
) -> None:
    # when the guest registers a mixed-case e-mail with spaces around it
    answer = register(api, guest, email="  Grace.Hopper@Example.COM ", password=NEW_PASSWORD)

    # then it is stored in lower case, and she signs in with either spelling
    assert answer.status_code == 201, answer.content
    assert answer.json()["email"] == "grace.hopper@example.com"
    assert LocalAccount.objects.get().email == "grace.hopper@example.com"
    password_tokens(api, sales_channel, "grace.hopper@example.com", NEW_PASSWORD)
    password_tokens(api, sales_channel, "GRACE.HOPPER@example.com", NEW_PASSWORD)


@pytest.mark.parametrize("email", [EMAIL, EMAIL.upper(), " Ada@Example.com"])
def test_an_email_taken_in_any_case_is_a_conflict_and_changes_nothing(
    api: APIClient,
    guest: dict[str, str],
    customer: Customer,
    email: str,
) -> None:
    # given Ada's account
    before = state()

    # when the guest registers her e-mail again, in any case
    answer = register(api, guest, email=email, password=NEW_PASSWORD)

    # then 409 email_taken naming the e-mail, and nothing changed
    assert_problem(
        answer,
        problem(
            "email_taken",
            "E-mail taken",
            409,
            "A customer with this e-mail exists already.",
            2070,
            [
                {
                    "field": "email",
                    "code": "email_taken",
                    "message": "A customer with this e-mail exists already.",
                }
            ],
        ),
    )
    assert state() == before


def test_the_same_email_registers_in_another_shop(
    api: APIClient,
    customer: Customer,
    other_storefront: Storefront,
) -> None:
    # given a guest of another tenant's sales channel
    other = make_client(other_storefront, name="Globex shop")
    bearer = token_request(api, grant_type="client_credentials", client_id=other.client_id)

    # when it registers Ada's e-mail
    answer = register(
        api, bearer_headers(bearer.json()["access_token"]), email=EMAIL, password=NEW_PASSWORD
    )

    # then that shop has its own Ada
    assert answer.status_code == 201, answer.content
    assert Customer.objects.filter(email=EMAIL).count() == 2


# --- Invalid input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Sh0rt!", id="too short"),
        pytest.param("password123", id="common"),
        pytest.param("9183746520", id="numeric"),
        pytest.param("", id="empty"),
        pytest.param("x" * 1025, id="too long"),
    ],
)
def test_a_weak_password_is_refused_naming_the_password(
    api: APIClient, guest: dict[str, str], password: str
) -> None:
    # given
    before = state()

    # when the guest registers with a weak password
    answer = register(api, guest, email="grace.hopper@example.com", password=password)

    # then 400 naming the password only, and nothing changed
    assert answer.status_code == 400, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert (body["code"], body["type"]) == (1000, "urn:commerceapi:problem:validation_failed")
    assert [error["field"] for error in body["errors"]] == ["password"]
    assert state() == before


@pytest.mark.parametrize(
    "email",
    ["not an e-mail", "grace@", "@example.com", "grace@example..com", "", "x" * 250 + "@e.com"],
)
def test_a_malformed_email_is_refused_naming_the_email(
    api: APIClient, guest: dict[str, str], email: str
) -> None:
    # given
    before = state()

    # when the guest registers a malformed e-mail
    answer = register(api, guest, email=email, password=NEW_PASSWORD)

    # then 400 naming the e-mail, and nothing changed
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["code"] == 1000
    assert [error["field"] for error in body["errors"]] == ["email"]
    assert state() == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"password": NEW_PASSWORD}, id="no email"),
        pytest.param({"email": "grace@example.com"}, id="no password"),
        pytest.param({"email": ["grace@example.com"], "password": NEW_PASSWORD}, id="list"),
        pytest.param({"email": "grace@example.com", "password": 12345678901}, id="number"),
    ],
)
def test_missing_or_mistyped_fields_are_refused(
    api: APIClient, guest: dict[str, str], body: dict[str, Any]
) -> None:
    # when the guest sends an incomplete body
    answer = api.post(URL, body, format="json", **guest)

    # then 400, and no customer
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == 1000
    assert not Customer.objects.exists()


def test_mass_assignment_is_ignored(
    api: APIClient,
    guest: dict[str, str],
    storefront: Storefront,
    other_storefront: Storefront,
) -> None:
    # when the guest sends fields the API sets itself
    answer = register(
        api,
        guest,
        email="grace@example.com",
        password=NEW_PASSWORD,
        is_active=False,
        isActive=False,
        tenant=other_storefront.tenant.pk,
        tenant_id=other_storefront.tenant.pk,
        group="vip",
        public_id="00000000-0000-0000-0000-000000000001",
        id="00000000-0000-0000-0000-000000000001",
        email_verified=True,
        emailVerified=True,
    )

    # then the customer is what a plain registration makes
    assert answer.status_code == 201, answer.content
    grace = Customer.objects.get()
    assert answer.json() == profile_of(grace)
    assert grace.is_active
    assert grace.tenant_id == storefront.tenant.pk
    assert grace.group == ""
    assert str(grace.public_id) != "00000000-0000-0000-0000-000000000001"
    assert grace.email_verified is False


def test_a_password_too_similar_to_the_email_is_refused_naming_the_password(
    api: APIClient, guest: dict[str, str]
) -> None:
    # given (a server error would be an answer, not an exception: it was a 500 once)
    api.raise_request_exception = False
    before = state()

    # when the guest registers with a password that is mostly the e-mail
    answer = register(api, guest, email="grace.hopper@example.com", password="grace.hopper@example")

    # then 400 naming the password, and nothing changed
    assert answer.status_code == 400, answer.content
    assert [error["field"] for error in answer.json()["errors"]] == ["password"]
    assert state() == before


def test_a_password_that_is_the_name_is_refused_naming_the_password(
    api: APIClient, guest: dict[str, str]
) -> None:
    # when the guest registers with the customer's name as the password
    answer = register(
        api,
        guest,
        email="grace@example.com",
        password="admiral grace hopper",
        name="Admiral Grace Hopper",
    )

    # then 400 naming the password, and no customer
    assert answer.status_code == 400, answer.content
    assert [error["field"] for error in answer.json()["errors"]] == ["password"]
    assert not Customer.objects.exists()


# --- Who may register -----------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["X-Auth-Key anonymous token", "customer token", "client token"])
def test_tokens_without_customers_create_are_refused(
    api: APIClient,
    shopper: Shopper,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    caller: str,
) -> None:
    # given a valid token that lacks customers:create
    if caller == "X-Auth-Key anonymous token":
        bearer = shopper.token
    elif caller == "customer token":
        bearer = password_tokens(api, sales_channel, EMAIL, PASSWORD)["access_token"]
    else:
        answer = token_request(api, integration.basic(), grant_type="client_credentials")
        assert answer.status_code == 200, answer.content
        bearer = answer.json()["access_token"]
    before = state()

    # when it registers a customer
    answer = register(api, bearer_headers(bearer), email="grace@example.com", password=NEW_PASSWORD)

    # then 403 insufficient_scope, and nothing changed
    assert_problem(answer, INSUFFICIENT_SCOPE)
    assert state() == before


def test_without_a_bearer_the_answer_is_401(api: APIClient, storefront: Storefront) -> None:
    # when nothing, or only the storefront's X-Auth-Key, is sent
    answers = [
        register(api, {}, email="grace@example.com", password=NEW_PASSWORD),
        register(api, {"HTTP_X_AUTH_KEY": storefront.key}, email="grace@example.com", password="x"),
    ]

    # then 401, and no customer
    for answer in answers:
        assert_problem(
            answer,
            problem(
                "credentials_missing",
                "Authentication required",
                401,
                "Authentication credentials were not provided.",
                2000,
            ),
        )
        assert answer["WWW-Authenticate"] == 'Bearer realm="commerceapi"'
    assert not Customer.objects.exists()


# --- Throttling -----------------------------------------------------------------------------


def test_registrations_are_throttled_per_address(
    api: APIClient, guest: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three registrations a minute per address (DRF reads the rates at class definition),
    # spent by one address on a success, a weak password and a duplicate
    monkeypatch.setattr(
        CustomerRegisterAddressThrottle, "THROTTLE_RATES", {"customer_register_address": "3/min"}
    )
    address = {**guest, "REMOTE_ADDR": "198.51.100.7"}
    spent = [
        register(api, address, email="a@example.com", password=NEW_PASSWORD),
        register(api, address, email="b@example.com", password="weak"),
        register(api, address, email="a@example.com", password=NEW_PASSWORD),
    ]
    assert [answer.status_code for answer in spent] == [201, 400, 409]

    # when the address registers once more
    answer = register(api, address, email="c@example.com", password=NEW_PASSWORD)

    # then 429 with Retry-After, and no customer made
    assert answer.status_code == 429, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    assert 1 <= int(answer["Retry-After"]) <= 60
    body = answer.json()
    assert body == {
        "type": "urn:commerceapi:problem:throttled",
        "title": "Too many requests",
        "status": 429,
        "detail": body["detail"],
        "code": 1029,
    }
    assert not Customer.objects.filter(email="c@example.com").exists()
    # and another address still registers
    other = register(
        api, {**guest, "REMOTE_ADDR": "198.51.100.8"}, email="c@example.com", password=NEW_PASSWORD
    )
    assert other.status_code == 201, other.content
