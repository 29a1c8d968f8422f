"""The test suite's settings: the project's, with the local-memory cache unless REDIS_URL is
set. The suite runs in one process, the one case where a cache no other process sees is
right; tests that start server processes give them the project's own settings."""

from commerceapi.settings import *  # noqa: F403
from commerceapi.settings import REDIS_URL

if not REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
