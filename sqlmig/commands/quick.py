"""`sqlmig migrate` with nothing to do, told in a tenth of the ordinary time: CI and deploys
run it on every push, and with 10,000 migrations the ordinary way reads every file, imports
psycopg and converts every history row. Here the files are only stat'ed against the file
cache (core/file_cache.py), and the history is compared on the server: one query returns a
digest of its (version, checksum) pairs, through libpq itself (pg/libpq.py).

Only ever a shortcut to "nothing to do": anything else (a file changed since its last scan, a
migration pending, a history that differs, no cache, no libpq, a connection that fails) is
None, and the caller runs `migrate` the ordinary way, which takes the lock and says what is
wrong. No lock is taken: when the history equals the files there is nothing a lock would
wait for, and a run that is applying migrations right now has not committed them yet, so
the digests differ and the ordinary way waits for it.
"""

from __future__ import annotations

from sqlmig.core.config import Settings
from sqlmig.core.file_cache import FileCache, location
from sqlmig.core.secrets import named_target, remember

# What `migrate` says then (plan.nothing_to_migrate's words: a test keeps them equal)
UP_TO_DATE = "nothing to migrate: the database is up to date"

# The digest of the applied (version, checksum) pairs, in version order, as file_cache.digest
# computes it from the files; and whether any row is other than applied. The identifiers are
# quoted by libpq's PQescapeIdentifier (psycopg.sql is not loaded on this path).
HISTORY_DIGEST = (
    "SELECT count(*), count(*) FILTER (WHERE state <> 'applied'), "
    "encode(sha256(convert_to(coalesce(string_agg(version::text || ':' || checksum, ',' "
    "ORDER BY version), ''), 'UTF8')), 'hex') FROM {table}"
)


def up_to_date(settings: Settings) -> str | None:
    """The database, named as `migrate`'s first line names it, when every migration in the
    files is applied as written and the history holds nothing else; else None."""
    url = settings.database_url
    if not url:
        return None  # the embedded server, or an error: the ordinary way
    found = FileCache(location(settings.cache_dir, settings.migrations_dir),
                      settings.migrations_dir).unchanged()
    if not found or not found[0]:
        return None
    from sqlmig.pg import libpq

    remember(url)
    try:
        with libpq.Connection({"dbname": url, "application_name": "sqlmig",
                               "connect_timeout": "10", "client_encoding": "UTF8"}) as conn:
            table = f"{conn.identifier(settings.schema)}.{conn.identifier(settings.table)}"
            rows = conn.rows(HISTORY_DIGEST.format(table=table))
            described = named_target(*conn.described())
    except libpq.LibpqError:
        return None
    if rows != [[str(found[0]), "0", found[1]]]:
        return None
    return described
