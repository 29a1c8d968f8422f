"""DRF's rate throttle, counting in fixed windows in the shared cache."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.counters import cache_counter_increment


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
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        counter_key = f"{self.key}:{window}"
        self.window_end = (window + 1) * self.duration
        count = cache_counter_increment(counter_key, self.duration + 1, store=self.cache)
        return count <= self.num_requests

    def wait(self) -> float:
        return max(0.0, self.window_end - self.now)
