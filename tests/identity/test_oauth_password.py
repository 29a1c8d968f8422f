"""Password. Part of the test_oauth_token suite (see its docstring)."""

from __future__ import annotations

import types
from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import cache
from rest_framework.test import APIClient

from identity.customers.customers import customer_set_active
from identity.http.throttles import OAuthPasswordAddressThrottle, OAuthPasswordClientThrottle
from identity.models import (
    GrantType,
    OAuthClientKind,
    OAuthGrant,
    RefreshToken,
)
from tests.carts.migration_fixtures import EMPTY_CUSTOMER_CART
from tests.conftest import Storefront
from tests.identity.oauth_helpers import (
    EMAIL,
    PASSWORD,
    Client,
    customer_headers,
    make_client,
    token_request,
)
from tests.identity.oauth_token_common import (
    CART_URL,
    CUSTOMER_SCOPE,
    LOCKED,
    WRONG_PASSWORD,
    assert_error_code,
    assert_no_store,
    assert_oauth_error,
    claims_of,
    row_of,
    sign_in,
    token_state,
)

# --- password ---------------------------------------------------------------------------------


def test_password_sign_in_issues_a_customer_token_and_a_refresh_token(
    api: APIClient, storefront: Storefront, sales_channel: Client, customer: Any
) -> None:
    # when
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)

    # then
    assert answer.status_code == 200, answer.content
    assert_no_store(answer)
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": CUSTOMER_SCOPE,
        "refresh_token": body["refresh_token"],
    }
    grant = OAuthGrant.objects.get()
    assert (grant.client_id, grant.customer_id, grant.scope, grant.revoked_at) == (
        sales_channel.client.pk,
        customer.pk,
        CUSTOMER_SCOPE,
        None,
    )
    assert row_of(body["refresh_token"]).grant_id == grant.pk
    claims = claims_of(body["access_token"])
    assert claims["token_type"] == "customer_access"
    assert claims["sub"] == str(customer.public_id)
    assert claims["client_id"] == sales_channel.client_id
    assert claims["tenant"] == storefront.tenant.pk
    assert claims["grant"] == str(grant.public_id)
    assert claims["scope"] == CUSTOMER_SCOPE

    # and the token is the customer's on the cart
    headers = customer_headers(api, body["access_token"])
    cart = api.get(CART_URL, **headers)
    assert cart.status_code == 200, cart.content
    assert cart.json() == EMPTY_CUSTOMER_CART


@pytest.fixture
def hasher_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the test hasher hashes (the tests' PASSWORD_HASHERS is MD5 only)."""
    calls: list[str] = []
    encode = MD5PasswordHasher.encode

    def counting_encode(self: MD5PasswordHasher, password: str, salt: str) -> str:
        calls.append(password)
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting_encode)
    return calls


def test_wrong_password_and_unknown_email_answer_alike_and_both_run_the_hasher(
    api: APIClient, sales_channel: Client, customer: Any, hasher_calls: list[str]
) -> None:
    # given
    before = token_state()

    # when
    wrong_password = sign_in(api, sales_channel, EMAIL, "not the password")
    wrong_password_hashes = len(hasher_calls)
    unknown_email = sign_in(api, sales_channel, "nobody@example.com", "not the password")
    unknown_email_hashes = len(hasher_calls) - wrong_password_hashes

    # then the same answer, and the hasher ran for both
    assert wrong_password.status_code == unknown_email.status_code == 400
    assert wrong_password.json() == unknown_email.json() == WRONG_PASSWORD
    assert_oauth_error(unknown_email, 400, WRONG_PASSWORD)
    assert wrong_password_hashes == unknown_email_hashes == 1
    assert hasher_calls[0] == "not the password"
    assert token_state() == before


@pytest.mark.parametrize(
    "email", ["ADA@EXAMPLE.COM", "Ada@Example.com", "  ada@example.com "], ids=str.strip
)
def test_the_email_is_case_insensitive(
    api: APIClient, sales_channel: Client, customer: Any, email: str
) -> None:
    # when
    answer = sign_in(api, sales_channel, email, PASSWORD)

    # then
    assert answer.status_code == 200, answer.content
    assert claims_of(answer.json()["access_token"])["sub"] == str(customer.public_id)


def test_the_password_is_case_sensitive(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # when
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD.upper())

    # then
    assert_oauth_error(answer, 400, WRONG_PASSWORD)


def test_a_deactivated_customer_cannot_sign_in(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # given
    customer_set_active(customer=customer, is_active=False)
    before = token_state()

    # when the right password is sent
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)

    # then it answers as for a wrong password, and no sign-in is recorded
    assert_oauth_error(answer, 400, WRONG_PASSWORD)
    assert token_state() == before


@pytest.mark.parametrize(
    ("form", "missing"),
    [({"password": PASSWORD}, "username"), ({"username": EMAIL}, "password")],
)
def test_password_grant_parameters_are_required(
    api: APIClient, sales_channel: Client, customer: Any, form: dict[str, str], missing: str
) -> None:
    # when
    answer = token_request(api, grant_type="password", client_id=sales_channel.client_id, **form)

    # then
    assert_oauth_error(
        answer,
        400,
        {"error": "invalid_request", "error_description": f"The {missing} parameter is required."},
    )


def test_the_password_grant_scope_narrows_and_never_widens(
    api: APIClient, sales_channel: Client, customer: Any
) -> None:
    # when
    narrowed = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password=PASSWORD,
        scope="cart:read",
    )
    widened = token_request(
        api,
        grant_type="password",
        client_id=sales_channel.client_id,
        username=EMAIL,
        password=PASSWORD,
        scope="cart:read customers:create",
    )

    # then
    assert narrowed.status_code == 200, narrowed.content
    assert narrowed.json()["scope"] == "cart:read"
    assert OAuthGrant.objects.get().scope == "cart:read"
    assert_oauth_error(
        widened,
        400,
        {
            "error": "invalid_scope",
            "error_description": "Not granted to this client or subject: customers:create.",
        },
    )
    assert OAuthGrant.objects.count() == 1


@pytest.fixture
def lockout(settings: Any) -> int:
    settings.PASSWORD_LOCKOUT_ATTEMPTS = 3
    settings.PASSWORD_LOCKOUT_SECONDS = 600
    return 3


def test_after_the_allowed_failures_the_right_password_is_refused(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int
) -> None:
    # given as many failures as allowed
    for _ in range(lockout):
        assert_oauth_error(sign_in(api, sales_channel, EMAIL, "guess"), 400, WRONG_PASSWORD)
    before = token_state()

    # when the right password comes
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)

    # then the e-mail is locked, and nothing is issued
    assert_oauth_error(answer, 400, LOCKED)
    assert token_state() == before
    # and another e-mail is not
    assert sign_in(api, sales_channel, "other@example.com", "guess").json() == WRONG_PASSWORD


def test_fewer_failures_than_allowed_do_not_lock_and_a_success_starts_over(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int
) -> None:
    # given one failure short of the lock, then a success
    for _ in range(lockout - 1):
        sign_in(api, sales_channel, EMAIL, "guess")
    assert sign_in(api, sales_channel, EMAIL, PASSWORD).status_code == 200

    # when it fails again, one failure short of the lock
    for _ in range(lockout - 1):
        assert sign_in(api, sales_channel, EMAIL, "guess").json() == WRONG_PASSWORD

    # then the right password still works
    assert sign_in(api, sales_channel, EMAIL, PASSWORD).status_code == 200


def test_an_unknown_email_locks_the_same_way(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int
) -> None:
    # when a known and an unknown e-mail fail the same number of times, then try again
    known = [sign_in(api, sales_channel, EMAIL, "guess") for _ in range(lockout + 1)]
    unknown = [
        sign_in(api, sales_channel, "nobody@example.com", "guess") for _ in range(lockout + 1)
    ]

    # then both answer the same, request by request
    assert [(a.status_code, a.json()) for a in known] == [
        (a.status_code, a.json()) for a in unknown
    ]
    assert [a.json() for a in known] == [WRONG_PASSWORD] * lockout + [LOCKED]
    assert_oauth_error(unknown[-1], 400, LOCKED)


def test_a_locked_email_still_runs_the_hasher(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int, hasher_calls: list[str]
) -> None:
    # given a locked e-mail
    for _ in range(lockout):
        sign_in(api, sales_channel, EMAIL, "guess")
    hashed_before = len(hasher_calls)

    # when
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)

    # then the lock answer takes the hasher's time too
    assert answer.json() == LOCKED
    assert len(hasher_calls) - hashed_before == 1


@pytest.fixture
def cache_clock(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A local-memory cache whose clock the test moves forward (the cache's expiry only)."""
    import django.core.cache.backends.locmem as locmem

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "oauth-token-tests-clock",
        }
    }
    cache.clear()
    offset = {"seconds": 0.0}
    real_time = locmem.time.time
    monkeypatch.setattr(
        locmem, "time", types.SimpleNamespace(time=lambda: real_time() + offset["seconds"])
    )

    def advance(seconds: float) -> None:
        offset["seconds"] += seconds

    return advance


def test_the_lock_ends_after_the_window(
    api: APIClient, sales_channel: Client, customer: Any, lockout: int, cache_clock: Any
) -> None:
    # given a locked e-mail
    for _ in range(lockout):
        sign_in(api, sales_channel, EMAIL, "guess")
    assert sign_in(api, sales_channel, EMAIL, PASSWORD).json() == LOCKED

    # when the window is nearly over, it is still locked
    cache_clock(590)
    assert sign_in(api, sales_channel, EMAIL, PASSWORD).json() == LOCKED

    # then once the window is over the right password works
    cache_clock(11)
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD)
    assert answer.status_code == 200, answer.content


@pytest.fixture
def password_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three password sign-ins a minute per address (DRF reads the rates at class definition)."""
    monkeypatch.setattr(
        OAuthPasswordAddressThrottle, "THROTTLE_RATES", {"oauth_password_address": "3/min"}
    )


def test_password_sign_ins_are_throttled_per_address(
    api: APIClient, sales_channel: Client, customer: Any, password_rate: None
) -> None:
    # given an address that used its sign-ins
    for n in range(3):
        answer = sign_in(
            api, sales_channel, f"guess{n}@example.com", "guess", REMOTE_ADDR="198.51.100.7"
        )
        assert answer.json() == WRONG_PASSWORD
    before = token_state()

    # when it tries again, even with the right password
    answer = sign_in(api, sales_channel, EMAIL, PASSWORD, REMOTE_ADDR="198.51.100.7")

    # then
    assert_oauth_error(
        answer,
        429,
        {"error": "slow_down", "error_description": "Too many requests; see Retry-After."},
    )
    assert 1 <= int(answer["Retry-After"]) <= 60
    assert token_state() == before
    # and another address, or another grant from the same address, is not throttled
    other = sign_in(api, sales_channel, EMAIL, PASSWORD, REMOTE_ADDR="198.51.100.8")
    assert other.status_code == 200, other.content
    guest = token_request(
        api,
        {"REMOTE_ADDR": "198.51.100.7"},
        grant_type="client_credentials",
        client_id=sales_channel.client_id,
    )
    assert guest.status_code == 200, guest.content


def test_a_rotating_forwarded_for_does_not_escape_the_password_throttle(
    api: APIClient, sales_channel: Client, customer: Any, password_rate: None, settings: Any
) -> None:
    # given no trusted proxy in front of the API
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    for n in range(3):
        sign_in(
            api,
            sales_channel,
            EMAIL,
            "guess",
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )

    # when the client writes yet another X-Forwarded-For
    answer = sign_in(
        api,
        sales_channel,
        EMAIL,
        PASSWORD,
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )

    # then the socket address decides
    assert_error_code(answer, 429, "slow_down")
    assert answer.has_header("Retry-After")


def test_a_confidential_clients_password_sign_ins_are_throttled_per_client(
    api: APIClient, storefront: Storefront, customer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a web app's server, signing in all its users from one address, and a budget of 3
    monkeypatch.setattr(
        OAuthPasswordClientThrottle, "THROTTLE_RATES", {"oauth_password_client": "3/min"}
    )
    webapp = make_client(storefront, OAuthClientKind.WEBAPP, name="Web app")
    other = make_client(storefront, OAuthClientKind.WEBAPP, name="Other web app")

    def sign_in_through(client: Client) -> Any:
        return token_request(
            api,
            {**client.basic(), "REMOTE_ADDR": "198.51.100.7"},
            grant_type="password",
            username=EMAIL,
            password=PASSWORD,
        )

    # when it signs in more users than its budget
    answers = [sign_in_through(webapp) for _ in range(4)]

    # then the fourth waits, while another client from the same address does not
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"] == "slow_down"
    assert sign_in_through(other).status_code == 200


def test_a_client_without_the_refresh_grant_gets_no_refresh_token(
    api: APIClient, storefront: Storefront, customer: Any
) -> None:
    # given a sales channel that may sign customers in but not refresh
    kiosk = make_client(
        storefront,
        name="Kiosk",
        grant_types=[GrantType.CLIENT_CREDENTIALS, GrantType.PASSWORD],
    )

    # when
    answer = sign_in(api, kiosk, EMAIL, PASSWORD)

    # then an access token alone, belonging to no refresh family
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "expires_in": 900,
        "scope": CUSTOMER_SCOPE,
    }
    assert "grant" not in claims_of(body["access_token"])
    assert OAuthGrant.objects.count() == RefreshToken.objects.count() == 0
    assert api.get(CART_URL, **customer_headers(api, body["access_token"])).status_code == 200
