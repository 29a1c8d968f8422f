"""The grants of POST /oauth/token (RFC 6749, RFC 8693): who gets which token.

- ``client_credentials``: a sales channel gets a guest token (an anonymous token with a new
  anonymous id, under its storefront app's settings); a reseller partner its reseller token
  (the one Generate Token answers); another confidential client its own token.
- ``password``: a local customer account's e-mail and password; a customer token and the first
  refresh token of a new sign-in.
- ``refresh_token``: the refresh token is rotated; the access token's scope may narrow.
- token exchange: a confidential client acts for a customer it proves (a customer token it
  holds, ours or an identity provider's, or with ``may_act_for_any_customer`` a customer id);
  the token carries ``act`` naming the client and optional custom claims.

Scopes only narrow: a requested scope outside what the client, and the subject, hold is
``invalid_scope``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

from core.errors import DomainError
from identity import errors
from identity.credentials.kinds import (
    AnonymousAccessToken,
    ClientAccessToken,
    CustomerAccessToken,
    ResellerAccessToken,
)
from identity.credentials.refresh import RefreshAnswer, grant_create, refresh_rotate
from identity.credentials.tokens import (
    CLAIM_ACTOR,
    CLAIM_CUSTOM,
    MAX_ACTOR_DEPTH,
    MAX_TOKEN_LENGTH,
    actor_depth,
    token_encode,
)
from identity.customers.accounts import SignInRefused, password_sign_in
from identity.models import Customer, GrantType, OAuthClient, OAuthClientKind, OAuthGrant
from identity.oauth.errors import invalid_grant, invalid_request, invalid_scope
from identity.principal import PrincipalKind
from identity.scopes import CUSTOMER_SCOPES, GUEST_SCOPES, scope_format, scope_parse
from identity.sessions.bearer import bearer_customer_id, bearer_verify

TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
# Our own subject token type for token exchange: the subject token is a customer's id.
TOKEN_TYPE_CUSTOMER_ID = "urn:commerceapi:params:oauth:token-type:customer-id"
SUBJECT_TOKEN_TYPES = (TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_CUSTOMER_ID)
MAX_CUSTOM_CLAIMS_NESTING = 10


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    scope: str
    # Epoch seconds; 0 where the answer does not need it.
    expires_at: int = 0
    refresh_token: str = ""
    issued_token_type: str = ""


def _param(form: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise invalid_request(f"The {name} parameter is required.")
        return None
    return value


def _narrow(form: Mapping[str, str], allowed: frozenset[str]) -> frozenset[str]:
    """The requested scopes if all are allowed; all allowed ones when none is requested."""
    requested_value = _param(form, "scope")
    if requested_value is None:
        return allowed
    requested = scope_parse(requested_value)
    if requested is None:
        raise invalid_scope("The scope parameter is malformed.")
    beyond = requested - allowed
    if beyond:
        raise invalid_scope(f"Not granted to this client or subject: {scope_format(beyond)}.")
    return requested


def customer_token_issue(
    *,
    client: OAuthClient,
    customer_id: str,
    scopes: frozenset[str],
    grant_id: str = "",
    actor: dict[str, Any] | None = None,
    custom_claims: dict[str, Any] | None = None,
    not_after: int | None = None,
) -> IssuedTokens:
    """A customer access token; its expiry is the client's lifetime, or ``not_after`` if
    sooner."""
    token = CustomerAccessToken.issue(
        customer_id=customer_id,
        tenant_id=client.tenant_id,
        client_id=client.client_id,
        scope=scope_format(scopes),
        lifetime_seconds=client.access_token_lifetime_seconds,
        app_id=str(client.storefront_app.public_id) if client.storefront_app is not None else "",
        grant_id=grant_id,
        actor=actor,
        custom_claims=custom_claims,
        not_after=not_after,
    )
    encoded = token_encode(token)
    if len(encoded) > MAX_TOKEN_LENGTH:
        # No decoder would take it back; refuse it here rather than issue a dead token.
        raise invalid_request("The token would be larger than the API accepts.")
    now = int(token.current_time.timestamp())
    return IssuedTokens(
        access_token=encoded,
        expires_in=max(0, int(token["exp"]) - now),
        expires_at=int(token["exp"]),
        scope=scope_format(scopes),
    )


def _require_grant(client: OAuthClient, grant_type: str) -> None:
    if grant_type not in client.grant_types:
        raise DomainError(
            errors.OAUTH_UNAUTHORIZED_CLIENT, f"The client may not use the {grant_type} grant."
        )


def client_credentials_grant(*, client: OAuthClient, form: Mapping[str, str]) -> IssuedTokens:
    _require_grant(client, GrantType.CLIENT_CREDENTIALS)
    if client.kind != OAuthClientKind.SALES_CHANNEL:
        scopes = _narrow(form, frozenset(client.scopes))
        kind = ResellerAccessToken if client.kind == OAuthClientKind.RESELLER else ClientAccessToken
        token = kind.issue(
            client_id=client.client_id,
            tenant_id=client.tenant_id,
            scope=scope_format(scopes),
            lifetime_seconds=client.access_token_lifetime_seconds,
        )
        return IssuedTokens(
            access_token=token_encode(token),
            expires_in=client.access_token_lifetime_seconds,
            scope=scope_format(scopes),
        )
    app = client.storefront_app
    assert app is not None  # client_authenticate refuses a sales channel without a live app
    scopes = _narrow(form, frozenset(client.scopes) & GUEST_SCOPES)
    guest = AnonymousAccessToken.issue(
        anonymous_id=str(uuid.uuid4()),
        tenant_id=client.tenant_id,
        app_id=str(app.public_id),
        lifetime_seconds=app.anonymous_token_lifetime_seconds,
        client_id=client.client_id,
        scope=scope_format(scopes),
    )
    return IssuedTokens(
        access_token=token_encode(guest),
        expires_in=app.anonymous_token_lifetime_seconds,
        scope=scope_format(scopes),
    )


def password_grant(*, client: OAuthClient, form: Mapping[str, str]) -> IssuedTokens:
    _require_grant(client, GrantType.PASSWORD)
    email = _param(form, "username", required=True)
    password = _param(form, "password", required=True)
    scopes = _narrow(form, frozenset(client.scopes) & CUSTOMER_SCOPES)
    try:
        customer = password_sign_in(tenant_id=client.tenant_id, email=email, password=password)
    except SignInRefused as refused:
        if refused.locked:
            raise invalid_grant(
                "Too many failed sign-ins for this e-mail; try again later."
            ) from None
        raise invalid_grant("The e-mail or password is wrong.") from None
    return _signed_in(client, customer, scopes)


def _signed_in(client: OAuthClient, customer: Customer, scopes: frozenset[str]) -> IssuedTokens:
    """A new sign-in: its access token, and a refresh token if the client may refresh."""
    if GrantType.REFRESH_TOKEN not in client.grant_types:
        return customer_token_issue(
            client=client, customer_id=str(customer.public_id), scopes=scopes
        )
    issued = grant_create(client=client, customer=customer, scope=scope_format(scopes))
    access = customer_token_issue(
        client=client,
        customer_id=str(customer.public_id),
        scopes=scopes,
        grant_id=str(issued.grant.public_id),
    )
    return replace(access, refresh_token=issued.refresh_token)


def refresh_token_grant(*, client: OAuthClient, form: Mapping[str, str]) -> IssuedTokens:
    _require_grant(client, GrantType.REFRESH_TOKEN)
    raw_token = _param(form, "refresh_token", required=True)
    assert raw_token is not None

    def respond(grant: OAuthGrant, refresh_token: str) -> RefreshAnswer:
        # Inside the rotation: a refused scope rotates nothing (and a reused token still
        # revokes its family, before this is reached).
        granted = scope_parse(grant.scope) or frozenset()
        access = customer_token_issue(
            client=client,
            customer_id=str(grant.customer.public_id),
            scopes=_narrow(form, granted & frozenset(client.scopes)),
            grant_id=str(grant.public_id),
            not_after=int(grant.expires_at.timestamp()),
        )
        return RefreshAnswer(
            access_token=access.access_token,
            expires_at=access.expires_at,
            scope=access.scope,
            refresh_token=refresh_token,
        )

    answer = refresh_rotate(client=client, raw_token=raw_token, respond=respond)
    return IssuedTokens(
        access_token=answer.access_token,
        expires_in=max(0, answer.expires_at - int(time.time())),
        expires_at=answer.expires_at,
        scope=answer.scope,
        refresh_token=answer.refresh_token,
    )


@dataclass(frozen=True)
class _Subject:
    customer_id: str
    scopes: frozenset[str]
    not_after: int | None = None
    grant_id: str = ""
    actor: dict[str, Any] | None = None
    custom_claims: dict[str, Any] | None = None


def _subject_from_token(client: OAuthClient, raw_token: str) -> _Subject:
    """A customer token of ours or of one of the tenant's providers, verified in full."""
    try:
        bearer = bearer_verify(raw_token, tenant_id=client.tenant_id)
    except DomainError as error:
        raise _subject_refused(error) from None
    if bearer.principal_kind is not PrincipalKind.CUSTOMER:
        raise invalid_grant("The subject token is not a customer's access token.")
    try:
        customer_id = bearer_customer_id(bearer)
        bearer.refuse_if_revoked(customer_id)
    except DomainError as error:
        raise _subject_refused(error) from None
    own = bearer.claims
    return _Subject(
        customer_id=customer_id,
        scopes=bearer.scopes,
        not_after=bearer.expires_at,
        grant_id=bearer.grant_id,
        actor=own.get(CLAIM_ACTOR),
        custom_claims=own.get(CLAIM_CUSTOM),
    )


def _subject_refused(error: DomainError) -> DomainError:
    """A subject token that verification refused: the token service's answer to it."""
    if error.code.status == 503:
        return DomainError(
            errors.OAUTH_TEMPORARILY_UNAVAILABLE, "The subject's identity provider is down."
        )
    return invalid_grant("The subject token is invalid, expired or revoked.")


def _subject_from_customer_id(client: OAuthClient, customer_id: str) -> _Subject:
    if not client.may_act_for_any_customer:
        raise invalid_grant("The client may not name a customer by id; send a subject token.")
    try:
        uuid.UUID(customer_id)
    except ValueError:
        raise invalid_grant("No such customer.") from None
    customer = Customer.objects.filter(
        public_id=customer_id, tenant_id=client.tenant_id, is_active=True
    ).first()
    if customer is None:
        raise invalid_grant("No such customer.")
    return _Subject(customer_id=str(customer.public_id), scopes=CUSTOMER_SCOPES)


def _not_json(constant: str) -> Any:
    """NaN and Infinity: Python reads them, JSON (RFC 8259) has no such numbers."""
    raise ValueError(f"{constant} is not JSON")


def _custom_claims(form: Mapping[str, str]) -> dict[str, Any] | None:
    raw = _param(form, "custom_claims")
    if raw is None:
        return None
    limit = settings.OAUTH_CUSTOM_CLAIMS_MAX_BYTES
    if len(raw.encode()) > limit:
        raise invalid_request(f"custom_claims is larger than {limit} bytes.")
    try:
        claims = json.loads(raw, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise invalid_request("custom_claims is not JSON.") from None
    if not isinstance(claims, dict):
        raise invalid_request("custom_claims must be a JSON object.")
    if _nesting(claims) > MAX_CUSTOM_CLAIMS_NESTING:
        raise invalid_request(f"custom_claims nests deeper than {MAX_CUSTOM_CLAIMS_NESTING}.")
    try:
        # Measured as the token will carry it (non-ASCII escaped); 1e400 is infinity, not JSON;
        # a lone surrogate (\ud800) is no text, and nothing could write it back out as UTF-8.
        in_token = json.dumps(claims, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
        json.dumps(claims, ensure_ascii=False).encode()
    except ValueError:  # UnicodeEncodeError is one
        raise invalid_request("custom_claims is not JSON.") from None
    if len(in_token) > limit:
        raise invalid_request(f"custom_claims is larger than {limit} bytes.")
    return claims


def _nesting(value: Any) -> int:
    """How deep objects and arrays nest in ``value`` (a scalar: 0)."""
    deepest, level = 0, [(value, 0)]
    while level:
        item, depth = level.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            level.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return deepest


def token_exchange_grant(*, client: OAuthClient, form: Mapping[str, str]) -> IssuedTokens:
    _require_grant(client, GrantType.TOKEN_EXCHANGE)
    subject_token = _param(form, "subject_token", required=True)
    subject_token_type = _param(form, "subject_token_type", required=True)
    assert subject_token is not None
    if subject_token_type not in SUBJECT_TOKEN_TYPES:
        raise invalid_request(f"subject_token_type must be one of {SUBJECT_TOKEN_TYPES}.")
    requested_type = _param(form, "requested_token_type")
    if requested_type not in (None, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT):
        raise invalid_request("Only access tokens are issued.")
    if _param(form, "actor_token") is not None:
        raise invalid_request("The authenticated client is the actor; actor_token is not taken.")
    for target in ("audience", "resource"):
        if _param(form, target) not in (None, settings.TOKEN_AUDIENCE):
            raise DomainError(errors.OAUTH_INVALID_TARGET, f"Unknown {target}.")
    custom_claims = _custom_claims(form)
    if subject_token_type == TOKEN_TYPE_CUSTOMER_ID:
        subject = _subject_from_customer_id(client, subject_token)
    else:
        subject = _subject_from_token(client, subject_token)
    scopes = _narrow(form, subject.scopes & frozenset(client.scopes) & CUSTOMER_SCOPES)
    if actor_depth(subject.actor) >= MAX_ACTOR_DEPTH:
        raise invalid_grant("The subject token's delegation chain is as long as allowed.")
    actor: dict[str, Any] = {"sub": client.client_id}
    if subject.actor is not None:
        actor["act"] = subject.actor
    issued = customer_token_issue(
        client=client,
        customer_id=subject.customer_id,
        scopes=scopes,
        grant_id=subject.grant_id,
        actor=actor,
        custom_claims=custom_claims if custom_claims is not None else subject.custom_claims,
        not_after=subject.not_after,
    )
    return replace(issued, issued_token_type=TOKEN_TYPE_ACCESS_TOKEN)


GRANTS = {
    GrantType.CLIENT_CREDENTIALS.value: client_credentials_grant,
    GrantType.PASSWORD.value: password_grant,
    GrantType.REFRESH_TOKEN.value: refresh_token_grant,
    GrantType.TOKEN_EXCHANGE.value: token_exchange_grant,
}


def token_grant(*, client: OAuthClient, grant_type: str, form: Mapping[str, str]) -> IssuedTokens:
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise DomainError(errors.OAUTH_UNSUPPORTED_GRANT_TYPE, "Unknown grant_type.")
    return grant(client=client, form=form)
