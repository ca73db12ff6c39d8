"""The database itself: create, drop (dbmate's names) and wait until the server accepts
connections. Each returns the one line that says what happened; `drop` goes through the
destructive-command guard."""

from __future__ import annotations

import time
from dataclasses import replace

from sqlmig.commands.common import Confirm, connection_url
from sqlmig.core import protect
from sqlmig.core.config import Settings
from sqlmig.errors import ConnectionFailed, DatabaseMissing
from sqlmig.pg import admin, connection, db
from sqlmig.reporting import Reporter


def create(settings: Settings, reporter: Reporter) -> str:
    """Create the configured database (from a maintenance connection to its server); an
    existing one is left as it is and said so."""
    url = connection_url(settings, reporter)
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
    url = connection_url(settings, reporter)
    name, target = admin.database_name(url), connection.describe_target(url)
    try:
        with connection.connect(url, settings=replace(settings, connect_wait=0)) as conn:
            recorded = db.History(settings.schema, settings.table).recorded_environment(conn)
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
    url = connection_url(settings, reporter)
    target = connection.describe_target(url)
    started = time.monotonic()
    try:
        with connection.connect(url, settings=replace(settings, connect_wait=timeout),
                                on_retry=reporter.notice):
            pass
    except DatabaseMissing:
        return (f"the server of {target} accepts connections (database "
                f"{admin.database_name(url)} does not exist yet: `sqlmig create`)")
    except ConnectionFailed as err:
        raise ConnectionFailed(f"gave up after {timeout:g}s: {err}") from None
    return f"{target} accepts connections ({time.monotonic() - started:.1f}s)"
