"""A provider registered by its discovery URL alone (or its JWKS URI, or a public key) allows
the asymmetric algorithms it advertises that we accept, chosen at registration and said by
idp_add and the admin; every refused provider token is logged with its reason, never the token.
Providers are real HTTP servers on loopback (tests/identity/jwks_server.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from identity.customers.providers import providers_clear_cache
from identity.models import IdentityProvider
from tests.conftest import Storefront, run_command
from tests.identity.jwks_server import (
    AUDIENCE,
    JwksServer,
    assert_customer_context,
    context_get,
    provider_register,
)

pytestmark = pytest.mark.django_db

PROVIDERS_LOGGER = "identity.providers"


def register_by_discovery(server: JwksServer, storefront: Storefront) -> IdentityProvider:
    """Registered as an operator would with only the discovery URL: no algorithms named."""
    return provider_register(
        tenant=storefront.tenant, issuer=server.issuer, discovery_url=server.discovery_url
    )


# --- Registration by discovery alone ----------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_a_provider_registered_by_discovery_alone_signs_its_shoppers_in(
    api: APIClient,
    storefront: Storefront,
    jwks_servers: Callable[..., JwksServer],
    algorithm: str,
) -> None:
    # given a provider whose tokens are signed with ES256 (or EdDSA)
    server = jwks_servers(algorithm=algorithm)

    # when it is registered with its discovery URL and nothing else
    provider = register_by_discovery(server, storefront)

    # then its algorithm was taken from what it advertises, and its shoppers sign in
    assert provider.algorithms == [algorithm]
    assert IdentityProvider.objects.get().algorithms == [algorithm]
    assert_customer_context(context_get(api, server.token(), storefront.key))


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_idp_add_with_only_a_discovery_url_prints_the_algorithms_it_chose(
    api: APIClient,
    storefront: Storefront,
    jwks_servers: Callable[..., JwksServer],
    algorithm: str,
) -> None:
    # given a provider on loopback
    server = jwks_servers(algorithm=algorithm)

    # when an operator adds it with its discovery URL alone
    output = run_command(
        "idp_add",
        "--tenant",
        storefront.tenant.slug,
        "--name",
        "shop-login",
        "--issuer",
        server.issuer,
        "--audience",
        AUDIENCE,
        "--discovery-url",
        server.discovery_url,
    )
    providers_clear_cache()

    # then the command says which algorithms it allowed, and a shopper signs in
    assert output == (
        f"added identity provider {storefront.tenant.slug}/shop-login (issuer {server.issuer})\n"
        f"allowed algorithms: {algorithm} (advertised by the provider)\n"
    )
    assert_customer_context(context_get(api, server.token(), storefront.key))


def test_the_advertised_algorithms_are_intersected_with_ours(
    storefront: Storefront, jwks_servers: Callable[..., JwksServer]
) -> None:
    # given a provider advertising symmetric, unknown and asymmetric algorithms, with keys of
    # two asymmetric ones
    server = jwks_servers(algorithm="RS256")
    server.add_key("ES384")
    server.advertised_algorithms = ["HS256", "none", "RS256", "XS999", 7, "PS256"]

    # when it is registered by discovery
    provider = register_by_discovery(server, storefront)

    # then only asymmetric algorithms of our allow-list are allowed, in its order
    assert provider.algorithms == ["RS256", "PS256", "ES384"]


def test_keys_without_alg_count_by_their_type(
    storefront: Storefront, jwks_servers: Callable[..., JwksServer]
) -> None:
    # given a provider whose discovery names no algorithm and whose JWKS keys carry no alg
    server = jwks_servers(algorithm="ES256")
    server.add_key("RS256")
    server.advertise_algorithms = False
    server.publish_alg = False

    # when it is registered by discovery
    provider = register_by_discovery(server, storefront)

    # then each key's type says its algorithm
    assert provider.algorithms == ["RS256", "ES256"]


def test_a_jwks_uri_alone_gives_the_algorithms_of_its_keys(
    api: APIClient, storefront: Storefront, jwks_servers: Callable[..., JwksServer]
) -> None:
    # given
    server = jwks_servers(algorithm="ES256")

    # when it is registered with its JWKS URI and nothing else
    provider = provider_register(
        tenant=storefront.tenant, issuer=server.issuer, jwks_uri=server.jwks_uri
    )

    # then
    assert provider.algorithms == ["ES256"]
    assert_customer_context(context_get(api, server.token(), storefront.key))


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda server: setattr(server, "advertised_algorithms", ["HS256"]), "advertises no"),
        (lambda server: server.answer_unavailable(), "Could not read"),
        (lambda server: setattr(server, "discovery_issuer", "https://other.example/"), "issuer"),
    ],
    ids=["only-hmac", "down", "another-issuer"],
)
def test_a_provider_whose_algorithms_cannot_be_had_is_not_registered(
    storefront: Storefront,
    jwks_servers: Callable[..., JwksServer],
    break_it: Callable[[JwksServer], None],
    reason: str,
) -> None:
    # given a provider that advertises only HMAC, is down, or names another issuer
    server = jwks_servers(algorithm="ES256")
    if reason == "advertises no":
        server.keys = []  # nor any key whose type would say otherwise
    break_it(server)

    # when it is registered by discovery alone
    with pytest.raises(ValidationError) as refused:
        register_by_discovery(server, storefront)

    # then it is refused on its algorithms, saying why and that they can be named
    messages = refused.value.message_dict["algorithms"]
    assert reason in messages[0]
    assert IdentityProvider.objects.count() == 0


def test_idp_add_refuses_a_provider_it_cannot_read_and_saves_nothing(
    storefront: Storefront, jwks_servers: Callable[..., JwksServer]
) -> None:
    # given a provider that is down
    server = jwks_servers(algorithm="ES256")
    server.go_down()

    # when it is added by discovery alone
    with pytest.raises(CommandError) as refused:
        run_command(
            "idp_add",
            "--tenant",
            storefront.tenant.slug,
            "--name",
            "down",
            "--issuer",
            server.issuer,
            "--audience",
            AUDIENCE,
            "--discovery-url",
            server.discovery_url,
        )

    # then
    assert "Could not read the provider's algorithms" in str(refused.value)
    assert "name them" in str(refused.value)
    assert IdentityProvider.objects.count() == 0


def test_the_admin_chooses_the_advertised_algorithms_on_save(
    operator: Client, storefront: Storefront, jwks_servers: Callable[..., JwksServer]
) -> None:
    # given an EdDSA provider on loopback
    server = jwks_servers(algorithm="EdDSA")

    # when an operator adds it with its discovery URL and leaves the algorithms empty
    answer = operator.post(
        "/admin/identity/identityprovider/add/",
        {
            "tenant": str(storefront.tenant.pk),
            "name": "shop-login",
            "flavor": "generic",
            "issuer": server.issuer,
            "audiences": f'["{AUDIENCE}"]',
            "discovery_url": server.discovery_url,
            "jwks_uri": "",
            "public_key_pem": "",
            "algorithms": "[]",
            "subject_claim": "",
            "leeway_seconds": "30",
            "refuse_id_tokens": "on",
            "is_enabled": "on",
        },
        follow=True,
    )

    # then it is saved with the advertised algorithm, and the operator is told
    assert answer.status_code == 200
    assert IdentityProvider.objects.get().algorithms == ["EdDSA"]
    messages = [str(message) for message in answer.context["messages"]]
    assert "Allowed algorithms, as the provider advertises them: EdDSA." in messages


# --- Every refusal explained ------------------------------------------------------------------


def _refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == PROVIDERS_LOGGER]


@pytest.mark.parametrize(
    ("make_token", "code", "reason"),
    [
        (lambda server: server.token(header={"alg": "ES384"}), 2010, "algorithm not allowed"),
        (lambda server: server.token(header={"kid": "nobody-has-it"}), 2010, "unknown kid"),
        (lambda server: server.token(aud="api://another"), 2010, "Audience doesn't match"),
        (lambda server: server.token(lifetime=-120), 2011, "expired"),
        (lambda server: server.token(nonce="n-0S6_WzA2Mj"), 2062, "ID token"),
        (lambda server: server.token(iss=server.issuer + "/"), 2060, "issuer of no enabled"),
        (
            lambda server: server.sign(
                {name: value for name, value in server.claims().items() if name != "exp"}
            ),
            2010,
            'missing the "exp" claim',
        ),
    ],
    ids=["algorithm", "kid", "audience", "expired", "id-token", "issuer", "no-exp"],
)
def test_every_refused_provider_token_is_logged_with_its_reason_and_without_the_token(
    api: APIClient,
    storefront: Storefront,
    jwks_servers: Callable[..., JwksServer],
    caplog: pytest.LogCaptureFixture,
    make_token: Callable[[JwksServer], str],
    code: int,
    reason: str,
) -> None:
    # given an ES256 provider registered by discovery alone, and one of its shoppers
    server = jwks_servers(algorithm="ES256")
    register_by_discovery(server, storefront)
    assert_customer_context(context_get(api, server.token(), storefront.key))
    caplog.clear()
    caplog.set_level(logging.INFO, logger=PROVIDERS_LOGGER)

    # when a token that is wrong in one way is presented
    token = make_token(server)
    answer = context_get(api, token, storefront.key)

    # then it is refused, and one log line says why, naming no part of the token
    assert answer.status_code == 401, answer.content
    assert answer.json()["code"] == code
    refusals = _refusals(caplog)
    assert len(refusals) == 1, [record.getMessage() for record in refusals]
    message = refusals[0].getMessage()
    assert reason in message
    assert message.startswith("refused a token of identity provider")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for part in token.split("."):
        assert part not in logged
