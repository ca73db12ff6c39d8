"""`sqlmig migrate` with nothing to do, and `sqlmig status`, without importing psycopg: CI
and deploys run them on every push, and loading the driver is most of a short run. Both read
the files through the file cache (core/file_cache.py) and the database through libpq itself
(pg/libpq.py), on a direct connection only (behind a pooler, the ordinary way probes it).

up_to_date() is only ever a shortcut to "nothing to do": the files are only stat'ed, and the
server computes a digest of the history's (version, checksum) pairs. Anything else (a file
changed since its last scan, a migration pending, a history that differs, no cache, no
libpq, a connection that fails) is None, and the caller runs `migrate` the ordinary way,
which takes the lock and says what is wrong. No lock is taken: a run applying migrations
right now has not committed them, so the digests differ and the ordinary way waits for it.

status_table() is the table `sqlmig status` prints, when the cache vouches for the folder:
built from the cache's columns and the history read as text, without an object per
migration. status() reads the history as one JSON value (a C call per value through ctypes
would cost more than the query) and builds the very Status the ordinary way builds. Both
say None where only the ordinary way can tell. The query runs in a thread while the files
are stat'ed: libpq waits for the server without holding the GIL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlmig.core.config import Settings
from sqlmig.core.file_cache import FileCache
from sqlmig.core.secrets import named_params, named_target, remember

if TYPE_CHECKING:
    from sqlmig.core.status import Recorded, Status, StatusTable

Read = tuple[list[list[str | None]], tuple[str, str, str, str]]

# What `migrate` says then (plan.nothing_to_migrate's words: a test keeps them equal)
UP_TO_DATE = "nothing to migrate: the database is up to date"

# The digest of the applied (version, checksum) pairs, in version order, as file_cache.digest
# computes it from the files; and whether any row is other than applied. The identifiers are
# quoted by libpq's PQescapeIdentifier (psycopg.sql is not loaded on this path).
DIGEST = ("encode(sha256(convert_to(coalesce(string_agg(version::text || ':' || checksum, "
          "',' ORDER BY version), ''), 'UTF8')), 'hex')")
HISTORY_DIGEST = (
    "SELECT count(*), count(*) FILTER (WHERE state <> 'applied'), " + DIGEST + " FROM {table}"
)


def up_to_date(settings: Settings) -> str | None:
    """The database, named as `migrate`'s first line names it, when every migration in the
    files is applied as written and the history holds nothing else; else None."""
    url = settings.database_url
    if not url:
        return None  # the embedded server, or an error: the ordinary way
    cache = FileCache(settings.cache_dir, settings.migrations_dir)
    if not cache.clean or not cache.summary or not cache.summary[0]:
        return None  # no server asked: nothing the cache could vouch for
    asked = _asked(settings, url, HISTORY_DIGEST)
    found = cache.unchanged()
    if not found:
        return None  # (the question is left to finish on its own: the ordinary way goes on)
    read = asked()
    if read is None:
        return None
    rows, connected = read
    if rows != [[str(found[0]), "0", found[1]]]:
        return None
    return named_target(*connected)


def _asked(settings: Settings, url: str, query: str, parameters: tuple[str, ...] = (),
           **parts: str) -> Callable[[], Read | None]:
    """_read() in a thread of its own, while the caller stats the files (libpq waits for
    the server without holding the GIL): call the function returned for its answer."""
    import threading

    from sqlmig.pg import libpq

    remember(url)
    answer: list[Read | None] = []
    try:  # loaded here: in the thread, its Python work (ctypes, binding) would contend for
        libpq.load()  # the GIL with the stats, which let go of it at every call (20-30 ms)
    except libpq.LibpqError:
        return lambda: None

    def ask() -> None:
        try:
            answer.append(_read(settings, url, query, parameters, **parts))
        except Exception:
            answer.append(None)

    thread = threading.Thread(target=ask, name="sqlmig-quick", daemon=True)
    thread.start()

    def result() -> Read | None:
        thread.join()
        return answer[0] if answer else None

    return result


def _read(settings: Settings, url: str, query: str, parameters: tuple[str, ...] = (),
          **parts: str) -> Read | None:
    """The one row of `query` ({table}: the history table, quoted by libpq; `parts` the
    rest), and (user, host, port, dbname) as libpq connected; None on any failure, and
    behind a pooler (the ordinary way probes it, and refuses one that pools transactions)."""
    from sqlmig.pg import libpq
    from sqlmig.pg.link import LinkError, libpq_link

    try:
        with libpq_link({"dbname": url, "application_name": "sqlmig",
                         "connect_timeout": "10", "client_encoding": "UTF8"}) as link:
            table = link.ident(settings.schema, settings.table)
            rows = link.rows(f"SELECT q.*, pg_backend_pid() FROM ({query}) q".format(
                table=table, **parts), parameters)
            if len(rows) != 1 or rows[0][-1] != str(link.backend_pid):
                return None
            return [list(rows[0][:-1])], link.described()
    except (libpq.LibpqError, LinkError):
        return None


# Whether any index is INVALID: both quick paths leave that to the ordinary way, which tells
# the builds still running in other sessions from the ones that failed (status.INVALID_INDEXES,
# whose catalog views cost a new backend several milliseconds to plan; this reads one table).
ANY_INVALID = ("SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c "
               "ON c.oid = i.indexrelid WHERE NOT i.indisvalid AND c.relkind = 'i'")


# Every history row as the ordinary read returns it ({columns}: plan.APPLIED_FIELDS, the
# script left out as there), and how many INVALID indexes there are: one value each.
HISTORY_ROWS = (
    "SELECT (SELECT json_agg(json_build_array({columns}) ORDER BY version) FROM {table}), "
    "(" + ANY_INVALID + ")"
)


def status(settings: Settings) -> Status | None:
    """What commands.status returns, or None where only the ordinary way can tell: no URL
    (the embedded server), dump_schema on (it compares a pg_dump), a history table that is
    absent or from an older sqlmig, an INVALID index (read twice there), no libpq, a
    connection that fails."""
    url = settings.database_url
    if not url or settings.dump_schema or not settings.migrations_dir.is_dir():
        return None
    from sqlmig.core.plan import APPLIED_FIELDS

    columns = ", ".join("NULL" if name == "script" else name for name in APPLIED_FIELDS)
    remember(url)
    read = _read(settings, url, HISTORY_ROWS, columns=columns)
    target = _target(url)
    if read is None or target is None:
        return None
    [[history, invalid]] = read[0]
    if invalid != "0":
        return None
    import json

    return _status(settings, target, json.loads(history) if history else [])


def _status(settings: Settings, target: str, history: list[list[Any]]) -> Status:
    from sqlmig.core import files, plan
    from sqlmig.core.status import Status

    applied = plan.applied_from_json(history)
    scan = files.scan(settings.migrations_dir, defer_downs=True, cache=settings.cache_dir)
    rows = plan.status(scan.migrations, applied, scan.problems)
    return Status(settings.env, target, rows, [], True, None, scan.problems)


# How the status table reads the history, in one query ($1: the digest of the files' (version,
# checksum) pairs, as the file cache keeps it). When the server's digest is the same and no
# row is marked (failed, running, baseline, adopted), every migration is applied as written,
# and only each row's applied_at (whole epoch seconds), execution_ms and batch are needed, as
# text, a line a row (`times`). Otherwise every row is needed, a tab between values in
# core.status.Recorded's order, with whether any text value holds a tab or a newline (then
# only the JSON way can tell). And how many INVALID indexes there are.
TIMES = ("concat_ws(E'\\t', coalesce(trunc(date_part('epoch', applied_at))::bigint::text, ''), "
         "coalesce(execution_ms::text, ''), batch)")
ROWS = ("concat_ws(E'\\t', version, checksum, batch, coalesce(execution_ms::text, ''), "
        "coalesce(trunc(date_part('epoch', applied_at))::bigint::text, ''), state, baseline, "
        "coalesce('+' || adopted, ''), name)")
HISTORY_TABLE = (
    "WITH h AS (SELECT " + DIGEST + " AS digest, count(*) FILTER (WHERE state <> 'applied' "
    "OR baseline OR adopted IS NOT NULL) AS marked, string_agg(" + TIMES + ", E'\\n' "
    "ORDER BY version) AS times FROM {table}), "
    "healthy AS (SELECT digest = $1 AND marked = 0 AS yes, times FROM h) "
    "SELECT CASE WHEN healthy.yes THEN coalesce(healthy.times, '') END, r.rows, r.awkward, "
    "(" + ANY_INVALID + ") FROM healthy LEFT JOIN LATERAL (SELECT string_agg(" + ROWS + ", "
    "E'\\n' ORDER BY version) AS rows, coalesce(bool_or(concat(checksum, state, adopted, "
    "name) ~ E'[\\t\\n]'), false) AS awkward FROM {table} WHERE NOT healthy.yes) r ON true"
)


def status_table(settings: Settings) -> StatusTable | None:
    """The status table of a long history, when the files are as their last clean scan
    found them: from the file cache and the history as text, without an object per
    migration. None wherever status() or the ordinary way must tell (see status())."""
    url = settings.database_url
    if not url or settings.dump_schema or not settings.migrations_dir.is_dir():
        return None
    cache = FileCache(settings.cache_dir, settings.migrations_dir)
    if not cache.clean or cache.summary is None:
        return None
    asked = _asked(settings, url, HISTORY_TABLE, (cache.summary[1],))
    if cache.unchanged() is None:
        return None  # (the question is left to finish on its own, as in up_to_date)
    read = asked()
    if read is None:
        return None
    [[times, rows, awkward, invalid]] = read[0]
    if invalid != "0":
        return None
    from sqlmig.core import status as tables

    found, table = tables.Found(*cache.found(checksums=times is None)), None
    if times is not None:
        table = tables.healthy_columns(
            found, times.replace("\n", "\t").split("\t") if times else [])
        counts = tables.count(())
        counts["applied"] = len(found.versions)
    elif rows is not None and awkward == "f" and (recorded := _recorded(rows)) is not None:
        table = tables.columns(tables.table_lines(found, recorded))
        counts = tables.count(table[2])
    target = _target(url)
    if table is None or target is None:
        return None
    return tables.StatusTable(settings.env, target, table, counts)


def _target(url: str) -> str | None:
    """The database as status names it, from the URL as libpq reads it (None: it cannot)."""
    from sqlmig.pg import libpq

    try:
        return named_params(libpq.parse(url))
    except libpq.LibpqError:
        return None


def _recorded(text: str) -> Recorded | None:
    """HISTORY_TABLE's rows as columns (None: not nine values a row)."""
    from sqlmig.core.status import Recorded

    values = text.replace("\n", "\t").split("\t")
    width = len(Recorded._fields)
    if len(values) % width:
        return None
    columns = [values[i::width] for i in range(width)]
    return Recorded([int(v) for v in columns[0]], *columns[1:])
