"""The reference's tokens: HS256 with a key derived from SECRET_KEY, one claim set."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import jwt
from django.conf import settings

LIFETIME_SECONDS = 3600


def key() -> bytes:
    return hashlib.sha256(b"bench-reference:" + settings.SECRET_KEY.encode()).digest()


def issue(*, tenant_id: int, subject: str) -> str:
    now = int(time.time())
    claims = {
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
        "sub": subject,
        "tid": tenant_id,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
    }
    return jwt.encode(claims, key(), algorithm="HS256")


def verify(raw: str) -> dict[str, Any]:
    return jwt.decode(
        raw,
        key(),
        algorithms=["HS256"],
        audience=settings.TOKEN_AUDIENCE,
        issuer=settings.TOKEN_ISSUER,
    )
