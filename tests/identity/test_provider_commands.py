"""The identity provider commands: idp_add, idp_list, idp_disable, and idp_dev_token with the
README's local sign-in walk-through run end to end through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from identity.credentials.revocation import provider_revocation_key
from identity.customers.providers import providers_clear_cache
from identity.models import Customer, CustomerIdentity, IdentityProvider, Revocation
from tests.conftest import Storefront, run_command
from tests.factories import TenantFactory
from tests.identity.provider_fixtures import (
    CART_URL,
    CONTEXT_URL,
    PROFILE_URL,
    KeyPair,
    StaticKeyProvider,
)

ISSUER = "https://my-idp.example/"


@pytest.fixture
def public_key_file(tmp_path: Path, provider_keys: KeyPair) -> Path:
    path = tmp_path / "idp.pub.pem"
    path.write_text(provider_keys.public_key_pem)
    return path


pytestmark = pytest.mark.usefixtures("fresh_provider_registry")


def idp_add(*args: str, tenant: str = "acme", name: str = "my-idp") -> str:
    return run_command("idp_add", "--tenant", tenant, "--name", name, "--issuer", ISSUER, *args)


# --- idp_add ----------------------------------------------------------------------------------


def test_idp_add_registers_a_static_public_key(
    storefront: Storefront, public_key_file: Path, provider_keys: KeyPair
) -> None:
    # when a provider is added with a PEM public key, two audiences and two algorithms
    output = idp_add(
        "--audience",
        "my-api",
        "--audience",
        "my-other-api",
        "--public-key-file",
        str(public_key_file),
        "--algorithm",
        "RS256",
        "--algorithm",
        "PS256",
    )

    # then it is saved exactly so, enabled, with the safe defaults
    provider = IdentityProvider.objects.get()
    assert output == (
        f"added identity provider acme/my-idp (issuer {ISSUER})\n"
        "allowed algorithms: RS256, PS256 (as given)\n"
    )
    assert provider.tenant == storefront.tenant
    assert (provider.name, provider.issuer, provider.flavor) == ("my-idp", ISSUER, "generic")
    assert provider.audiences == ["my-api", "my-other-api"]
    assert provider.algorithms == ["RS256", "PS256"]
    assert provider.public_key_pem == provider_keys.public_key_pem
    assert (provider.discovery_url, provider.jwks_uri) == ("", "")
    assert (provider.subject_claim, provider.leeway_seconds) == ("", 30)
    assert provider.refuse_id_tokens is True
    assert provider.is_enabled is True


def test_idp_add_defaults_to_the_public_keys_algorithm(
    storefront: Storefront, public_key_file: Path
) -> None:
    # when no algorithm is given for an RSA public key
    output = idp_add("--audience", "my-api", "--public-key-file", str(public_key_file))

    # then RS256 alone is allowed, and the command says so
    assert IdentityProvider.objects.get().algorithms == ["RS256"]
    assert output.endswith("allowed algorithms: RS256 (advertised by the provider)\n")


def test_idp_add_accepts_an_http_jwks_uri_on_loopback(storefront: Storefront) -> None:
    # when a JWKS URI on the loopback host is given over http, with its algorithm
    idp_add(
        "--audience", "my-api", "--jwks-uri", "http://127.0.0.1:9/jwks.json", "--algorithm", "RS256"
    )

    # then it is saved (no fetch happens when adding with the algorithms named)
    provider = IdentityProvider.objects.get()
    assert provider.jwks_uri == "http://127.0.0.1:9/jwks.json"
    assert provider.public_key_pem == ""


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("--jwks-uri", "http://idp.example.com/jwks.json"),
        ("--discovery-url", "http://idp.example.com/.well-known/openid-configuration"),
        ("--jwks-uri", "ftp://idp.example.com/jwks.json"),
    ],
)
def test_idp_add_refuses_a_url_that_is_not_https_off_loopback(
    storefront: Storefront, source: str, url: str
) -> None:
    # when a provider URL on another host is not https
    with pytest.raises(CommandError) as error:
        idp_add("--audience", "my-api", source, url)

    # then nothing is saved and the error says why
    assert "https" in str(error.value)
    assert IdentityProvider.objects.count() == 0


@pytest.mark.parametrize("algorithm", ["HS256", "none", "RS255"])
def test_idp_add_refuses_a_symmetric_or_unknown_algorithm(
    storefront: Storefront, public_key_file: Path, algorithm: str
) -> None:
    # when an algorithm outside the asymmetric allow-list is asked for
    with pytest.raises(CommandError) as error:
        idp_add(
            "--audience",
            "my-api",
            "--public-key-file",
            str(public_key_file),
            "--algorithm",
            algorithm,
        )

    # then the command refuses it and saves nothing
    assert "--algorithm" in str(error.value)
    assert IdentityProvider.objects.count() == 0


def test_idp_add_refuses_two_key_sources(storefront: Storefront, public_key_file: Path) -> None:
    # when both a JWKS URI and a public key are given
    with pytest.raises(CommandError) as error:
        idp_add(
            "--audience",
            "my-api",
            "--jwks-uri",
            "https://my-idp.example/jwks.json",
            "--public-key-file",
            str(public_key_file),
        )

    # then the command refuses, and nothing is saved
    assert "not allowed with argument" in str(error.value)
    assert IdentityProvider.objects.count() == 0


def test_idp_add_needs_a_key_source_and_an_audience(
    storefront: Storefront, public_key_file: Path
) -> None:
    # when the key source or the audience is missing
    with pytest.raises(CommandError):
        idp_add("--audience", "my-api")
    with pytest.raises(CommandError):
        idp_add("--public-key-file", str(public_key_file))

    # then nothing is saved
    assert IdentityProvider.objects.count() == 0


def test_idp_add_refuses_an_unreadable_or_bad_key_file(
    storefront: Storefront, tmp_path: Path
) -> None:
    # given a file that is not a PEM public key, and a path that does not exist
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")

    # when either is given as the public key
    with pytest.raises(CommandError) as bad:
        idp_add("--audience", "my-api", "--public-key-file", str(not_a_key))
    with pytest.raises(CommandError) as missing:
        idp_add("--audience", "my-api", "--public-key-file", str(tmp_path / "missing.pem"))

    # then the command refuses with the reason and saves nothing
    assert "PEM" in str(bad.value)
    assert "cannot read the public key" in str(missing.value)
    assert IdentityProvider.objects.count() == 0


def test_idp_add_refuses_an_unknown_tenant_a_duplicate_and_a_long_leeway(
    storefront: Storefront, public_key_file: Path
) -> None:
    # given a provider of the tenant
    key = ("--public-key-file", str(public_key_file))
    idp_add("--audience", "my-api", *key)

    # when the tenant is unknown, the issuer is taken, or the leeway is over 60 s
    with pytest.raises(CommandError) as unknown:
        idp_add("--audience", "my-api", *key, tenant="nobody", name="other")
    with pytest.raises(CommandError):
        idp_add("--audience", "my-api", *key, name="other")
    with pytest.raises(CommandError):
        run_command(
            "idp_add",
            "--tenant",
            "acme",
            "--name",
            "slow",
            "--issuer",
            "https://slow.example/",
            "--audience",
            "my-api",
            *key,
            "--leeway",
            "61",
        )

    # then each is refused, and only the first provider exists
    assert "no tenant 'nobody'" in str(unknown.value)
    assert list(IdentityProvider.objects.values_list("name", flat=True)) == ["my-idp"]


# --- idp_list and idp_disable -----------------------------------------------------------------


def test_idp_list_shows_each_provider_with_its_state_and_key_source(
    storefront: Storefront, public_key_file: Path
) -> None:
    # given a static-key provider of acme and a disabled JWKS provider of another tenant
    idp_add("--audience", "my-api", "--audience", "api2", "--public-key-file", str(public_key_file))
    TenantFactory(slug="beta")
    run_command(
        "idp_add",
        "--tenant",
        "beta",
        "--name",
        "auth0",
        "--issuer",
        "https://beta.eu.auth0.com/",
        "--audience",
        "https://api.beta.example",
        "--jwks-uri",
        "https://beta.eu.auth0.com/.well-known/jwks.json",
        "--flavor",
        "auth0",
        "--algorithm",
        "RS256",
    )
    run_command("idp_disable", "--tenant", "beta", "--name", "auth0")

    # when they are listed, for all tenants and for one
    everything = run_command("idp_list")
    acme_only = run_command("idp_list", "--tenant", "acme")

    # then each line is tenant, name, state, flavor, issuer, audiences and key source
    acme_line = f"acme\tmy-idp\tenabled\tgeneric\t{ISSUER}\tmy-api,api2\tstatic public key\n"
    beta_line = (
        "beta\tauth0\tdisabled\tauth0\thttps://beta.eu.auth0.com/\thttps://api.beta.example\t"
        "https://beta.eu.auth0.com/.well-known/jwks.json\n"
    )
    assert everything == acme_line + beta_line
    assert acme_only == acme_line


def test_idp_list_without_providers_prints_nothing(storefront: Storefront) -> None:
    assert run_command("idp_list") == ""


def test_idp_disable_and_enable(storefront: Storefront, static_provider: StaticKeyProvider) -> None:
    # when the provider is disabled
    disabled = run_command("idp_disable", "--tenant", "acme", "--name", "shop-login")

    # then it is saved disabled
    assert disabled == "acme/shop-login: disabled\n"
    assert IdentityProvider.objects.get().is_enabled is False

    # when it is enabled again
    enabled = run_command("idp_disable", "--tenant", "acme", "--name", "shop-login", "--enable")

    # then it is saved enabled
    assert enabled == "acme/shop-login: enabled\n"
    assert IdentityProvider.objects.get().is_enabled is True


def test_idp_disable_switches_off_a_provider_whose_stored_settings_fail_the_checks(
    storefront: Storefront,
) -> None:
    # given a provider stored before its JWKS URI had to be https
    legacy = IdentityProvider.objects.create(
        tenant=storefront.tenant,
        name="legacy",
        issuer="https://legacy.example/",
        audiences=["my-api"],
        jwks_uri="http://legacy.example/jwks.json",
    )

    # when it is disabled
    output = run_command("idp_disable", "--tenant", "acme", "--name", "legacy")

    # then it is off and its customers' sessions are revoked
    assert output == "acme/legacy: disabled\n"
    legacy.refresh_from_db()
    assert legacy.is_enabled is False
    assert Revocation.objects.filter(key=provider_revocation_key(str(legacy.public_id))).exists()

    # when it is enabled again with those settings
    with pytest.raises(CommandError) as error:
        run_command("idp_disable", "--tenant", "acme", "--name", "legacy", "--enable")

    # then the command refuses with the reason, and it stays off
    assert "https" in str(error.value)
    legacy.refresh_from_db()
    assert legacy.is_enabled is False


def test_idp_disable_of_an_unknown_provider_is_an_error(
    storefront: Storefront, static_provider: StaticKeyProvider
) -> None:
    # when a provider of another name, or of another tenant, is disabled
    TenantFactory(slug="beta")
    for tenant, name in (("acme", "nope"), ("beta", "shop-login")):
        with pytest.raises(CommandError) as error:
            run_command("idp_disable", "--tenant", tenant, "--name", name)

        # then the command says so and changes nothing
        assert f"no provider {name!r} for tenant {tenant!r}" in str(error.value)
    assert IdentityProvider.objects.get().is_enabled is True


# --- idp_dev_token and the local sign-in walk-through -----------------------------------------


@pytest.fixture
def dev_key_file(tmp_path: Path) -> Path:
    """A key pair made by ``idp_dev_token --create-key``: the private key file, with the public
    key next to it (``my-idp.pem.pub.pem``)."""
    key_file = tmp_path / "my-idp.pem"
    run_command("idp_dev_token", "--private-key-file", str(key_file), "--create-key")
    return key_file


def dev_token(key_file: Path, *claims: str) -> str:
    """The token ``idp_dev_token`` prints for bob, of ISSUER for my-api; ``claims`` add options."""
    return run_command(
        "idp_dev_token",
        "--private-key-file",
        str(key_file),
        "--issuer",
        ISSUER,
        "--audience",
        "my-api",
        "--sub",
        "bob",
        *claims,
    ).strip()


def test_idp_dev_token_create_key_writes_a_key_pair(tmp_path: Path) -> None:
    # when a key pair is created
    key_file = tmp_path / "my-idp.pem"
    output = run_command("idp_dev_token", "--private-key-file", str(key_file), "--create-key")

    # then the private key is readable by its owner only and the public key is next to it
    public_file = tmp_path / "my-idp.pem.pub.pem"
    assert output == f"wrote {key_file} and {public_file}\n"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public_file.read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_idp_dev_token_prints_a_token_with_the_given_claims(
    tmp_path: Path, dev_key_file: Path
) -> None:
    # given a key pair
    public_key = (tmp_path / "my-idp.pem.pub.pem").read_text()

    # when a token is asked for
    token = dev_token(
        dev_key_file, "--email", "bob@example.com", "--name", "Bob", "--lifetime", "600"
    )

    # then it is an RS256 access token for bob signed with that key
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience="my-api", issuer=ISSUER)
    assert header == {"alg": "RS256", "typ": "at+jwt"}
    assert claims["sub"] == "bob"
    assert (claims["email"], claims["email_verified"], claims["name"]) == (
        "bob@example.com",
        True,
        "Bob",
    )
    assert claims["exp"] - claims["iat"] == 600
    assert set(claims) == {
        "iss",
        "aud",
        "sub",
        "iat",
        "exp",
        "jti",
        "email",
        "email_verified",
        "name",
    }


@pytest.mark.parametrize("missing", ["--issuer", "--audience", "--sub"])
def test_idp_dev_token_needs_issuer_audience_and_subject(dev_key_file: Path, missing: str) -> None:
    # given a key pair
    arguments = {"--issuer": ISSUER, "--audience": "my-api", "--sub": "bob"}
    del arguments[missing]

    # when one of the three is left out
    with pytest.raises(CommandError) as error:
        run_command(
            "idp_dev_token",
            "--private-key-file",
            str(dev_key_file),
            *[part for pair in arguments.items() for part in pair],
        )

    # then the command names it
    assert f"{missing} is required" in str(error.value)


def test_idp_dev_token_refuses_a_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as error:
        dev_token(tmp_path / "missing.pem")
    assert "cannot read the private key" in str(error.value)


def test_local_sign_in_walk_through_works_end_to_end(
    api: APIClient,
    storefront: Storefront,
    products: dict[str, Any],
    tmp_path: Path,
    dev_key_file: Path,
) -> None:
    # given the README's steps: a key pair, its public half registered, a token printed
    idp_add("--audience", "my-api", "--public-key-file", str(tmp_path / "my-idp.pem.pub.pem"))
    providers_clear_cache()  # what the commit would do in a running API process
    token = dev_token(dev_key_file, "--email", "bob@example.com")

    # when the storefront takes the token to the customer context endpoint
    context_answer = api.get(
        CONTEXT_URL, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_AUTH_KEY=storefront.key
    )

    # then bob is a new customer of acme with a context
    assert context_answer.status_code == 200, context_answer.content
    customer = Customer.objects.get()
    assert context_answer.json() == {
        "isAnonymous": False,
        "customerContext": context_answer.json()["customerContext"],
        "customerId": str(customer.public_id),
    }
    assert customer.tenant == storefront.tenant
    assert (customer.email, customer.email_verified) == ("bob@example.com", True)
    assert CustomerIdentity.objects.get().subject == "bob"
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_X_CUSTOMER_CONTEXT": context_answer.json()["customerContext"],
    }

    # and bob can read his profile and fill his cart
    profile = api.get(PROFILE_URL, **headers)
    assert profile.status_code == 200, profile.content
    assert profile.json()["email"] == "bob@example.com"
    added = api.post(CART_URL + "/lines", {"sku": "MUG", "quantity": 1}, format="json", **headers)
    assert added.status_code == 200, added.content
    cart = api.get(CART_URL, **headers)
    assert cart.status_code == 200
    assert cart.json()["isAnonymous"] is False
    assert [(item["sku"], item["quantity"]) for item in cart.json()["lines"]] == [("MUG", 1)]
