"""gunicorn's settings for the API, used by the Dockerfile and the benchmark:

    gunicorn -c gunicorn.conf.py commerceapi.wsgi:application

Workers: ``WEB_CONCURRENCY`` (gunicorn's own variable). Several workers need a shared cache
(``REDIS_URL``); with ``SINGLE_PROCESS=true`` (no Redis) exactly one worker may run, and
gunicorn refuses to start with more.

Request limits: gunicorn parses the request line and the headers before the API sees them.
These limits are above the API's own (commerceapi/middleware.py: request target 4 KiB, one
header 12 KiB, all headers 32 KiB), so that the API answers most oversized requests itself;
past these, the worker (core/gunicorn_worker.py) answers as problem+json too.
"""

from __future__ import annotations

import os
from typing import Any

from commerceapi.env import env_bool

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "core.gunicorn_worker.ProblemSyncWorker"
# The request line (method, target, version): gunicorn's maximum, 8190 bytes.
limit_request_line = 8190
limit_request_fields = 100
# One header line: room for a bearer token at its longest (8 KiB) and a customer context.
limit_request_field_size = 16384


def on_starting(server: Any) -> None:
    if env_bool("SINGLE_PROCESS", False) and server.cfg.workers != 1:
        raise SystemExit(
            f"SINGLE_PROCESS=true but {server.cfg.workers} workers are configured "
            "(WEB_CONCURRENCY): one process only, or set REDIS_URL and SINGLE_PROCESS=false."
        )
