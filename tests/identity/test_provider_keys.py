"""Where a provider's keys come from, and what happens when that source misbehaves.

Discovery and JWKS are served over real HTTP on loopback (tests/identity/jwks_server.py): key
rotation, a flood of unknown kids, keys named by the token itself, a provider that is down,
slow, or answering garbage, and the rules a provider's settings must follow.

Here: Discovery; Key sources; A key never crosses providers, and never comes from the token;
Unknown kids, cool-down and rotation; Provider settings. The other parts of the suite:
test_provider_outages.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from identity import errors
from identity.customers import providers
from identity.customers.providers import (
    ProviderConfig,
    provider_key,
    provider_save,
    providers_clear_cache,
)
from identity.models import PROVIDER_ALGORITHMS, Customer, CustomerIdentity, IdentityProvider
from tests.conftest import Storefront
from tests.identity.jwks_server import (
    DISCOVERY_PATH,
    JWKS_PATH,
    PROVIDER_TIMEOUT_SECONDS,
    JwksServer,
    assert_customer_context,
    assert_problem_code,
    context_get,
    provider_key_generate,
    provider_of,
    provider_register,
    x5c_certificate,
)
from tests.identity.provider_keys_common import (
    ServerFactory,
    random_kid_token,
    timed,
)

# --- Discovery --------------------------------------------------------------------------------


def test_generic_oidc_provider_through_discovery(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a generic OIDC provider registered by its discovery URL
    provider = provider_of(jwks_server, tenant=storefront.tenant, via_discovery=True)

    # When a user presents two access tokens
    first = assert_customer_context(context_get(api, jwks_server.token(sub="u-1"), storefront.key))
    second = assert_customer_context(context_get(api, jwks_server.token(sub="u-1"), storefront.key))

    # Then one customer is linked to (provider, sub), and discovery and keys were fetched once
    assert first == second
    identity = CustomerIdentity.objects.get()
    assert (identity.provider_id, identity.subject) == (provider.pk, "u-1")
    assert Customer.objects.count() == 1
    assert jwks_server.requests(DISCOVERY_PATH) == 1
    assert jwks_server.requests(JWKS_PATH) == 1


def test_discovery_document_naming_another_issuer_makes_the_provider_unavailable(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider whose discovery document names another issuer than the configured one
    provider_of(jwks_server, tenant=storefront.tenant, via_discovery=True)
    jwks_server.discovery_issuer = jwks_server.issuer + "/other"

    # When a token of the configured issuer is presented
    response = context_get(api, jwks_server.token(), storefront.key)

    # Then no keys are taken from it: a 503 (never a 500), and its JWKS is never fetched
    assert_problem_code(response, errors.PROVIDER_UNAVAILABLE)
    assert jwks_server.requests(JWKS_PATH) == 0
    assert Customer.objects.count() == 0


@pytest.mark.parametrize(
    "jwks_uri",
    ["http://keys.example.com/jwks.json", "file:///etc/passwd", "", None, 42, ["https://x"]],
    ids=repr,
)
def test_discovery_naming_an_unusable_jwks_uri_makes_the_provider_unavailable(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer, jwks_uri: Any
) -> None:
    # Given a discovery document whose jwks_uri is plain http elsewhere, or not a URL at all
    provider_of(jwks_server, tenant=storefront.tenant, via_discovery=True)
    document = {**jwks_server.discovery_document(), "jwks_uri": jwks_uri}
    jwks_server.answer_garbage(json.dumps(document).encode(), paths=[DISCOVERY_PATH])

    # When a token is presented
    response = context_get(api, jwks_server.token(), storefront.key)

    # Then it is a 503, and nothing is fetched from that URI
    assert_problem_code(response, errors.PROVIDER_UNAVAILABLE)
    assert jwks_server.requests(DISCOVERY_PATH) == 1
    assert jwks_server.requests(JWKS_PATH) == 0


# --- Key sources ------------------------------------------------------------------------------


def test_static_public_key_provider_makes_no_request(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a trusted system registered with its public key (PEM)
    provider_register(
        tenant=storefront.tenant,
        issuer=jwks_server.issuer,
        public_key_pem=jwks_server.signing_key.public_pem(),
    )

    # When its tokens are presented, whatever their kid, and one signed by another key
    accepted = context_get(api, jwks_server.token(header={"kid": None}), storefront.key)
    also_accepted = context_get(api, jwks_server.token(header={"kid": "anything"}), storefront.key)
    other_key = provider_key_generate()
    forged = context_get(api, jwks_server.sign(jwks_server.claims(), key=other_key), storefront.key)

    # Then the PEM alone decides, and nothing is fetched
    assert_customer_context(accepted)
    assert_customer_context(also_accepted)
    assert_problem_code(forged, errors.TOKEN_INVALID)
    assert jwks_server.requests() == 0


def test_changing_a_providers_jwks_uri_drops_the_old_keys(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given a provider whose keys from its first JWKS URI are cached
    old_source = jwks_servers()
    new_source = jwks_servers(issuer=old_source.issuer)
    provider = provider_of(old_source, tenant=storefront.tenant)
    assert_customer_context(context_get(api, old_source.token(), storefront.key))

    # When the provider is moved to another JWKS URI
    provider.jwks_uri = new_source.jwks_uri
    provider_save(provider=provider)
    providers_clear_cache()

    # Then the old source's keys no longer verify anything, and the new source's do
    assert_problem_code(context_get(api, old_source.token(), storefront.key), errors.TOKEN_INVALID)
    assert_customer_context(context_get(api, new_source.token(), storefront.key))
    assert old_source.requests(JWKS_PATH) == 1
    assert 1 <= new_source.requests(JWKS_PATH) <= 2  # loaded, perhaps refreshed for the old kid


# --- A key never crosses providers, and never comes from the token ----------------------------


def test_token_of_one_provider_signed_with_a_key_of_another_is_refused(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given two providers of the tenant, both using the kid "signing-key"
    provider_a = jwks_servers()
    provider_b = jwks_servers()
    provider_a.set_keys(provider_key_generate(kid="signing-key"))
    provider_b.set_keys(provider_key_generate(kid="signing-key"), provider_key_generate())
    provider_of(provider_a, tenant=storefront.tenant)
    provider_of(provider_b, tenant=storefront.tenant)
    assert_customer_context(context_get(api, provider_a.token(), storefront.key))
    assert_customer_context(context_get(api, provider_b.token(), storefront.key))

    # When tokens naming A's issuer are signed with B's keys (same kid, and B's other kid)
    for key in provider_b.keys:
        forged = provider_b.sign(provider_a.claims(), key=key)
        response = context_get(api, forged, storefront.key)

        # Then A's keys judge them, and they are refused
        assert_problem_code(response, errors.TOKEN_INVALID)
    assert provider_b.requests(JWKS_PATH) == 1
    assert Customer.objects.count() == 2


def _key_naming_header(parameter: str, elsewhere: JwksServer) -> dict[str, Any]:
    key = elsewhere.signing_key
    return {
        "jku": {"jku": elsewhere.jwks_uri},
        "x5u": {"x5u": elsewhere.url + "/certificate.pem"},
        "jwk": {"jwk": key.public_jwk()},
        "x5c": {"x5c": [x5c_certificate(key)]},
    }[parameter]


@pytest.mark.parametrize("parameter", ["jku", "x5u", "jwk", "x5c"])
def test_keys_named_by_the_token_are_never_fetched_nor_used(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory, parameter: str
) -> None:
    # Given a provider, and an attacker's server publishing its own key under the provider's kid
    server = jwks_servers()
    provider_of(server, tenant=storefront.tenant)
    attacker = jwks_servers(issuer=server.issuer)
    attacker.set_keys(provider_key_generate(kid=server.signing_key.kid), attacker.signing_key)
    header = _key_naming_header(parameter, attacker)

    # When the attacker signs tokens pointing at (or embedding) its key, under either kid
    for key in attacker.keys:
        forged = attacker.sign(server.claims(), key=key, header=header)
        response = context_get(api, forged, storefront.key)

        # Then they are refused
        assert_problem_code(response, errors.TOKEN_INVALID)

    # And a genuine token carrying the same header is judged by the configured keys alone
    genuine = server.sign(server.claims(), header=header)
    assert_customer_context(context_get(api, genuine, storefront.key))
    assert attacker.requests() == 0
    assert Customer.objects.count() == 1


# --- Unknown kids, cool-down and rotation -----------------------------------------------------


def test_flood_of_random_kids_fetches_the_jwks_once_per_cool_down(
    api: APIClient, storefront: Storefront, jwks_servers: ServerFactory
) -> None:
    # Given a provider whose keys are cached (one fetch)
    server = jwks_servers(algorithm="ES256")
    provider_of(server, tenant=storefront.tenant)
    assert_customer_context(context_get(api, server.token(), storefront.key))
    attacker_key = provider_key_generate("ES256")
    tokens = [random_kid_token(server, attacker_key) for _ in range(1000)]

    # When 1000 tokens with random kids arrive within one cool-down
    slowest = 0.0
    started = time.monotonic()
    for token in tokens:
        response, elapsed = timed(lambda token=token: context_get(api, token, storefront.key))
        slowest = max(slowest, elapsed)

        # Then each is refused
        assert_problem_code(response, errors.TOKEN_INVALID)
    total = time.monotonic() - started

    # and the JWKS was fetched once more in all, no request waited on the provider's timeout,
    # and the whole flood took a bounded time
    assert server.requests(JWKS_PATH) == 2
    assert slowest < PROVIDER_TIMEOUT_SECONDS
    assert total < 30
    assert Customer.objects.count() == 1


def test_unknown_kids_refresh_again_only_after_the_cool_down(
    api: APIClient,
    storefront: Storefront,
    jwks_server: JwksServer,
    provider_settings: Any,
) -> None:
    # Given a cool-down of 1 s and a provider whose keys are cached
    provider_settings.JWKS_COOLDOWN_SECONDS = 1
    provider_of(jwks_server, tenant=storefront.tenant)
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))
    attacker_key = provider_key_generate()

    def unknown_kid() -> None:
        token = random_kid_token(jwks_server, attacker_key)
        assert_problem_code(context_get(api, token, storefront.key), errors.TOKEN_INVALID)

    # When unknown kids arrive, then again after the cool-down
    for _ in range(5):
        unknown_kid()
    within_first = jwks_server.requests(JWKS_PATH)
    time.sleep(1.2)
    for _ in range(5):
        unknown_kid()

    # Then one refresh happened in each cool-down
    assert within_first == 2
    assert jwks_server.requests(JWKS_PATH) == 3


def test_flood_of_random_kids_before_any_key_is_cached_fetches_at_most_twice(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider whose keys were never fetched
    provider_of(jwks_server, tenant=storefront.tenant)
    attacker_key = provider_key_generate()

    # When tokens with random kids are the first to arrive
    for _ in range(50):
        token = random_kid_token(jwks_server, attacker_key)
        assert_problem_code(context_get(api, token, storefront.key), errors.TOKEN_INVALID)

    # Then the keys were loaded once and refreshed at most once
    assert 1 <= jwks_server.requests(JWKS_PATH) <= 2


def test_rotated_key_is_accepted_after_one_refresh(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider whose current key is cached
    provider_of(jwks_server, tenant=storefront.tenant)
    old_key = jwks_server.signing_key
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))

    # When the provider publishes a new key and signs with it at once
    jwks_server.rotate()
    rotated = context_get(api, jwks_server.token(), storefront.key)

    # Then the new key is fetched once and accepted; both keys keep working without fetching
    assert_customer_context(rotated)
    assert jwks_server.requests(JWKS_PATH) == 2
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))
    old_token = jwks_server.sign(jwks_server.claims(), key=old_key)
    assert_customer_context(context_get(api, old_token, storefront.key))
    assert jwks_server.requests(JWKS_PATH) == 2


def test_rotated_key_fetched_by_another_process_is_used_from_the_shared_cache(
    api: APIClient, storefront: Storefront, jwks_server: JwksServer
) -> None:
    # Given a provider whose current key this process has cached
    provider = provider_of(jwks_server, tenant=storefront.tenant)
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))

    # When the provider rotates, and another process (sharing the cache) refreshes first
    new_key = jwks_server.rotate()
    other_process = ProviderConfig.from_row(provider)
    assert provider_key(other_process, kid=new_key.kid, algorithm=new_key.algorithm) is not None
    assert jwks_server.requests(JWKS_PATH) == 2

    # Then this process accepts the new key within the cool-down, without fetching again
    assert_customer_context(context_get(api, jwks_server.token(), storefront.key))
    assert jwks_server.requests(JWKS_PATH) == 2


# --- Provider settings ------------------------------------------------------------------------


def _provider(storefront: Storefront, **fields: Any) -> IdentityProvider:
    """An unsaved provider with valid settings, but for ``fields``."""
    values: dict[str, Any] = {
        "tenant": storefront.tenant,
        "name": f"idp-{uuid.uuid4().hex[:8]}",
        "issuer": f"https://idp.example/{uuid.uuid4().hex[:8]}",
        "audiences": ["api://shop"],
        "jwks_uri": "https://idp.example/jwks.json",
        "algorithms": ["RS256"],
    }
    values.update(fields)
    return IdentityProvider(**values)


def _refused(provider: IdentityProvider) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        provider_save(provider=provider)
    return raised.value.messages


REFUSED_URLS = [
    "http://idp.example.com/jwks.json",
    "http://10.0.0.8/jwks.json",
    "http://169.254.169.254/latest/meta-data",
    "http://localhost.evil.example/jwks.json",
    "http://127.0.0.1.nip.io/jwks.json",
    "http://evil.example#@127.0.0.1/jwks.json",
    "ftp://127.0.0.1/jwks.json",
    "file:///etc/passwd",
    "not a url",
]
ACCEPTED_URLS = [
    "https://idp.example.com/jwks.json",
    "https://login.microsoftonline.com/common/discovery/v2.0/keys",
    "http://127.0.0.1:8080/jwks.json",
    "http://127.0.0.2/jwks.json",
    "http://localhost:8080/jwks.json",
    "http://[::1]:8080/jwks.json",
]


@pytest.mark.parametrize("field_name", ["jwks_uri", "discovery_url"])
def test_provider_urls_must_be_https_except_on_loopback(
    storefront: Storefront, provider_settings: Any, field_name: str
) -> None:
    # When providers are saved with plain http URLs on other hosts (or no http URL at all)
    for url in REFUSED_URLS:
        # Then they are refused, naming the field
        with pytest.raises(ValidationError) as raised:
            provider_save(provider=_provider(storefront, **{"jwks_uri": "", field_name: url}))
        assert field_name in raised.value.message_dict, url
    assert IdentityProvider.objects.count() == 0

    # When they use https, or http on a loopback host
    for url in ACCEPTED_URLS:
        provider_save(provider=_provider(storefront, **{"jwks_uri": "", field_name: url}))

    # Then they are saved
    assert IdentityProvider.objects.count() == len(ACCEPTED_URLS)


@pytest.mark.parametrize(
    "algorithms",
    [["HS256"], ["RS256", "HS256"], ["HS512"], ["none"], [], ["rs256"], [None], "RS256"],
    ids=repr,
)
def test_provider_algorithms_must_be_asymmetric(
    storefront: Storefront, provider_settings: Any, algorithms: Any
) -> None:
    # When a provider is saved with a symmetric, unknown or no algorithm
    messages = _refused(_provider(storefront, algorithms=algorithms))

    # Then it is refused
    assert messages
    assert IdentityProvider.objects.count() == 0


def test_every_asymmetric_algorithm_can_be_allowed(
    storefront: Storefront, provider_settings: Any
) -> None:
    # When a provider allows all asymmetric algorithms
    provider = provider_save(provider=_provider(storefront, algorithms=list(PROVIDER_ALGORITHMS)))

    # Then it is saved
    assert IdentityProvider.objects.get().algorithms == list(PROVIDER_ALGORITHMS)
    assert provider.pk is not None


def _pem(key: Any, *, private: bool = False) -> str:
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.mark.parametrize(
    "sources",
    ["none", "jwks+discovery", "jwks+pem", "discovery+pem", "all", "bad-pem", "private-pem"],
)
def test_provider_needs_exactly_one_usable_key_source(
    storefront: Storefront, provider_settings: Any, sources: str
) -> None:
    key = provider_key_generate("ES256")
    jwks_uri, discovery_url = "https://idp.example/jwks.json", "https://idp.example/.well-known"
    pem = key.public_pem()
    fields = {
        "none": {"jwks_uri": ""},
        "jwks+discovery": {"discovery_url": discovery_url},
        "jwks+pem": {"public_key_pem": pem},
        "discovery+pem": {"jwks_uri": "", "discovery_url": discovery_url, "public_key_pem": pem},
        "all": {"jwks_uri": jwks_uri, "discovery_url": discovery_url, "public_key_pem": pem},
        "bad-pem": {"jwks_uri": "", "public_key_pem": "-----BEGIN PUBLIC KEY-----\nxx\n"},
        "private-pem": {"jwks_uri": "", "public_key_pem": _pem(key.private_key, private=True)},
    }[sources]

    # When a provider is saved with no key source, several, or an unreadable PEM
    messages = _refused(_provider(storefront, algorithms=["ES256"], **fields))

    # Then it is refused
    assert messages
    assert IdentityProvider.objects.count() == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"audiences": []},
        {"audiences": [""]},
        {"audiences": "api://shop"},
        {"audiences": [1]},
        {"flavor": "entra_id", "issuer": "https://login.microsoftonline.com/common/v2.0"},
        {
            "flavor": "entra_id",
            "issuer": "https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/",
        },
    ],
    ids=[
        "no-audience",
        "empty-audience",
        "audience-string",
        "audience-number",
        "entra-common",
        "entra-v1",
    ],
)
def test_provider_audiences_and_entra_issuer_are_checked(
    storefront: Storefront, provider_settings: Any, fields: dict[str, Any]
) -> None:
    # When a provider is saved without a usable audience, or an Entra ID issuer of no directory
    messages = _refused(_provider(storefront, **fields))

    # Then it is refused
    assert messages
    assert IdentityProvider.objects.count() == 0


@pytest.mark.parametrize(
    "jwks_uri",
    ["http://127.0.0.1:9/jwks.json", "http://localhost/jwks.json", "http://[::1]/jwks.json"],
)
def test_a_remote_discovery_document_cannot_point_at_our_own_host(
    monkeypatch: pytest.MonkeyPatch, jwks_uri: str
) -> None:
    # Given a provider discovered over https whose document names a plain-http loopback jwks_uri
    issuer = "https://idp.example/"
    config = ProviderConfig(
        id=1,
        public_id=str(uuid.uuid4()),
        tenant_id=1,
        name="remote",
        flavor="generic",
        issuer=issuer,
        audiences=("api",),
        algorithms=("RS256",),
        subject_claim="sub",
        leeway_seconds=0,
        refuses_id_tokens=True,
        discovery_url="https://idp.example/.well-known/openid-configuration",
        jwks_uri="",
    )
    fetched: list[str] = []

    def fetch(url: str) -> dict[str, str]:
        fetched.append(url)
        return {"issuer": issuer, "jwks_uri": jwks_uri}

    monkeypatch.setattr(providers, "_fetch_json", fetch)

    # When its keys are needed
    with pytest.raises(providers.ProviderUnavailable):
        provider_key(config, kid="k1", algorithm="RS256")

    # Then only the discovery document was asked for, never the loopback address
    assert fetched == [config.discovery_url]
