"""The cache of a database, for processes that share that database but no Redis.

Django's database cache (``django.core.cache.backends.db``) is shared by every process using
the database, which the local-memory cache is not: a key revoked by a management command is
seen by a running server at once. Of what the API needs to be atomic, ``add`` already is (the
key is the table's primary key and its check and write share one transaction), but ``incr`` is
a read then a write: two processes counting at once (a throttle, the sign-in lockout) would
lose increments, and the write gives the counter the default timeout instead of its own.
``incr`` here locks the entry (``SELECT ... FOR UPDATE``; SQLite's immediate transactions take
the database's write lock) and updates only its value.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now as tz_now


class DatabaseCache(DjangoDatabaseCache):
    _table: str  # set by Django's base class: the cache's table

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        cache_key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table = quote(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote('value')}, {quote('expires')} FROM {table} "  # noqa: S608
                f"WHERE {quote('cache_key')} = %s{lock}",
                [cache_key],
            )
            row = cursor.fetchone()
            if row is None or expiry_read(row[1], connection) < tz_now():
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301 - ours
            cursor.execute(
                f"UPDATE {table} SET {quote('value')} = %s "  # noqa: S608
                f"WHERE {quote('cache_key')} = %s",
                [base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode(), cache_key],
            )
        return value


def expiry_read(value: Any, connection: Any) -> Any:
    """The stored expiry as an aware datetime, converted as Django's cache reads it."""
    expression = models.Expression(output_field=models.DateTimeField())
    for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(
        connection
    ):
        value = converter(value, expression, connection)
    return value
