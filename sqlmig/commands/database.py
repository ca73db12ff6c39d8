"""The database itself: create, drop, load (dbmate's names) and wait until the server accepts
connections. Each returns the one line that says what happened; `drop` goes through the
destructive-command guard, `load` refuses any database that is not empty."""

from __future__ import annotations

import time
from pathlib import Path

from sqlmig.commands.common import Confirm, connection_url
from sqlmig.core import protect, schema_file
from sqlmig.core.config import Settings
from sqlmig.core.sqlfile import SqlFile, normalise, read_bytes
from sqlmig.errors import ConfigError, ConnectionFailed, DatabaseMissing, PlanError
from sqlmig.pg import admin, catalog, connection, db
from sqlmig.pg.send import rollback_quietly, send
from sqlmig.pg.session import locked_session, record_environment
from sqlmig.reporting import Reporter


def create(settings: Settings, reporter: Reporter) -> str:
    """Create the configured database (from a maintenance connection to its server); an
    existing one is left as it is and said so."""
    url = connection_url(settings, reporter, needs_migrations=False)
    name, target = admin.database_name(url), connection.describe_target(url)
    with admin.maintenance(url, target) as conn:
        if admin.exists(conn, name):
            return f"database {name} already exists on {target}: nothing to do"
        admin.create(conn, name)
    return f"created database {name} on {target}"


def drop(settings: Settings, reporter: Reporter, *, yes: bool = False,
         confirm: Confirm = None) -> str:
    """Drop the configured database, after naming it and the environment it records: a
    database recorded as staging or production only from that environment, and a protected
    one only with --yes (or `confirm`)."""
    url = connection_url(settings, reporter, needs_migrations=False)
    name, target = admin.database_name(url), connection.describe_target(url)
    try:
        with connection.open_link(url, settings=settings._replace(connect_wait=0)) as link:
            recorded = db.History(settings.schema, settings.table).recorded_environment(link)
    except DatabaseMissing:
        return f"database {name} does not exist on {target}: nothing to drop"
    destruction = protect.Destruction("drop", target, recorded,
                                      f"drops the database {name} and everything in it")
    reporter.line(str(destruction))
    protect.check(destruction, settings.env, yes=yes, confirm=confirm)
    with admin.maintenance(url, target) as conn:
        admin.drop(conn, name, target)
    return f"dropped database {name} on {target}"


def wait(settings: Settings, reporter: Reporter, timeout: float) -> str:
    """Wait up to `timeout` seconds until the server accepts connections (a database that
    does not exist yet counts as up: `create` is the next step); ConnectionFailed after."""
    url = connection_url(settings, reporter, needs_migrations=False)
    target = connection.describe_target(url)
    started = time.monotonic()
    try:
        with connection.connect(url, settings=settings._replace(connect_wait=timeout),
                                on_retry=reporter.notice):
            pass
    except DatabaseMissing:
        return (f"the server of {target} accepts connections (database "
                f"{admin.database_name(url)} does not exist yet: `sqlmig create`)")
    except ConnectionFailed as err:
        raise ConnectionFailed(f"gave up after {timeout:g}s: {err}") from None
    return f"{target} accepts connections ({time.monotonic() - started:.1f}s)"


def load(settings: Settings, reporter: Reporter, path: Path | None = None) -> str:
    """Apply a schema file `dump` wrote (default: schema_file) to an empty database and
    record the migrations it holds as applied (batch 1), all in one transaction: the fast
    way to a test database of a long history. Refuses a database that is not empty, and a
    file whose migrations are gone or were edited since the dump (the history would not
    verify)."""
    path = path or settings.root / settings.schema_file
    if not path.is_file():
        raise ConfigError(f"{path}: no schema file to load; write one with `sqlmig dump`")
    file = SqlFile(path, normalise(read_bytes(path), path))
    contents = schema_file.held(path, file.text)
    url = connection_url(settings, reporter)
    with locked_session(settings, url, reporter) as session:
        chosen = schema_file.plan_load(path, session.migrations, contents)
        taken = catalog.take(session.conn, exclude=settings.own_tables)
        if session.applied or not catalog.is_empty(taken):
            found = next((f"{kind} {name}" for kind, objects in taken.items()
                          if kind != "schema" for name in objects), "a migration history")
            raise PlanError(f"load refused: {connection.describe_target(url)} is not empty "
                            f"(it has {found}); load is for a new database (`sqlmig drop` "
                            "then `sqlmig create`)")
        conn, history = session.conn, session.history
        send(session.link, file, file.text, prefix="BEGIN;\n", prefix_statements=1)
        try:  # the history after the schema: the file may create the history's schema
            history.ensure(session.link)
            record_environment(session, reporter)
            for migration in chosen:
                conn.execute(history.insert, history.insert_params(migration, 1, ms=0))
            conn.execute("COMMIT")
        except BaseException:
            rollback_quietly(session.link)
            raise
    count = f"{len(chosen)} migration{'s' * (len(chosen) != 1)}"
    return f"loaded {path.name} and recorded {count} as applied"
