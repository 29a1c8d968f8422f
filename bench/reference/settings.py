"""The reference's settings: the API's own (same database, pool, prepared statements, cache),
with the reference's URLs and no middleware: nothing runs but the view."""

from commerceapi.settings import *  # noqa: F403

ROOT_URLCONF = "bench.reference.urls"
MIDDLEWARE = []
