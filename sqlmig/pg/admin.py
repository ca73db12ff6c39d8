"""The database itself, for `create`, `drop` and `wait`: created and dropped from a
maintenance connection to the same server (`postgres`, else `template1`), never from a
session inside the database concerned. Names go through psycopg.sql.Identifier.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from sqlmig.errors import ConnectionFailed, PlanError
from sqlmig.pg.connection import MISSING_DATABASE

MAINTENANCE = ("postgres", "template1")
# Databases every cluster needs: sqlmig never drops them.
SYSTEM = (*MAINTENANCE, "template0")


def database_name(url: str) -> str:
    """The database a URL names (libpq's default: the user's name)."""
    params = conninfo_to_dict(url)
    return str(params.get("dbname") or params.get("user") or "postgres")


def missing_database(err: BaseException) -> bool:
    """Does this connection error say the server is up but the database does not exist?"""
    return isinstance(err, psycopg.Error) and bool(MISSING_DATABASE.search(str(err)))


def maintenance(url: str, target: str) -> psycopg.Connection:
    """An autocommit connection to the server of `url`, in a database other than the one
    concerned: `postgres`, else `template1` (a server may have dropped `postgres`)."""
    failure: psycopg.Error | None = None
    for name in MAINTENANCE:
        try:
            return psycopg.connect(make_conninfo(url, dbname=name), autocommit=True,
                                   application_name="sqlmig", connect_timeout=10)
        except psycopg.Error as err:
            failure = err
            if not missing_database(err):
                break
    reason = str(failure).strip().splitlines()[-1] if failure else "unknown error"
    raise ConnectionFailed(f"cannot connect to the server of {target}: {reason}")


def exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() \
        is not None


def create(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(conn: psycopg.Connection, name: str, target: str) -> None:
    """DROP DATABASE; a one-line PlanError if sessions still use it (named, so the user can
    end them), never WITH (FORCE): dropping a database under live sessions is their call."""
    if name in SYSTEM:
        raise PlanError(f"drop refused: {name} is a database every PostgreSQL server needs")
    try:
        conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.ObjectInUse:
        users = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()
        raise PlanError(
            f"cannot drop {target}: {users[0] if users else 'other'} session(s) are connected "
            "to it; close them (pg_stat_activity lists them) and run drop again"
        ) from None
