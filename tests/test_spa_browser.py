"""The example storefront page (examples/spa/) in headless Chromium, against a live API on
another origin, seeded as ``make run`` seeds it: an anonymous shopper fills a cart, signs in
with the password grant, keeps the cart (migration), checks out with an Idempotency-Key and
sees the order, and a retry of the checkout is read as a replay from the exposed header. A page
on an origin the storefront app does not allow gets nothing from the API.

The API runs as ``make run`` serves it (runserver, SQLite and the database's cache table), on a
file of its own; the page is served by Python's static file server, as ``make spa`` serves it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browsers import chromium
from tests.servers import (
    HOST,
    ROOT,
    Server,
    embedded_environment,
    manage,
    runserver_command,
    served,
)

SPA_DIRECTORY = ROOT / "examples" / "spa"
WAIT_SECONDS = 30


@dataclass
class Shop:
    api: Server
    page: Server
    files: Path

    def read(self, name: str) -> str:
        return (self.files / name).read_text().strip()

    def page_url(self, host: str = HOST) -> str:
        query = urlencode(
            {
                "api": self.api.base_url,
                "key": self.read(".demo-storefront-key"),
                "clientId": self.read(".demo-sales-channel-client-id"),
            }
        )
        return f"http://{host}:{self.page.port}/index.html?{query}"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The page on its own origin, and the API seeded by demo_seed allowing that origin."""
    directory = tmp_path_factory.mktemp("spa")
    environment = embedded_environment(directory)
    static = [sys.executable, "-m", "http.server", "{port}", "--bind", HOST]
    static += ["--directory", str(SPA_DIRECTORY)]
    with served(static, environment, directory / "page.log", ready_path="/index.html") as page:
        manage(
            environment,
            "demo_seed",
            "--quiet",
            f"--files-dir={directory}",
            f"--spa-origin=http://{HOST}:{page.port}",
        )
        with served(runserver_command(), environment, directory / "api.log") as api:
            yield Shop(api=api, page=page, files=directory)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromedriver.log") as driver:
        yield driver


def click_and_wait(browser: webdriver.Chrome, element_id: str) -> str:
    """Click a button of the page, wait until its calls are done; the page's last message."""
    browser.find_element(By.ID, element_id).click()
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda driver: driver.find_element(By.TAG_NAME, "body").get_attribute("data-busy")
        == "false"
    )
    return browser.find_element(By.ID, "status").text


def text(browser: webdriver.Chrome, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def assert_no_error(browser: webdriver.Chrome) -> None:
    status = browser.find_element(By.ID, "status")
    assert status.get_attribute("class") != "error", status.text


def test_the_storefront_page_signs_in_keeps_the_cart_and_checks_out_once(
    shop: Shop, browser: webdriver.Chrome
) -> None:
    # given the page on its own origin
    browser.get(shop.page_url())
    WebDriverWait(browser, WAIT_SECONDS).until(
        expected_conditions.text_to_be_present_in_element_attribute(
            (By.TAG_NAME, "body"), "data-busy", "false"
        )
    )

    # when an anonymous shopper starts and puts a T-shirt and a mug in the cart
    assert click_and_wait(browser, "start").startswith("Anonymous shopper ")
    assert_no_error(browser)
    anonymous = text(browser, "shopper")
    assert anonymous.startswith("anonymous ")
    WebDriverWait(browser, WAIT_SECONDS).until(
        expected_conditions.presence_of_element_located((By.ID, "add-TEE-BLK-M"))
    )
    assert click_and_wait(browser, "add-TEE-BLK-M") == "Added TEE-BLK-M"
    assert click_and_wait(browser, "add-TEE-BLK-M") == "Added TEE-BLK-M"
    assert click_and_wait(browser, "add-MUG-LOGO") == "Added MUG-LOGO"
    assert text(browser, "subtotal") == "49.30 EUR"

    # and signs in as the demo customer with the password grant
    browser.find_element(By.ID, "email").clear()
    browser.find_element(By.ID, "email").send_keys("demo@example.com")
    browser.find_element(By.ID, "password").send_keys(shop.read(".demo-customer-password"))
    signed_in = click_and_wait(browser, "sign-in")

    # then the anonymous cart is the customer's now
    assert signed_in == "Signed in as demo@example.com, cart carried over (2 line(s))"
    assert text(browser, "shopper") == "signed in as demo@example.com"
    lines = browser.find_elements(By.CSS_SELECTOR, "#cart tr[data-sku]")
    assert [line.text for line in lines] == [
        "TEE-BLK-M T-shirt, black, M 2 19.90 39.80",
        "MUG-LOGO Logo mug 1 9.50 9.50",
    ]
    assert text(browser, "subtotal") == "49.30 EUR"

    # when the customer checks out
    placed = click_and_wait(browser, "checkout")

    # then the order is placed and shown as the API stores it, and the cart is empty
    assert placed == "Order DEMO-000001 placed"
    assert text(browser, "order-number") == "DEMO-000001"
    assert text(browser, "order-status") == "placed, payment pending"
    assert text(browser, "order-total") == "49.30 EUR"
    assert text(browser, "order-lines") == "TEE-BLK-M: 2, MUG-LOGO: 1"
    assert text(browser, "order-replayed") == "false"
    assert text(browser, "order-location") == "/commerceapi/orders/DEMO-000001"
    assert text(browser, "cart") == "empty"

    # when the same checkout is sent again with its Idempotency-Key
    again = click_and_wait(browser, "checkout-again")

    # then the page reads the replay from the exposed header, and nothing is ordered twice
    assert again == "Order DEMO-000001 (the first answer again, nothing ordered twice)"
    assert text(browser, "order-replayed") == "true"
    assert text(browser, "order-number") == "DEMO-000001"


def test_a_refusal_shows_the_code_and_the_exposed_www_authenticate(
    shop: Shop, browser: webdriver.Chrome
) -> None:
    # given the page with a key that is no storefront's
    browser.get(shop.page_url())
    key = browser.find_element(By.ID, "key")
    key.clear()
    key.send_keys("sfk_not_a_key")

    # when the shopper starts
    refused = click_and_wait(browser, "start")

    # then the page reads the API's problem and its WWW-Authenticate header
    assert refused.startswith("POST /commerceapi/authentication/: 401\ncode 20"), refused
    assert "WWW-Authenticate: " in refused, refused


def test_a_page_on_an_origin_the_storefront_does_not_allow_gets_nothing(
    shop: Shop, browser: webdriver.Chrome
) -> None:
    # given the same page, served on an origin the demo storefront does not list
    browser.get(shop.page_url(host="localhost"))

    # when the shopper starts
    refused = click_and_wait(browser, "start")

    # then the browser withholds the API's answer
    assert refused.startswith("Network or CORS failure: TypeError"), refused
    assert text(browser, "shopper") == "none yet"
