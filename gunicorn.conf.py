"""gunicorn's settings for the API, used by the Dockerfile and the benchmark:

    gunicorn -c gunicorn.conf.py commerceapi.wsgi:application

Worker: gunicorn's threaded worker (gthread) answering refusals as problem+json
(core/gunicorn_worker.py): a few threads per process, connections kept alive between requests,
as browsers and apps keep them. ``make bench`` measured it against the sync worker and granian
(bench/RESULTS.md, docs/capacity.md).

Workers: ``WEB_CONCURRENCY`` (gunicorn's own variable, read by gunicorn itself; the image sets
it, see docs/capacity.md for the count per core). Threads per worker: ``GUNICORN_THREADS``
(default 4). Several
workers need a shared cache (``REDIS_URL``); with ``SINGLE_PROCESS=true`` (no Redis) exactly
one worker may run, and gunicorn refuses to start with more.

Robustness: a worker silent for ``timeout`` seconds is killed and replaced; each worker is
restarted after ``max_requests`` requests (with jitter, so that they do not restart together);
SIGHUP reloads gracefully (new workers start, the old ones finish their requests within
``graceful_timeout``). Access logs are off unless ``ACCESS_LOG=true`` (to stdout).

Request limits: gunicorn parses the request line and the headers before the API sees them.
These limits are above the API's own (commerceapi/middleware.py: request target 4 KiB, one
header 12 KiB, all headers 32 KiB), so that the API answers most oversized requests itself;
past these, the worker (core/gunicorn_worker.py) answers as problem+json too.
"""

from __future__ import annotations

import os
from typing import Any

from commerceapi.env import env_bool, env_int

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "core.gunicorn_worker.ProblemThreadWorker"
threads = env_int("GUNICORN_THREADS", 4, minimum=1)
# Idle kept-alive connections are closed after this many seconds. Behind a load balancer that
# reuses its connections to the API, set it above the balancer's idle timeout, so that the API
# never closes a connection the balancer is about to send on.
keepalive = 5
# Connections a worker holds open at once (busy and idle kept-alive).
worker_connections = 1000
timeout = 30
graceful_timeout = 30
max_requests = 10_000
max_requests_jitter = 1_000
accesslog = "-" if env_bool("ACCESS_LOG", False) else None
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
