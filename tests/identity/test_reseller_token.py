"""Generate Token (POST /reseller/token): partners, their secrets, their tokens, and the same
token from /oauth/token; reseller_create; deactivation in the admin."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from identity.http.throttles import OAuthTokenAddressThrottle
from identity.models import OAuthClient, OAuthClientKind, SigningKey, SigningKeyPurpose
from identity.oauth.clients import client_secret_rotate, client_set_active
from identity.principal import PrincipalKind
from identity.sessions.bearer import reseller_principal
from identity.tenancy.storefront import tenant_save
from tests.conftest import (
    Storefront,
    assert_problem,
    problem,
    run_command,
    tables_snapshot,
    validation_problem,
)
from tests.identity.oauth_helpers import make_client, oauth_post, token_request
from tests.identity.reseller_helpers import (
    RESELLER_ORDERS_URL,
    RESELLER_TOKEN_URL,
    Partner,
    generate_token,
    partner_headers,
)
from tests.identity.tokens_helpers import PROBLEMS, segments

CLIENT_INVALID = problem(
    "reseller_client_invalid",
    "Invalid partner credentials",
    401,
    "Generate Token: the clientId is no active partner of an active tenant, or the clientSecret "
    "is wrong or expired.",
    2132,
)
TOKEN_REVOKED = PROBLEMS[2012]


def _claims_and_header(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, _ = segments(token)
    return header, claims


def test_generate_token_answers_a_reseller_token(api: APIClient, partner: Partner) -> None:
    answer = api.post(RESELLER_TOKEN_URL, partner.body(), format="json")

    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert body == {
        "tokenType": "Bearer",
        "accessToken": body["accessToken"],
        "expiresIn": 900,
        "refreshToken": "",
    }
    header, claims = _claims_and_header(body["accessToken"])
    key = SigningKey.objects.get(purpose=SigningKeyPurpose.RESELLER, is_active=True)
    assert header == {"alg": "HS256", "kid": key.kid, "typ": "reseller+jwt"}
    assert claims["token_type"] == "reseller_access"
    assert claims["sub"] == claims["client_id"] == partner.client_id
    assert claims["tenant"] == partner.client.tenant_id
    assert claims["scope"] == "reseller:orders:read reseller:orders:write"
    assert claims["iss"] == settings.TOKEN_ISSUER
    assert claims["exp"] - claims["iat"] == 900


def test_generate_token_takes_http_basic(api: APIClient, partner: Partner) -> None:
    answer = api.post(RESELLER_TOKEN_URL, format="json", **partner.basic())

    assert answer.status_code == 200, answer.content
    assert _claims_and_header(answer.json()["accessToken"])[1]["sub"] == partner.client_id


def test_oauth_client_credentials_gives_the_same_token(api: APIClient, partner: Partner) -> None:
    generated = api.post(RESELLER_TOKEN_URL, partner.body(), format="json").json()
    oauth = token_request(api, partner.basic(), grant_type="client_credentials")

    assert oauth.status_code == 200, oauth.content
    assert oauth.json()["expires_in"] == generated["expiresIn"]
    assert oauth.json()["scope"] == "reseller:orders:read reseller:orders:write"
    generated_header, generated_claims = _claims_and_header(generated["accessToken"])
    oauth_header, oauth_claims = _claims_and_header(oauth.json()["access_token"])
    assert oauth_header == generated_header
    moments = ("jti", "iat", "exp")
    assert {k: v for k, v in oauth_claims.items() if k not in moments} == {
        k: v for k, v in generated_claims.items() if k not in moments
    }
    # And it is as good on the Reseller surface.
    listed = api.get(RESELLER_ORDERS_URL, **partner_headers(oauth.json()["access_token"]))
    assert listed.status_code == 200, listed.content


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param(lambda partner: {**partner.body(), "clientSecret": "cs_wrong"}, id="wrong"),
        pytest.param(lambda partner: {"clientId": partner.client_id}, id="no-secret"),
        pytest.param(lambda partner: {"clientSecret": partner.secret}, id="no-client-id"),
        pytest.param(lambda partner: {}, id="nothing"),
        pytest.param(
            lambda partner: {"clientId": "ci_00000000000000000000", "clientSecret": partner.secret},
            id="unknown-client",
        ),
        pytest.param(
            lambda partner: {"clientId": "../../etc", "clientSecret": partner.secret},
            id="malformed-client-id",
        ),
    ],
)
def test_wrong_credentials_are_a_401(api: APIClient, partner: Partner, credentials: Any) -> None:
    before = tables_snapshot()

    answer = api.post(RESELLER_TOKEN_URL, credentials(partner), format="json")

    assert_problem(answer, CLIENT_INVALID)
    assert answer["WWW-Authenticate"] == 'Basic realm="commerceapi"'
    assert answer["Cache-Control"] == "no-store"
    assert tables_snapshot() == before


def test_a_wrong_basic_secret_is_a_401(api: APIClient, partner: Partner) -> None:
    raw = f"{partner.client_id}:cs_wrong".encode()
    answer = api.post(
        RESELLER_TOKEN_URL,
        format="json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode(),
    )

    assert_problem(answer, CLIENT_INVALID)


def test_another_kind_of_client_gets_no_reseller_token(
    api: APIClient, storefront: Storefront
) -> None:
    integration = make_client(storefront, OAuthClientKind.INTEGRATION, name="ERP")

    answer = api.post(
        RESELLER_TOKEN_URL,
        {"clientId": integration.client_id, "clientSecret": integration.secret},
        format="json",
    )

    assert_problem(answer, CLIENT_INVALID)


def test_an_inactive_partner_gets_no_token(api: APIClient, partner: Partner) -> None:
    client_set_active(client=partner.client, is_active=False)

    assert_problem(api.post(RESELLER_TOKEN_URL, partner.body(), format="json"), CLIENT_INVALID)


def test_credentials_sent_two_ways_are_a_400(api: APIClient, partner: Partner) -> None:
    answer = api.post(RESELLER_TOKEN_URL, partner.body(), format="json", **partner.basic())

    assert_problem(
        answer,
        problem(
            "reseller_credentials_twice",
            "Credentials sent twice",
            400,
            "Generate Token: send the partner's credentials one way, HTTP Basic or the JSON body.",
            2133,
        ),
    )


def test_unknown_fields_are_refused(api: APIClient, partner: Partner) -> None:
    answer = api.post(RESELLER_TOKEN_URL, {**partner.body(), "scope": "x"}, format="json")

    assert_problem(
        answer, validation_problem(("scope", "unknown_field", "Not a field of Generate Token."))
    )


def test_generate_token_is_throttled(
    api: APIClient, partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        OAuthTokenAddressThrottle, "THROTTLE_RATES", {"oauth_token_address": "2/min"}
    )
    for _ in range(2):
        assert api.post(RESELLER_TOKEN_URL, partner.body(), format="json").status_code == 200

    answer = api.post(RESELLER_TOKEN_URL, partner.body(), format="json")

    assert answer.status_code == 429
    assert answer.json()["code"] == 1029
    assert int(answer["Retry-After"]) >= 1


def test_a_rotated_secret_works_during_the_overlap(api: APIClient, partner: Partner) -> None:
    new_secret = client_secret_rotate(client=partner.client, overlap=timedelta(hours=1))

    assert generate_token(api, partner)
    assert generate_token(api, Partner(client=partner.client, secret=new_secret))


def test_after_the_overlap_only_the_new_secret_works(api: APIClient, partner: Partner) -> None:
    new_secret = client_secret_rotate(client=partner.client, overlap=timedelta(0))

    assert_problem(api.post(RESELLER_TOKEN_URL, partner.body(), format="json"), CLIENT_INVALID)
    assert generate_token(api, Partner(client=partner.client, secret=new_secret))


def test_deactivating_a_partner_stops_its_tokens_at_once(
    api: APIClient,
    partner: Partner,
    partner_token: str,
    operator: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert api.get(RESELLER_ORDERS_URL, **partner_headers(partner_token)).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        answer = operator.post(
            "/admin/identity/oauthclient/",
            {"action": "deactivate", "_selected_action": [partner.client.pk]},
        )

    assert answer.status_code == 302
    assert OAuthClient.objects.get(pk=partner.client.pk).is_active is False
    assert_problem(api.get(RESELLER_ORDERS_URL, **partner_headers(partner_token)), TOKEN_REVOKED)
    # Activated again, the partner generates a new token and it works.
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            "/admin/identity/oauthclient/",
            {"action": "activate", "_selected_action": [partner.client.pk]},
        )
    token = generate_token(api, partner)
    assert api.get(RESELLER_ORDERS_URL, **partner_headers(token)).status_code == 200


def test_validating_a_reseller_token_costs_no_query(
    partner: Partner, partner_token: str, django_assert_num_queries: Any
) -> None:
    reseller_principal(partner_token)  # the keyring is read once per process

    with django_assert_num_queries(0):
        principal = reseller_principal(partner_token)

    assert principal.kind is PrincipalKind.PARTNER
    assert principal.subject_id == partner.client_id
    assert principal.tenant_id == partner.client.tenant_id
    assert principal.scopes == {"reseller:orders:read", "reseller:orders:write"}


def test_reseller_create_prints_the_credentials(api: APIClient, storefront: Storefront) -> None:
    printed = run_command("reseller_create", "--tenant", "acme", "--name", "Partner C")

    lines = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
    partner = OAuthClient.objects.get(client_id=lines["client_id"])
    assert partner.kind == OAuthClientKind.RESELLER
    assert partner.name == "Partner C"
    assert partner.scopes == ["reseller:orders:read", "reseller:orders:write"]
    assert partner.grant_types == ["client_credentials"]
    assert lines["client_secret"] not in str(list(partner.secrets.values()))
    token = generate_token(api, Partner(client=partner, secret=lines["client_secret"]))
    assert _claims_and_header(token)[1]["tenant"] == storefront.tenant.pk


def test_reseller_create_takes_fewer_scopes(storefront: Storefront) -> None:
    printed = run_command(
        "reseller_create", "--tenant", "acme", "--name", "Reader", "--scope", "reseller:orders:read"
    )

    client_id = next(
        line.split("=", 1)[1] for line in printed.splitlines() if line.startswith("client_id=")
    )
    assert OAuthClient.objects.get(client_id=client_id).scopes == ["reseller:orders:read"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--tenant", "nope", "--name", "X"], "no tenant 'nope'"),
        (["--tenant", "acme", "--name", "Partner A"], "Tenant and Name already exists"),
    ],
)
def test_reseller_create_refuses(partner: Partner, arguments: list[str], message: str) -> None:
    count = OAuthClient.objects.count()

    with pytest.raises(CommandError, match=message):
        run_command("reseller_create", *arguments)

    assert OAuthClient.objects.count() == count


@pytest.mark.parametrize(
    ("kind", "scopes"),
    [
        (OAuthClientKind.RESELLER, ["catalog:read"]),
        (OAuthClientKind.INTEGRATION, ["reseller:orders:read"]),
    ],
)
def test_reseller_scopes_belong_to_resellers_only(
    storefront: Storefront, kind: str, scopes: list[str]
) -> None:
    with pytest.raises(ValidationError):
        make_client(storefront, kind, name="Mixed", scopes=scopes)


def _admin_messages(answer: Any) -> list[str]:
    return [str(message) for message in get_messages(answer.wsgi_request)]


def _admin_add_partner(operator: Any, storefront: Storefront, grant_types: list[str]) -> Any:
    return operator.post(
        "/admin/identity/oauthclient/add/",
        {
            "tenant": storefront.tenant.pk,
            "name": "Partner by the admin",
            "kind": "reseller",
            "grant_types": grant_types,
            "scopes": ["reseller:orders:read", "reseller:orders:write"],
            "access_token_lifetime_seconds": 900,
            "refresh_token_idle_seconds": 86400,
            "refresh_token_absolute_seconds": 864000,
            "is_active": "on",
            "secrets-TOTAL_FORMS": 0,
            "secrets-INITIAL_FORMS": 0,
        },
        follow=True,
    )


def test_an_operator_creates_a_partner_in_the_admin(
    operator: Any, api: APIClient, storefront: Storefront
) -> None:
    answer = _admin_add_partner(operator, storefront, ["client_credentials"])

    partner = OAuthClient.objects.get(name="Partner by the admin")
    assert partner.kind == OAuthClientKind.RESELLER
    shown = [message for message in _admin_messages(answer) if "client_secret=cs_" in message]
    assert len(shown) == 1
    secret = shown[0].split("client_secret=")[1].split()[0]
    assert generate_token(api, Partner(client=partner, secret=secret))


def test_a_partner_without_its_grant_is_not_saved(operator: Any, storefront: Storefront) -> None:
    answer = _admin_add_partner(operator, storefront, [])

    assert any("client_credentials grant" in message for message in _admin_messages(answer))
    assert not OAuthClient.objects.filter(name="Partner by the admin").exists()


def test_a_partner_revokes_its_token_at_the_token_service(
    api: APIClient, partner: Partner, partner_token: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer = oauth_post(api, "/oauth/revoke", partner.basic(), token=partner_token)

    assert answer.status_code == 200
    assert_problem(api.get(RESELLER_ORDERS_URL, **partner_headers(partner_token)), TOKEN_REVOKED)
    assert (
        api.get(RESELLER_ORDERS_URL, **partner_headers(generate_token(api, partner))).status_code
        == 200
    )


def test_introspection_names_a_reseller_token_a_partners(
    api: APIClient, storefront: Storefront, partner: Partner, partner_token: str
) -> None:
    integration = make_client(storefront, OAuthClientKind.INTEGRATION, name="ERP")

    answer = oauth_post(api, "/oauth/introspect", integration.basic(), token=partner_token)

    assert answer.status_code == 200
    body = answer.json()
    assert body["active"] is True
    assert body["kind"] == "partner"
    assert body["client_id"] == body["sub"] == partner.client_id
    assert body["scope"] == "reseller:orders:read reseller:orders:write"


SURFACE_DISABLED = problem(
    "reseller_surface_disabled",
    "Surface switched off for the tenant",
    403,
    "The partner's credentials are valid but its tenant has switched the Reseller surface off.",
    2134,
)


def test_a_tenant_without_the_reseller_surface_refuses_its_partners(
    api: APIClient,
    storefront: Storefront,
    partner: Partner,
    partner_token: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tenant = storefront.tenant
    tenant.reseller_api_enabled = False
    with django_capture_on_commit_callbacks(execute=True):
        tenant_save(tenant=tenant)
    before = tables_snapshot()

    assert_problem(api.post(RESELLER_TOKEN_URL, partner.body(), format="json"), SURFACE_DISABLED)
    assert_problem(api.get(RESELLER_ORDERS_URL, **partner_headers(partner_token)), SURFACE_DISABLED)
    assert tables_snapshot() == before

    tenant.reseller_api_enabled = True
    with django_capture_on_commit_callbacks(execute=True):
        tenant_save(tenant=tenant)
    assert api.get(RESELLER_ORDERS_URL, **partner_headers(partner_token)).status_code == 200
    assert generate_token(api, partner)


def test_the_surface_switch_costs_no_query_once_cached(
    api: APIClient, partner_token: str, django_assert_num_queries: Any
) -> None:
    assert api.get(RESELLER_ORDERS_URL, **partner_headers(partner_token)).status_code == 200

    # the list itself: its count and its page (no order, so no lines to fetch)
    with django_assert_num_queries(1):
        answer = api.get(RESELLER_ORDERS_URL, **partner_headers(partner_token))

    assert answer.json()["count"] == 0
