"""Helpers of the provider key tests (test_provider_keys, test_provider_outages)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.identity.jwks_server import (
    PROVIDER_TIMEOUT_SECONDS,
    JwksServer,
    ProviderKey,
    jws_sign,
)

ServerFactory = Callable[..., JwksServer]
# How much longer than the provider timeout an answer may take on a busy machine.
MARGIN_SECONDS = 1.5
SLOW_SECONDS = PROVIDER_TIMEOUT_SECONDS + 3


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def random_kid_token(server: JwksServer, attacker_key: ProviderKey) -> str:
    header = {"alg": attacker_key.algorithm, "typ": "JWT", "kid": uuid.uuid4().hex}
    return jws_sign(header, server.claims(), attacker_key.private_key, attacker_key.algorithm)
