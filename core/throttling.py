"""DRF's rate throttle, counting in fixed windows in the shared cache."""

from __future__ import annotations

from typing import Any, TypeGuard

from django.core.cache import cache as default_cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from core.counters import cache_counters_increment


class FixedWindowRateThrottle(SimpleRateThrottle):
    """DRF's rate throttle, counting in fixed windows: one cache increment per request.

    DRF's own keeps a list of timestamps per client and rewrites it on every request, which
    costs as much as the rate is high (thousands of entries for a per-key rate). A window of
    ``duration`` seconds admits ``num_requests``; a burst across a window edge may reach twice
    that, the usual price of the fixed window.
    """

    # Set by SimpleRateThrottle.__init__ from the scope's rate.
    num_requests: int
    duration: int
    window_end = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        counter = self.window_counter(request, view)
        if counter is None:
            return True
        (count,) = cache_counters_increment([counter], store=self.cache)
        return self.allows(count)

    def window_counter(self, request: Request, view: Any) -> tuple[str, int] | None:
        """The ``(key, seconds)`` of this request's window counter; None if not counted."""
        if self.rate is None:
            return None
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return None
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        return f"{self.key}:{window}", self.duration + 1

    def allows(self, count: int) -> bool:
        return count <= self.num_requests

    def wait(self) -> float:
        return max(0.0, self.window_end - self.now)


def throttles_check(view: APIView, request: Request) -> None:
    """DRF's ``APIView.check_throttles``, every throttle counted and ``view.throttled`` called
    with the longest wait if any refuses, but the fixed windows in the default cache counted
    together: one round trip to Redis for all of them."""
    windows: list[tuple[FixedWindowRateThrottle, tuple[str, int]]] = []
    waits: list[float | None] = []
    for throttle in view.get_throttles():
        if _batchable(throttle):
            counter = throttle.window_counter(request, view)
            if counter is not None:
                windows.append((throttle, counter))
        elif not throttle.allow_request(request, view):
            waits.append(throttle.wait())
    counts = cache_counters_increment([counter for _, counter in windows])
    for (throttle, _), count in zip(windows, counts, strict=True):
        if not throttle.allows(count):
            waits.append(throttle.wait())
    if waits:
        # As DRF: None where a throttle names no wait.
        view.throttled(request, max((w for w in waits if w is not None), default=None))  # type: ignore[arg-type]


def _batchable(throttle: BaseThrottle) -> TypeGuard[FixedWindowRateThrottle]:
    """A fixed window in the default cache whose ``allow_request`` is the one above: its
    counter is all it decides by."""
    return (
        isinstance(throttle, FixedWindowRateThrottle)
        and type(throttle).allow_request is FixedWindowRateThrottle.allow_request
        and throttle.cache is default_cache
    )
