"""The provider down, slow, or answering garbage. Part of the test_provider_keys suite, whose
docstring says what it covers."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from identity import errors
from identity.customers.providers import (
    providers_clear_cache,
)
from identity.models import Customer
from tests.conftest import Storefront
from tests.identity.jwks_server import (
    JWKS_PATH,
    PROVIDER_TIMEOUT_SECONDS,
    JwksServer,
    assert_customer_context,
    assert_problem_code,
    context_get,
    provider_of,
)
from tests.identity.provider_keys_common import (
    MARGIN_SECONDS,
    SLOW_SECONDS,
    ServerFactory,
    timed,
)

# --- The provider down, slow, or answering garbage --------------------------------------------


def _refuse_connections(server: JwksServer) -> None:
    server.go_down()


def _answer_503(server: JwksServer) -> None:
    server.answer_unavailable()


def _answer_slowly(server: JwksServer) -> None:
    server.answer_slowly(SLOW_SECONDS)


def _answer_dripping(server: JwksServer) -> None:
    # Every byte arrives well within the timeout; the whole answer would take minutes.
    server.answer_dripping(PROVIDER_TIMEOUT_SECONDS / 4, give_up_after=SLOW_SECONDS + 3)


def _answer_html(server: JwksServer) -> None:
    server.answer_garbage(b"<html><body><h1>502 Bad Gateway</h1></body></html>")


FAILURES: dict[str, Callable[[JwksServer], None]] = {
    "refusing": _refuse_connections,
    "503": _answer_503,
    "slow": _answer_slowly,
    "dripping": _answer_dripping,
    "html": _answer_html,
}


@pytest.mark.parametrize("source", ["jwks_uri", "discovery"])
@pytest.mark.parametrize("failure", list(FAILURES))
def test_provider_failing_with_no_keys_cached_is_a_quick_503(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, failure: str, source: str
) -> None:
    # Given a provider whose keys were never fetched, and which now fails
    provider_of(jwks_server, tenant=storefront.tenant, via_discovery=source == "discovery")
    FAILURES[failure](jwks_server)

    # When a token is presented
    response, elapsed = timed(lambda: context_get(api, jwks_server.token(), storefront.key))

    # Then the answer is a 503 within the timeout, never a 500 or a hang
    assert_problem_code(response, errors.PROVIDER_UNAVAILABLE)
    assert elapsed < PROVIDER_TIMEOUT_SECONDS + MARGIN_SECONDS
    asked = jwks_server.requests()
    assert asked <= 1

    # and for a while the next callers get their 503 at once, without asking again
    again, elapsed_again = timed(lambda: context_get(api, jwks_server.token(), storefront.key))
    assert_problem_code(again, errors.PROVIDER_UNAVAILABLE)
    assert elapsed_again < MARGIN_SECONDS
    assert jwks_server.requests() == asked
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("failure", list(FAILURES))
def test_provider_failing_with_keys_cached_keeps_working(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, failure: str
) -> None:
    # Given a provider whose keys are cached
    provider_of(jwks_server, tenant=storefront.tenant)
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))

    # When it fails, and tokens with a cached kid and with an unknown kid arrive
    FAILURES[failure](jwks_server)
    cached, cached_elapsed = timed(lambda: context_get(api, jwks_server.token(), storefront.key))
    unknown_kid_token = jwks_server.token(header={"kid": "not-published"})
    unknown, unknown_elapsed = timed(lambda: context_get(api, unknown_kid_token, storefront.key))

    # Then the cached key is used at once; the unknown kid is a 401 within the timeout
    assert_customer_context(cached)
    assert cached_elapsed < MARGIN_SECONDS
    assert_problem_code(unknown, errors.TOKEN_INVALID)
    assert unknown_elapsed < PROVIDER_TIMEOUT_SECONDS + MARGIN_SECONDS

    # and the failed refresh dropped nothing: the cached key still works
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))


@pytest.mark.parametrize("failure", list(FAILURES))
def test_new_process_uses_the_keys_in_the_shared_cache_while_the_provider_fails(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, failure: str
) -> None:
    # Given a provider whose keys one process fetched into the shared cache
    provider_of(jwks_server, tenant=storefront.tenant)
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))

    # When the provider fails and a process that never saw it (an empty registry) is asked
    FAILURES[failure](jwks_server)
    providers_clear_cache()
    response, elapsed = timed(lambda: context_get(api, jwks_server.token(), storefront.key))

    # Then it verifies with the shared keys at once
    assert_customer_context(response)
    assert elapsed < MARGIN_SECONDS
    assert jwks_server.requests(JWKS_PATH) == 1


GARBAGE: dict[str, bytes] = {
    "empty": b"",
    "binary": b"\xff\xfe\x00\x01",
    "truncated": b'{"keys": [{"kty": "RSA", ',
    "null": b"null",
    "array": b'[{"kty": "RSA"}]',
    "no-keys": b"{}",
    "empty-keys": b'{"keys": []}',
    "keys-null": b'{"keys": null}',
    "keys-string": b'{"keys": "abc"}',
    "keys-object": b'{"keys": {"kty": "RSA", "kid": "k"}}',
    "keys-scalars": b'{"keys": [1, "x", null, true, []]}',
    "rsa-without-modulus": b'{"keys": [{"kty": "RSA", "kid": "k", "e": "AQAB"}]}',
    "rsa-numbers": b'{"keys": [{"kty": "RSA", "kid": "k", "n": 1, "e": true}]}',
    "unknown-curve": b'{"keys": [{"kty": "EC", "crv": "P-999", "kid": "k", "x": "AA", "y": "AA"}]}',
    "unknown-kty": b'{"keys": [{"kty": "XYZ", "kid": "k"}]}',
    "kid-not-string": b'{"keys": [{"kty": "oct", "kid": 7, "k": "c2VjcmV0"}]}',
    "encryption-only": b'{"keys": [{"kty": "oct", "kid": "k", "use": "enc", "k": "c2VjcmV0"}]}',
    "deeply-nested": b"[" * 200_000,
    "huge-number": b'{"keys": [{"kty": "RSA", "kid": "k", "n": "'
    + b"A" * 20000
    + b'", "e": "AQAB"}]}',
}


@pytest.mark.parametrize("garbage", list(GARBAGE))
def test_jwks_garbage_with_no_keys_cached_is_a_503(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, garbage: str
) -> None:
    # Given a provider whose keys were never fetched, answering garbage for its JWKS
    provider_of(jwks_server, tenant=storefront.tenant)
    jwks_server.answer_garbage(GARBAGE[garbage])

    # When a token is presented
    response, elapsed = timed(lambda: context_get(api, jwks_server.token(), storefront.key))

    # Then it is a quick 503, never a 500
    assert_problem_code(response, errors.PROVIDER_UNAVAILABLE)
    assert elapsed < PROVIDER_TIMEOUT_SECONDS + MARGIN_SECONDS
    assert jwks_server.requests(JWKS_PATH) == 1


def test_jwks_redirect_is_not_followed(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given a provider whose JWKS URI answers with a redirect to another server
    provider_server, elsewhere = jwks_servers(), jwks_servers()
    provider_of(provider_server, tenant=storefront.tenant)
    provider_server.answer_redirect(elsewhere.jwks_uri, paths=[JWKS_PATH])

    # When a token is presented
    response = context_get(api, provider_server.token(), storefront.key)

    # Then the redirect is a failure of the provider: 503, and nothing is asked elsewhere
    assert_problem_code(response, errors.PROVIDER_UNAVAILABLE)
    assert provider_server.requests(JWKS_PATH) == 1
    assert elsewhere.requests() == 0


@pytest.mark.parametrize("garbage", list(GARBAGE))
def test_jwks_garbage_on_refresh_keeps_the_cached_keys(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, garbage: str
) -> None:
    # Given a provider whose keys are cached
    provider_of(jwks_server, tenant=storefront.tenant)
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))

    # When an unknown kid makes it refresh, and the JWKS is now garbage
    jwks_server.answer_garbage(GARBAGE[garbage])
    unknown_kid_token = jwks_server.token(header={"kid": "k"})
    assert_problem_code(context_get(api, unknown_kid_token, storefront.key), errors.TOKEN_INVALID)
    assert jwks_server.requests(JWKS_PATH) == 2

    # Then the cached keys are still used, here and in a process that reads the shared cache
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))
    providers_clear_cache()
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))


def test_one_malformed_key_does_not_hide_the_others(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider whose JWKS has a good key next to entries no library can read
    provider_of(jwks_server, tenant=storefront.tenant)
    good = jwks_server.signing_key.public_jwk()
    document = {
        "keys": [
            {"kty": "RSA", "kid": "odd", "n": 1, "e": True},
            "not-a-key",
            {"kty": "XYZ", "kid": "future"},
            good,
        ]
    }
    jwks_server.answer_garbage(json.dumps(document).encode())

    # When a token signed with the good key is presented
    response = context_get(api, jwks_server.token(), storefront.key)

    # Then the good key verifies it
    assert_customer_context(response)
