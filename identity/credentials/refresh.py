"""Refresh tokens: one family (``OAuthGrant``) per sign-in, rotated on every use.

A refresh token is used once. Presenting it again means it was copied: the whole family is
revoked (its refresh tokens and, through the ``grant`` claim, its access tokens) and the
request refused. Each token expires after the client's idle time; none outlives the family's
absolute end. Rows are locked through ``refresh_token_qs_select_for_update`` so that two
concurrent uses of one token cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.errors import DomainError
from identity import errors
from identity.credentials.revocation import grant_revocation_key, revocation_add
from identity.credentials.secrets import secret_issue, secret_matches, secret_prefix
from identity.models import (
    ACCESS_TOKEN_MAX_SECONDS,
    Customer,
    OAuthClient,
    OAuthGrant,
    RefreshToken,
)

REFRESH_TOKEN_KIND = "rt"


def _refused(description: str) -> DomainError:
    return DomainError(errors.OAUTH_INVALID_GRANT, description)


# Access tokens live at most this long, so a grant's revocation can be forgotten after it.
_LONGEST_ACCESS_TOKEN = timedelta(seconds=ACCESS_TOKEN_MAX_SECONDS)


@dataclass(frozen=True)
class IssuedRefresh:
    grant: OAuthGrant
    refresh_token: str


def refresh_token_qs_select_for_update() -> QuerySet[RefreshToken]:
    return RefreshToken.objects.select_for_update(of=("self", "grant")).select_related(
        "grant", "grant__customer"
    )


def _refresh_token_create(grant: OAuthGrant, client: OAuthClient, now: datetime) -> str:
    issued = secret_issue(REFRESH_TOKEN_KIND)
    expires_at = min(now + timedelta(seconds=client.refresh_token_idle_seconds), grant.expires_at)
    RefreshToken.objects.create(
        grant=grant, prefix=issued.prefix, secret_hash=issued.secret_hash, expires_at=expires_at
    )
    return issued.value


def grant_create(*, client: OAuthClient, customer: Customer, scope: str) -> IssuedRefresh:
    """A new sign-in and its first refresh token."""
    now = timezone.now()
    with transaction.atomic():
        grant = OAuthGrant.objects.create(
            tenant_id=client.tenant_id,
            client=client,
            customer=customer,
            scope=scope,
            expires_at=now + timedelta(seconds=client.refresh_token_absolute_seconds),
        )
        refresh_token = _refresh_token_create(grant, client, now)
    return IssuedRefresh(grant=grant, refresh_token=refresh_token)


def grant_revoke(*, grant_id: int, public_id: str, expires_at: datetime, reason: str) -> None:
    """End a sign-in: its refresh tokens now, its access tokens on their next use."""
    now = timezone.now()
    with transaction.atomic():
        OAuthGrant.objects.filter(pk=grant_id, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=reason
        )
        revocation_add(
            key=grant_revocation_key(public_id),
            reason=reason,
            expires_at=max(expires_at, now) + _LONGEST_ACCESS_TOKEN,
        )


def grants_revoke_for_customer(*, customer: Customer, reason: str) -> int:
    """End every live sign-in of a customer; returns how many."""
    with transaction.atomic():
        grants = list(
            OAuthGrant.objects.select_for_update()
            .filter(customer=customer, revoked_at__isnull=True, expires_at__gt=timezone.now())
            .values_list("pk", "public_id", "expires_at")
        )
        for grant_id, public_id, expires_at in grants:
            grant_revoke(
                grant_id=grant_id, public_id=str(public_id), expires_at=expires_at, reason=reason
            )
    return len(grants)


def refresh_token_find(raw_token: str) -> RefreshToken | None:
    """The refresh token row whose hash matches ``raw_token`` (used or not), else None."""
    prefix = secret_prefix(raw_token, kind=REFRESH_TOKEN_KIND)
    if prefix is None:
        return None
    row = RefreshToken.objects.select_related("grant__customer").filter(prefix=prefix).first()
    if row is None or not secret_matches(raw_token, row.secret_hash):
        return None
    return row


def refresh_rotate(
    *,
    client: OAuthClient,
    raw_token: str,
    grant_check: Callable[[OAuthGrant], None] | None = None,
) -> IssuedRefresh:
    """Use a refresh token: a new one of the same family, or a ``DomainError``
    ``OAUTH_INVALID_GRANT`` saying why not.

    A token already used revokes its family (committed before the refusal is raised).
    ``grant_check`` may refuse the request (by raising) once the token is known to be usable,
    before it is used up.
    """
    prefix = secret_prefix(raw_token, kind=REFRESH_TOKEN_KIND)
    if prefix is None:
        raise _refused("The refresh token is invalid.")
    now = timezone.now()
    reused = False
    with transaction.atomic():
        row = refresh_token_qs_select_for_update().filter(prefix=prefix).first()
        if row is None or not secret_matches(raw_token, row.secret_hash):
            raise _refused("The refresh token is invalid.")
        grant = row.grant
        if grant.client_id != client.pk or grant.tenant_id != client.tenant_id:
            raise _refused("The refresh token was issued to another client.")
        if grant.revoked_at is not None:
            raise _refused("The refresh token has been revoked.")
        if row.used_at is not None:
            grant_revoke(
                grant_id=grant.pk,
                public_id=str(grant.public_id),
                expires_at=grant.expires_at,
                reason="refresh token reused",
            )
            reused = True
        elif row.expires_at <= now or grant.expires_at <= now:
            raise _refused("The refresh token has expired.")
        elif not grant.customer.is_active:
            raise _refused("The customer is deactivated.")
        else:
            if grant_check is not None:
                grant_check(grant)
            RefreshToken.objects.filter(pk=row.pk).update(used_at=now)
            refresh_token = _refresh_token_create(grant, client, now)
    if reused:
        raise _refused("The refresh token was used already; the sign-in has been revoked.")
    return IssuedRefresh(grant=grant, refresh_token=refresh_token)
