"""Domain events: a structured log line, then the subscribers named in the settings.

Services call ``event_emit`` after their transaction commits (``transaction.on_commit``), so that
nothing is announced that did not happen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from django.utils.module_loading import import_string


def event_emit(
    *, event: str, payload: dict[str, Any], handlers: Iterable[str], logger: logging.Logger
) -> None:
    """Log ``event`` with its payload as JSON (and as the record's extra fields), then call each
    handler (a dotted path of ``handler(event, payload)``). A failing handler is logged and
    never fails the request that caused the event."""
    logger.info(
        "%s %s", event, json.dumps(payload, sort_keys=True), extra={"event": event, **payload}
    )
    for path in handlers:
        try:
            import_string(path)(event, payload)
        except Exception:  # a failing subscriber never fails the caller
            # "cart event handler … failed" for cart.migrated, "order event handler …" for orders
            logger.exception("%s event handler %s failed", event.partition(".")[0], path)
