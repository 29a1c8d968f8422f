"""Request bodies are read one way only: UTF-8 (no other charset, no codec that decompresses or
transforms), within the body limit, each JSON key once, and OAuth forms by RFC 6749's rules."""

from __future__ import annotations

import codecs
import io
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import RequestDataTooBig
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from core.parsers import StrictFormParser, StrictJSONParser
from identity.models import Customer
from identity.oauth.errors import printable
from tests.conftest import Shopper, Storefront, assert_problem, problem, tables_snapshot
from tests.identity.oauth_helpers import FORM, Client, password_tokens, token_request

AUTH_URL = "/commerceapi/authentication/"
LINES_URL = "/commerceapi/cart/lines"
REGISTER_URL = "/commerceapi/customers"
OAUTH_URLS = ["/oauth/token", "/oauth/revoke", "/oauth/introspect"]

CHARSET_UNSUPPORTED = problem(
    "charset_unsupported",
    "Unsupported charset",
    415,
    "Request bodies are UTF-8: send charset=utf-8, or no charset parameter.",
    1016,
)
# Every codec Python would accept as a "charset": compressions, transfer encodings, and text
# encodings other than UTF-8 whose decoding changes what the body says.
CODECS = ["bz2", "zlib", "base64", "hex", "quopri", "utf-7", "rot13"]


def encoded(text: str, codec: str) -> bytes:
    """``text`` as a client naming ``charset=codec`` would send it."""
    if codec == "rot13":
        return codecs.encode(text, "rot13").encode()
    if codec == "utf-7":
        return text.encode("utf-7")
    return codecs.encode(text.encode(), codec)


def post(api: APIClient, url: str, body: bytes, content_type: str, **headers: Any) -> Any:
    return api.generic("POST", url, body, content_type=content_type, **headers)


# --- Charsets -------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
def test_a_json_body_in_any_charset_but_utf8_is_415_and_changes_nothing(
    api: APIClient, storefront: Storefront, carted: Shopper, codec: str
) -> None:
    # given bodies the API would accept in UTF-8, encoded with the codec and labelled so
    api.raise_request_exception = False
    content_type = f"application/json; charset={codec}"
    before = tables_snapshot()

    # when they are posted to the anonymous-token and add-to-cart endpoints
    minted = post(
        api,
        AUTH_URL,
        encoded(json.dumps({"anonymousAuthenticationRequest": None}), codec),
        content_type,
        HTTP_X_AUTH_KEY=storefront.key,
    )
    added = post(
        api,
        LINES_URL,
        encoded(json.dumps({"sku": "MUG", "quantity": 1}), codec),
        content_type,
        **carted.headers(),
    )

    # then each is 415 charset_unsupported, and nothing changed
    assert_problem(minted, CHARSET_UNSUPPORTED)
    assert_problem(added, CHARSET_UNSUPPORTED)
    assert tables_snapshot() == before


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("url", OAUTH_URLS)
def test_an_oauth_form_in_any_charset_but_utf8_is_refused_never_a_500(
    api: APIClient, sales_channel: Client, url: str, codec: str
) -> None:
    # given a form the endpoint would read in UTF-8
    api.raise_request_exception = False
    form = urlencode(
        {"grant_type": "client_credentials", "client_id": sales_channel.client_id, "token": "x"}
    )
    before = tables_snapshot()

    # when it is sent encoded with the codec and labelled so
    answer = post(api, url, encoded(form, codec), f"{FORM}; charset={codec}")

    # then 415 charset_unsupported, and nothing changed
    assert_problem(answer, CHARSET_UNSUPPORTED)
    assert tables_snapshot() == before


def test_a_compressed_body_is_never_decompressed(api: APIClient, storefront: Storefront) -> None:
    # given 100 MB of JSON whitespace compressed by bz2 into a few hundred bytes
    bomb = codecs.encode(b"{" + b" " * 100_000_000 + b"}", "bz2")
    assert len(bomb) < 1024

    # when it is posted as charset=bz2
    started = time.perf_counter()
    answer = post(
        api,
        AUTH_URL,
        bomb,
        "application/json; charset=bz2",
        HTTP_X_AUTH_KEY=storefront.key,
    )

    # then it is refused at once, unread
    assert_problem(answer, CHARSET_UNSUPPORTED)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        'application/json; charset="utf-8"',
    ],
)
def test_utf8_with_or_without_its_charset_is_read(
    api: APIClient, carted: Shopper, content_type: str
) -> None:
    # when a line is added with the body labelled as UTF-8, or not labelled
    answer = post(
        api,
        LINES_URL,
        json.dumps({"sku": "MUG", "quantity": 2}).encode(),
        content_type,
        **carted.headers(),
    )

    # then it is read
    assert answer.status_code == 200, answer.content
    assert answer.json()["itemCount"] == 3


def test_a_form_labelled_utf8_is_read(api: APIClient, sales_channel: Client) -> None:
    # when a token is asked for with the form labelled as UTF-8
    answer = post(
        api,
        "/oauth/token",
        urlencode(
            {"grant_type": "client_credentials", "client_id": sales_channel.client_id}
        ).encode(),
        f"{FORM}; charset=UTF-8",
    )

    # then
    assert answer.status_code == 200, answer.content


def test_a_body_that_is_not_utf8_is_malformed(api: APIClient, carted: Shopper) -> None:
    # given a body in Latin-1 labelled as nothing
    before = tables_snapshot()
    body = json.dumps({"sku": "MÜG", "quantity": 1}, ensure_ascii=False).encode("latin-1")

    # when it is posted
    answer = post(api, LINES_URL, body, "application/json", **carted.headers())

    # then 400 malformed_request, and nothing changed
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == 1001
    assert tables_snapshot() == before


def test_a_form_whose_percent_encoded_bytes_are_not_utf8_is_invalid_request(
    api: APIClient, sales_channel: Client
) -> None:
    # when the client_id is percent-encoded Latin-1
    answer = post(api, "/oauth/token", b"grant_type=client_credentials&client_id=%E9t%E9", FORM)

    # then an OAuth invalid_request, not a guess at the text
    assert answer.status_code == 400, answer.content
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "The request body could not be read.",
    }


# --- The limit applies to what is read -------------------------------------------------------


@pytest.mark.parametrize("parser", [StrictJSONParser(), StrictFormParser()])
def test_the_parsers_read_no_more_than_the_limit(settings: Any, parser: Any) -> None:
    # given a body one byte over the limit, whatever Content-Length said
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    stream = io.BytesIO(b'"' + b"a" * 1023 + b'"')

    # when it is parsed, then it is refused as too large
    with pytest.raises(RequestDataTooBig):
        parser.parse(stream, parser.media_type)
    assert stream.tell() == 1025


def test_a_body_at_the_limit_is_parsed(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'"' + b"a" * 1022 + b'"'
    assert StrictJSONParser().parse(io.BytesIO(body), "application/json") == "a" * 1022


# --- Duplicate JSON keys -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key"),
    [
        pytest.param('{"sku": "NOPE", "sku": "MUG", "quantity": 1}', "sku", id="top level"),
        pytest.param('{"sku": "MUG", "quantity": 1, "x": {"a": 1, "a": 2}}', "a", id="nested"),
        pytest.param('{"sku": "MUG", "quantity": 1, "quantity": 9}', "quantity", id="last wins"),
    ],
)
def test_a_json_key_named_twice_is_400_and_changes_nothing(
    api: APIClient, carted: Shopper, body: str, key: str
) -> None:
    # given
    before = tables_snapshot()

    # when a body names a key twice
    answer = post(api, LINES_URL, body.encode(), "application/json", **carted.headers())

    # then 400 json_duplicate_key naming the key, and nothing changed
    assert_problem(
        answer,
        problem(
            "json_duplicate_key",
            "Duplicate JSON key",
            400,
            f'An object in the body names the key "{key}" twice.',
            1041,
        ),
    )
    assert tables_snapshot() == before


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(api: APIClient, carted: Shopper, constant: str) -> None:
    answer = post(
        api,
        LINES_URL,
        f'{{"sku": "MUG", "quantity": {constant}}}'.encode(),
        "application/json",
        **carted.headers(),
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == 1001


def test_a_number_too_long_to_convert_is_malformed(api: APIClient, carted: Shopper) -> None:
    answer = post(
        api,
        LINES_URL,
        b'{"sku": "MUG", "quantity": ' + b"9" * 5000 + b"}",
        "application/json",
        **carted.headers(),
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == 1001


# --- OAuth parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unknown",
    [
        pytest.param([("foo", "1"), ("foo", "2")], id="repeated"),
        pytest.param([("\x01\x7fname\x00", "1"), ("\x01\x7fname\x00", "2")], id="control chars"),
        pytest.param([("state", "a"), ("state", "b"), ("nonce", "c")], id="several"),
    ],
)
def test_unknown_oauth_parameters_are_ignored_even_repeated(
    api: APIClient, sales_channel: Client, unknown: list[tuple[str, str]]
) -> None:
    # when a token request carries unknown parameters, some of them repeated
    form = [("grant_type", "client_credentials"), ("client_id", sales_channel.client_id)]
    answer = post(api, "/oauth/token", urlencode(form + unknown).encode(), FORM)

    # then they are ignored (RFC 6749 section 3.1)
    assert answer.status_code == 200, answer.content
    assert answer.json()["token_type"] == "Bearer"


@pytest.mark.parametrize("url", ["/oauth/revoke", "/oauth/introspect"])
def test_revoke_and_introspect_ignore_unknown_parameters_too(
    api: APIClient, integration: Client, customer: Customer, sales_channel: Client, url: str
) -> None:
    # given a customer's token
    token = password_tokens(api, sales_channel)["access_token"]

    # when it is revoked or introspected with an unknown parameter sent twice
    form = [("token", token), ("extension", "1"), ("extension", "2")]
    answer = post(api, url, urlencode(form).encode(), FORM, **integration.basic())

    # then the unknown parameter changes nothing
    assert answer.status_code == 200, answer.content


def test_a_repeated_known_parameter_is_still_invalid_request(
    api: APIClient, sales_channel: Client
) -> None:
    form = [
        ("grant_type", "client_credentials"),
        ("client_id", sales_channel.client_id),
        ("scope", "catalog:read"),
        ("scope", "cart:read"),
    ]
    answer = post(api, "/oauth/token", urlencode(form).encode(), FORM)
    assert answer.status_code == 400, answer.content
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "The scope parameter is repeated.",
    }


ERROR_DESCRIPTION_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\')


@given(st.text())
def test_an_error_description_holds_only_what_rfc_6749_allows(description: str) -> None:
    # when any text is made an error_description
    cleaned = printable(description)

    # then each character is one RFC 6749 section 5.2 allows, or a "?" in place of one
    assert len(cleaned) == len(description)
    assert all(character in ERROR_DESCRIPTION_CHARACTERS for character in cleaned)
    assert all(
        kept == original or kept == "?" for kept, original in zip(cleaned, description, strict=True)
    )


def test_error_descriptions_are_printable_in_answers(api: APIClient) -> None:
    # when a refusal would describe a value with a quote, a backslash and a control character
    answer = token_request(api, grant_type='x"\\\x01', client_id="nobody")

    # then the description says nothing outside RFC 6749's set
    assert answer.status_code in (400, 401), answer.content
    assert all(c in ERROR_DESCRIPTION_CHARACTERS for c in answer.json()["error_description"])
