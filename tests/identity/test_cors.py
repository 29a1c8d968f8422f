"""CORS for storefronts in a browser: the headers a script may read, the paths a storefront's
origins open (the API's only), and allowed origins checked as origins wherever they are entered:
the model, the admin and the command."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.test import Client

from identity.models import StorefrontApp
from identity.tenancy.storefront import storefront_app_save
from tests.conftest import Storefront, make_storefront, run_command
from tests.factories import TenantFactory

SHOP = "https://shop.example"
ANOTHER_SHOP = "http://127.0.0.1:8301"

# Values that a browser never sends as its Origin, so that an allowed list holding one of them
# would silently never match.
NOT_ORIGINS = [
    "127.0.0.1:8302/",
    "http://127.0.0.1:8302/",
    "https://shop.example/cart",
    "https://shop.example?x=1",
    "shop.example",
    "https://Shop.example",
    "https://shop.example:443",
    "http://shop.example:80",
    "https://user@shop.example",
    "https://shop.example:99999",
    "ftp://shop.example",
    "https://shop.example ",
    "null",
    "",
]
NOT_STRINGS: list[Any] = [8302, None, True, ["https://shop.example"], {"origin": SHOP}]


@pytest.fixture
def browser_storefront(db: None) -> Storefront:
    return make_storefront(tenant=TenantFactory(slug="acme"), allowed_cors_origins=[SHOP])


def preflight(client: Client, path: str, origin: str = SHOP, method: str = "POST") -> Any:
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, x-customer-context, idempotency-key",
    )


# --- What a script may read -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["Retry-After", "WWW-Authenticate", "Idempotent-Replayed", "Location"]
)
def test_a_storefront_script_may_read_the_headers_the_api_answers_with(
    client: Client, browser_storefront: Storefront, header: str
) -> None:
    # when the storefront's page reads an answer of the API
    answer = client.get("/commerceapi/cart", HTTP_ORIGIN=SHOP)

    # then the refusal's headers are exposed to it, beside the origin
    assert answer.status_code == 401
    assert answer["Access-Control-Allow-Origin"] == SHOP
    exposed = [name.strip().lower() for name in answer["Access-Control-Expose-Headers"].split(",")]
    assert header.lower() in exposed


def test_a_refusal_in_the_browser_carries_www_authenticate_and_exposes_it(
    client: Client, browser_storefront: Storefront
) -> None:
    # when a page sends a bad bearer
    answer = client.get("/commerceapi/cart", HTTP_ORIGIN=SHOP, HTTP_AUTHORIZATION="Bearer x.y.z")

    # then the answer says why, and the page may read it
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert "www-authenticate" in answer["Access-Control-Expose-Headers"]


def test_a_preflight_allows_the_request_headers_a_storefront_sends(
    client: Client, browser_storefront: Storefront
) -> None:
    answer = preflight(client, "/commerceapi/orders")

    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == SHOP
    allowed = answer["Access-Control-Allow-Headers"]
    for header in ("authorization", "x-customer-context", "idempotency-key", "x-auth-key"):
        assert header in allowed


# --- Which paths a storefront's origins open --------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/commerceapi/authentication/", "/oauth/token", "/customer/current.jwt"]
)
def test_a_storefront_origin_opens_the_api_paths(
    client: Client, browser_storefront: Storefront, path: str
) -> None:
    answer = preflight(client, path)

    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == SHOP


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/login/", "/api/schema/", "/api/docs/", "/healthz"]
)
def test_a_storefront_origin_opens_nothing_outside_the_api(
    client: Client, browser_storefront: Storefront, path: str
) -> None:
    # when the storefront's origin asks for a path that is not the API's
    answer = preflight(client, path, method="GET")
    read = client.get(path, HTTP_ORIGIN=SHOP)

    # then no CORS header lets its script in
    assert "Access-Control-Allow-Origin" not in answer
    assert "Access-Control-Allow-Origin" not in read


def test_an_origin_no_storefront_allows_is_not_let_in(
    client: Client, browser_storefront: Storefront
) -> None:
    answer = preflight(client, "/commerceapi/cart", origin="https://evil.example")

    assert "Access-Control-Allow-Origin" not in answer


def test_an_origin_added_to_an_app_opens_the_api_at_once(
    client: Client, browser_storefront: Storefront, django_capture_on_commit_callbacks: Any
) -> None:
    # given a preflight from a new origin was refused (and the refusal's set is cached)
    assert "Access-Control-Allow-Origin" not in preflight(client, "/commerceapi/cart", ANOTHER_SHOP)

    # when an operator allows it
    app = browser_storefront.app
    app.allowed_cors_origins = [SHOP, ANOTHER_SHOP]
    with django_capture_on_commit_callbacks(execute=True):
        storefront_app_save(app=app)

    # then the next preflight is let in, with no wait for the cache to lapse
    answer = preflight(client, "/commerceapi/cart", ANOTHER_SHOP)
    assert answer["Access-Control-Allow-Origin"] == ANOTHER_SHOP


def test_a_deactivated_apps_origins_no_longer_open_the_api(
    client: Client, browser_storefront: Storefront, django_capture_on_commit_callbacks: Any
) -> None:
    assert preflight(client, "/commerceapi/cart")["Access-Control-Allow-Origin"] == SHOP

    app = browser_storefront.app
    app.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        storefront_app_save(app=app)

    assert "Access-Control-Allow-Origin" not in preflight(client, "/commerceapi/cart")


# --- Origins checked where they are entered ---------------------------------------------------


@pytest.mark.parametrize("value", NOT_ORIGINS + NOT_STRINGS)
def test_the_model_refuses_a_value_that_is_not_an_origin(
    browser_storefront: Storefront, value: Any
) -> None:
    app = browser_storefront.app
    app.allowed_cors_origins = [value]

    with pytest.raises(ValidationError) as refused:
        storefront_app_save(app=app)

    assert "allowed_cors_origins" in refused.value.message_dict
    app.refresh_from_db()
    assert app.allowed_cors_origins == [SHOP]


@pytest.mark.parametrize("value", [SHOP, {"origins": [SHOP]}, [SHOP, SHOP]])
def test_the_model_refuses_anything_but_a_list_of_distinct_origins(
    browser_storefront: Storefront, value: Any
) -> None:
    app = browser_storefront.app
    app.allowed_cors_origins = value

    with pytest.raises(ValidationError):
        storefront_app_save(app=app)


@pytest.mark.parametrize(
    "origins",
    [[], [SHOP], [SHOP, ANOTHER_SHOP, "http://localhost:8001", "https://[::1]:8443"]],
)
def test_the_model_keeps_origins_as_a_browser_sends_them(
    browser_storefront: Storefront, origins: list[str]
) -> None:
    app = browser_storefront.app
    app.allowed_cors_origins = origins

    storefront_app_save(app=app)

    app.refresh_from_db()
    assert app.allowed_cors_origins == origins


def app_form(app: StorefrontApp, origins: str) -> dict[str, str]:
    return {
        "tenant": str(app.tenant_id),
        "name": app.name,
        "anonymous_token_lifetime_seconds": str(app.anonymous_token_lifetime_seconds),
        "anonymous_id_policy": app.anonymous_id_policy,
        "cart_merge_policy": app.cart_merge_policy,
        "allowed_cors_origins": origins,
        "is_active": "on",
        "keys-TOTAL_FORMS": "0",
        "keys-INITIAL_FORMS": "0",
    }


def change_url(app: StorefrontApp) -> str:
    return f"/admin/identity/storefrontapp/{app.pk}/change/"


def test_the_admin_shows_the_origins_one_a_line(
    operator: Client, browser_storefront: Storefront
) -> None:
    app = browser_storefront.app
    app.allowed_cors_origins = [SHOP, ANOTHER_SHOP]
    storefront_app_save(app=app)

    page = operator.get(change_url(app))

    assert page.status_code == 200
    assert f"{SHOP}\n{ANOTHER_SHOP}</textarea>" in page.content.decode()


def test_the_admin_saves_origins_entered_one_a_line(
    operator: Client, browser_storefront: Storefront
) -> None:
    app = browser_storefront.app

    answer = operator.post(change_url(app), app_form(app, f"{SHOP}\r\n\r\n  {ANOTHER_SHOP}  \r\n"))

    assert answer.status_code == 302
    app.refresh_from_db()
    assert app.allowed_cors_origins == [SHOP, ANOTHER_SHOP]


@pytest.mark.parametrize("value", ["127.0.0.1:8302/", "https://shop.example/", "8302"])
def test_the_admin_refuses_an_origin_on_the_field_and_keeps_the_form(
    operator: Client, browser_storefront: Storefront, value: str
) -> None:
    app = browser_storefront.app

    answer = operator.post(change_url(app), app_form(app, f"{SHOP}\n{value}"))

    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert list(errors) == ["allowed_cors_origins"]
    assert value in errors["allowed_cors_origins"][0]
    assert f"{SHOP}\n{value}</textarea>" in answer.content.decode()
    app.refresh_from_db()
    assert app.allowed_cors_origins == [SHOP]


def test_the_command_adds_and_removes_origins(browser_storefront: Storefront) -> None:
    app = browser_storefront.app

    printed = run_command(
        "storefront_origins", "--tenant=acme", f"--app={app.name}", f"--add={ANOTHER_SHOP}"
    )
    assert printed.splitlines()[1:] == [SHOP, ANOTHER_SHOP]
    printed = run_command(
        "storefront_origins", "--tenant=acme", f"--app={app.name}", f"--remove={SHOP}"
    )
    assert printed.splitlines()[1:] == [ANOTHER_SHOP]

    app.refresh_from_db()
    assert app.allowed_cors_origins == [ANOTHER_SHOP]


@pytest.mark.parametrize("value", NOT_ORIGINS)
def test_the_command_refuses_a_value_that_is_not_an_origin(
    browser_storefront: Storefront, value: str
) -> None:
    app = browser_storefront.app

    with pytest.raises(CommandError) as refused:
        run_command("storefront_origins", "--tenant=acme", f"--app={app.name}", f"--add={value}")

    assert repr(value) in str(refused.value)
    app.refresh_from_db()
    assert app.allowed_cors_origins == [SHOP]
