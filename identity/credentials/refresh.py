"""Refresh tokens: one family (``OAuthGrant``) per sign-in, rotated on every use.

A refresh token is used once. Presenting it again means it was copied: the whole family is
revoked (its refresh tokens and, through the ``grant`` claim, its access tokens) and the
request refused. Each token expires after the client's idle time; none outlives the family's
absolute end. Rows are locked through ``refresh_token_qs_select_for_update`` so that two
concurrent uses of one token cannot both rotate it.

One exception, for a client that retries after losing the answer: the immediately previous
refresh token, presented again by the same client within ``REFRESH_TOKEN_REUSE_GRACE_SECONDS``
of its use, gets that use's answer again (the same access and refresh tokens), once. The answer
is kept on the used row for that, sealed with a key derived from the used token itself (which
is stored only as a hash), so the database alone never yields it. Any other reuse (a second
retry, another client, after the grace, or a token older than the previous one) revokes the
family as before.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
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
        RefreshToken.objects.filter(grant_id=grant_id).exclude(replay_answer="").update(
            replay_answer=""
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


@dataclass(frozen=True)
class RefreshAnswer:
    """What a use of a refresh token answers: the new access token (``expires_at`` in epoch
    seconds, its scope) and the new refresh token."""

    access_token: str
    expires_at: int
    scope: str
    refresh_token: str


_REPLAY_KEY_INFO = b"commerceapi refresh-token replay answer"


def _replay_fernet(raw_token: str) -> Fernet:
    """The key that seals a use's answer: derived from the used token, which only its holder
    has (the token holds 256 random bits; HKDF spreads them into a Fernet key)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_REPLAY_KEY_INFO).derive(
        raw_token.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _answer_seal(answer: RefreshAnswer, raw_token: str) -> str:
    if settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS <= 0:
        return ""
    return _replay_fernet(raw_token).encrypt(json.dumps(asdict(answer)).encode()).decode()


def _answer_unseal(sealed: str, raw_token: str) -> RefreshAnswer | None:
    try:
        return RefreshAnswer(**json.loads(_replay_fernet(raw_token).decrypt(sealed.encode())))
    except (InvalidToken, ValueError, TypeError):
        return None


def _replay(
    row: RefreshToken, client: OAuthClient, raw_token: str, now: datetime
) -> RefreshAnswer | None:
    """The answer of a used token's use, if this is the one retry the grace allows."""
    grace = timedelta(seconds=settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS)
    if (
        row.used_at is None
        or row.grant.client_id != client.pk
        or row.replayed_at is not None
        or not row.replay_answer
        or now - row.used_at > grace
    ):
        return None
    return _answer_unseal(row.replay_answer, raw_token)


def refresh_rotate(
    *,
    client: OAuthClient,
    raw_token: str,
    respond: Callable[[OAuthGrant, str], RefreshAnswer],
) -> RefreshAnswer:
    """Use a refresh token: ``respond(grant, new_refresh_token)`` makes the answer (the access
    token), inside the transaction that rotates the token, so that a refusal raised there
    rotates nothing. Else a ``DomainError`` ``OAUTH_INVALID_GRANT`` saying why not.

    A token already used revokes its family (committed before the refusal is raised), except
    for the one retry within the grace (see the module's docstring), which gets the same answer.
    """
    prefix = secret_prefix(raw_token, kind=REFRESH_TOKEN_KIND)
    if prefix is None:
        raise _refused("The refresh token is invalid.")
    now = timezone.now()
    with transaction.atomic():
        row = refresh_token_qs_select_for_update().filter(prefix=prefix).first()
        if row is None or not secret_matches(raw_token, row.secret_hash):
            raise _refused("The refresh token is invalid.")
        grant = row.grant
        if row.used_at is not None and grant.revoked_at is None:
            # A used token in anyone's hands, another client's too, is a copy; but for one retry.
            replayed = _replay(row, client, raw_token, now)
            if replayed is not None:
                RefreshToken.objects.filter(pk=row.pk).update(replayed_at=now, replay_answer="")
                return replayed
            grant_revoke(
                grant_id=grant.pk,
                public_id=str(grant.public_id),
                expires_at=grant.expires_at,
                reason="refresh token reused",
            )
        elif grant.client_id != client.pk:
            raise _refused("The refresh token was issued to another client.")
        elif grant.revoked_at is not None:
            raise _refused("The refresh token has been revoked.")
        elif row.expires_at <= now or grant.expires_at <= now:
            raise _refused("The refresh token has expired.")
        elif not grant.customer.is_active:
            raise _refused("The customer is deactivated.")
        else:
            answer = respond(grant, _refresh_token_create(grant, client, now))
            # Only the immediately previous token may be retried: the one before is done.
            RefreshToken.objects.filter(grant=grant).exclude(replay_answer="").update(
                replay_answer=""
            )
            RefreshToken.objects.filter(pk=row.pk).update(
                used_at=now, replay_answer=_answer_seal(answer, raw_token)
            )
            return answer
    raise _refused("The refresh token was used already; the sign-in has been revoked.")
