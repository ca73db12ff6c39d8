"""Connecting to PostgreSQL as sqlmig: one server session for the whole run (a pool that gives
each transaction another session is refused), sqlmig's session settings SET after connecting
and after each reset, and how a target is named without its password.
"""

from __future__ import annotations

import os
import re
import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from sqlmig.core.config import Settings
from sqlmig.core.secrets import hide, named_params, named_target, remember, unencoded
from sqlmig.errors import ConnectionFailed, DatabaseMissing, PooledPerTransaction
from sqlmig.pg.link import Link, libpq_link, psycopg_link

if TYPE_CHECKING:
    import psycopg
    from psycopg import pq

APPLICATION_NAME = "sqlmig"


class InvalidUrl(Exception):
    """libpq cannot read the URL (its reason)."""


def url_params(url: str) -> dict[str, str]:
    """The parameters a URL or conninfo string sets, as libpq reads it: through pg/libpq.py
    where it loads (psycopg's conninfo_to_dict asks libpq the same), else psycopg."""
    from sqlmig.pg import libpq

    try:
        return libpq.parse(url)
    except libpq.LibpqError:
        pass  # no libpq of its own, or an invalid URL: psycopg says which, and why
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {key: str(value) for key, value in conninfo_to_dict(url).items()}
    except psycopg.ProgrammingError as err:
        raise InvalidUrl(_reason(err)) from None


def describe_target(url: str) -> str:
    """`user@host:port/dbname` for messages; never the password, even where libpq reads a
    malformed URL's password as part of the host or the database name."""
    remember(url)
    try:
        params = url_params(url)
    except InvalidUrl:
        return "<invalid database URL>"
    return named_params(params)


def describe_connection(link: Link) -> str:
    """`user@host:port/dbname` as libpq really connected: a URL without a database name
    still lands in one (the user's), and the first line of a changing command names it."""
    return named_target(*link.described())


def _reason(err: Exception) -> str:
    """The server's or libpq's reason, last line first: that is the part people act on."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    reason = lines[-1] if lines[-1].startswith(("FATAL", "ERROR")) else lines[0]
    reason = reason.removeprefix("connection failed: ")
    return reason.replace("FATAL:  ", "").replace("ERROR:  ", "")


# The session's settings are SET after connecting, never sent as the `options` startup
# parameter: PgBouncer refuses that parameter, or drops it unseen when told to ignore it, and
# configured timeouts would silently not apply.
# The engine's progress notices must reach it even where a role or database has quieted them.
NOTICES = ("client_min_messages", "notice")
# If sqlmig is killed mid-statement, the server notices within seconds, rolls back and frees the
# lock, instead of finishing a long statement for nobody (PostgreSQL 14+, and only on platforms
# that can poll for a closed socket: elsewhere the SET is refused and left out).
WATCH_CLIENT = ("client_connection_check_interval", "2s")
# What a session reset between migrations undoes (not DISCARD ALL: it would release the
# advisory lock); session_reset() sends the connection's SETs again after it.
RESET = ("RESET ALL", "DISCARD TEMP")
# The server is up but the database is not there (libpq's text: there is no SQLSTATE).
MISSING_DATABASE = re.compile(r'database ".*" does not exist')
_OPTION_NAME = re.compile(r"(?:^|\s)(?:-c\s*|--)([A-Za-z_][\w.-]*)\s*=")


def given_options(url: str) -> set[str]:
    """The settings the user passes as startup options themselves (the URL's `options`, else
    PGOPTIONS, as libpq reads them): theirs win, so sqlmig does not SET them."""
    options = str(url_params(url).get("options") or os.environ.get("PGOPTIONS") or "")
    return {name.lower().replace("-", "_") for name in _OPTION_NAME.findall(options)}


def session_sets(
    url: str, settings: Settings | None, server_version: int, link: Link, *, watch: bool = True
) -> tuple[str, ...]:
    """The SET statements that give a new session sqlmig's settings: notices, the client
    watch (PostgreSQL 14+) and the configured timeouts, minus any the URL sets itself."""
    wanted = [NOTICES]
    if watch and server_version >= 140000:
        wanted.append(WATCH_CLIENT)
    if settings is not None:
        for name in ("lock_timeout", "statement_timeout"):
            value = getattr(settings, name)
            if value:
                wanted.append((name, value))
    given = given_options(url)
    sets = tuple(
        f"SET {link.ident(name)} = {link.literal(value)}"
        for name, value in wanted
        if name not in given
    )
    if settings is not None and settings.search_path:  # a fleet's schema target: always its own
        sets += (f"SET search_path = {link.ident(settings.search_path)}",)
    return sets


def session_reset(link: Link) -> str:
    """The SQL that returns the session to how connect() left it: RESET ALL and DISCARD TEMP,
    then the SETs connect() sent, which RESET ALL undoes."""
    return "".join(f"{statement};\n" for statement in (*RESET, *link.sets))


def connect(
    url: str,
    *,
    settings: Settings | None = None,
    connect_timeout: int = 10,
    on_retry: Callable[[str], None] = lambda message: None,
) -> psycopg.Connection:
    """An autocommit UTF-8 psycopg connection named `sqlmig`, with a server session of its
    own for its whole life (a pool that hands out one per transaction is refused) and
    sqlmig's settings SET; the engine issues BEGIN/COMMIT itself. No prepared statements: a
    pooler may not keep them."""
    conn = open_link(url, settings=settings, connect_timeout=connect_timeout,
                     on_retry=on_retry).psycopg
    assert conn is not None
    return conn


def open_link(
    url: str,
    *,
    settings: Settings | None = None,
    connect_timeout: int = 10,
    on_retry: Callable[[str], None] = lambda message: None,
    libpq: bool = False,
) -> Link:
    """connect()'s connection as a Link; `libpq`: through pg/libpq.py, without psycopg,
    where that goes plainly (a direct connection that is there now, with the session set up
    as asked), else through psycopg, which also says what went wrong."""
    remember(url)
    if libpq:
        link = _libpq_link(url, settings, connect_timeout)
        if link is not None:
            return link
    import psycopg

    try:
        url_params(url)
    except InvalidUrl as err:
        raise _failed(f"invalid database URL {hide(url)}: {hide(str(err))}", url) from None
    target = describe_target(url)
    wait = settings.connect_wait if settings is not None else 0.0
    deadline = time.monotonic() + wait
    delay, last_said = 0.25, 0.0
    while True:
        try:
            conn = psycopg.connect(
                url,
                autocommit=True,
                prepare_threshold=None,
                application_name=APPLICATION_NAME,
                connect_timeout=connect_timeout,
                client_encoding="UTF8",
            )
            break
        except psycopg.Error as err:
            now = time.monotonic()
            reason = hide(_reason(err))
            if now >= deadline or _hopeless(reason):
                if MISSING_DATABASE.search(reason):
                    raise DatabaseMissing(f"cannot connect to {target}: {reason}; create it "
                                          "with `sqlmig create`") from None
                raise _failed(f"cannot connect to {target}: {reason}", url) from None
            if now - last_said >= 3 or not last_said:
                left = deadline - now
                on_retry(f"waiting for the database at {target} ({reason}); {left:.0f}s left")
                last_said = now
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, 2.0)
    link = psycopg_link(conn)
    try:
        refuse_transaction_pooling(conn, url, target)
        _set_session(link, url, settings, target)
    except BaseException:
        link.close()
        raise
    return link


def _libpq_link(url: str, settings: Settings | None, connect_timeout: int) -> Link | None:
    """open_link()'s connection through pg/libpq.py; None where the ordinary way must go:
    no libpq, a connection that fails (it waits, and names the reason), a pooler in between
    (it probes how it pools), a session that cannot be set up (it says why)."""
    from sqlmig.pg import libpq

    try:
        link = libpq_link({"dbname": url, "application_name": APPLICATION_NAME,
                           "connect_timeout": str(connect_timeout), "client_encoding": "UTF8"})
    except libpq.LibpqError:
        return None
    try:
        if link.value("SELECT pg_backend_pid()") == str(link.backend_pid):
            _set_session(link, url, settings, "")
            return link
    except ConnectionFailed:
        pass
    except link.lost:
        pass
    link.close()
    return None


def _set_session(link: Link, url: str, settings: Settings | None, target: str) -> None:
    """Send session_sets() in one query; left out of what a session reset sends again when
    the server refuses the client watch (a platform that cannot poll for a closed socket)."""
    sets = session_sets(url, settings, link.server_version, link)
    try:
        if sets:
            link.run("; ".join(sets))
    except link.lost as err:
        if WATCH_CLIENT[0] not in str(err):
            reason = hide(_reason(err))
            raise ConnectionFailed(f"cannot set up the session on {target}: {reason}") from None
        sets = session_sets(url, settings, link.server_version, link, watch=False)
        link.run("; ".join(sets))
    link.sets = sets


# A proxy between sqlmig and the server (PgBouncer, say) may hand each transaction whichever
# server session is free. sqlmig needs one session for its whole run: its advisory lock, its
# SETs and its temp state live there, and would otherwise stay behind on a pooled session.
POOL_ROUNDS = 8
POOL_PROBE_SECONDS = 3.0


def refuse_transaction_pooling(conn: psycopg.Connection, url: str, target: str) -> None:
    """Raise PooledPerTransaction, before anything is run, when `conn`'s transactions do not
    all run in one server session. libpq's cancel key names the backend it connected to: when
    the backend answering is that one, nothing sits between. Otherwise a second connection
    holds a transaction open while `conn` runs a few transactions of its own; a pool per
    transaction gives the second one `conn`'s backend, or `conn` another one."""
    first = _backend_pid(conn)
    if first == conn.info.backend_pid:
        return
    with _occupied(url) as other:
        # `conn` must not wait for the backend `other` holds: a pool of one would never free it
        pooled = other in (first, REFUSED) or any(
            _backend_pid(conn) != first for _ in range(POOL_ROUNDS)
        )
    if pooled:
        raise PooledPerTransaction(
            f"{target} is pooled per transaction (PgBouncer in transaction or statement "
            "mode): the migration lock and sqlmig's settings need one server session for the "
            "whole run; connect to PostgreSQL directly or use PgBouncer in session mode"
        )


def _backend_pid(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


REFUSED = 0  # _occupied: the pool would not let a transaction stay open (statement mode)


@contextmanager
def _occupied(url: str) -> Iterator[int | None]:
    """A second connection holding a transaction open while the block runs. Yields its
    backend's pid; REFUSED when its transaction is refused; None when it gets no connection,
    or no server session within POOL_PROBE_SECONDS (a session pool that is full)."""
    import psycopg
    from psycopg import pq

    try:
        other = psycopg.connect(url, autocommit=True, prepare_threshold=None, connect_timeout=3,
                                application_name=APPLICATION_NAME)
    except psycopg.Error:
        yield None
        return
    try:
        pid = _open_transaction(other.pgconn, time.monotonic() + POOL_PROBE_SECONDS)
        yield pid
    finally:
        if other.pgconn.transaction_status == pq.TransactionStatus.INTRANS:
            with suppress(psycopg.Error):
                other.execute("ROLLBACK")  # so the pool can give its session to someone else
        other.close()


def _open_transaction(pgconn: pq.abc.PGconn, deadline: float) -> int | None:
    """BEGIN and the backend's pid (REFUSED on any error), not waiting past `deadline`."""
    import psycopg
    from psycopg import pq

    pid, failed = REFUSED, False
    try:
        pgconn.send_query(b"BEGIN; SELECT pg_backend_pid()")
        while True:
            while pgconn.is_busy():
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([pgconn.socket], [], [], left)[0]:
                    return None
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                return REFUSED if failed or pgconn.status != pq.ConnStatus.OK else pid
            if result.status in (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.BAD_RESPONSE):
                failed = True
            elif result.ntuples == 1:
                pid = int(result.get_value(0, 0) or REFUSED)
    except psycopg.Error:  # the pool closed the connection
        return REFUSED


def _failed(message: str, url: str) -> ConnectionFailed:
    failure = ConnectionFailed(message)
    failure.hint = unencoded(url)  # libpq cut the password short: the likely cause
    return failure


def _hopeless(reason: str) -> bool:
    """Failures that waiting cannot fix: wrong credentials or a refused role."""
    return any(
        text in reason
        for text in ("password authentication failed", "no pg_hba.conf entry", "role \"")
    )
