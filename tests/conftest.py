"""Fixtures: one real PostgreSQL server per test process, a fresh database per test, and a
project directory with its own sql/ folder to run the CLI in.

Assertions about the database go through a separate connection (the witness), so they check
what another session sees, not what the migrating connection believes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from sqlmig.cli import app
from tests import provision

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "sql"
README = (REPO / "README.md").read_text(encoding="utf-8")
HISTORY = "public.schema_migrations"  # the history table of a test project


# Fixtures that start or reach a server; a test using any of them (directly or through
# another fixture) is marked `pg`, so `pytest -m "not pg"` needs no PostgreSQL.
SERVER_FIXTURES = {"pg_admin_url", "pg15_admin_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.pg)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with provision.server_url() as url:
        yield url


@pytest.fixture
def db_url(pg_admin_url: str) -> Iterator[str]:
    url = provision.create_database(pg_admin_url)
    yield url
    provision.drop_database(pg_admin_url, url)


@pytest.fixture
def second_database(pg_admin_url: str) -> Iterator[str]:
    """Another empty database on the same server (diff's other side)."""
    url = provision.create_database(pg_admin_url)
    yield url
    provision.drop_database(pg_admin_url, url)


class AgedFolders:
    """Migrations folders written ahead and aged past the file cache's racy window together
    (a file written in its last RACY_NS is never cached): each test takes one ready instead
    of waiting 2 s itself. A folder renamed into place keeps its files' stats."""

    def __init__(self, root: Path, pairs: dict[str, tuple[str, str]], count: int) -> None:
        self.root, self.pairs = root, pairs
        self.ready = [self._write(str(i)) for i in range(count)]
        self._age()

    def _write(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir()
        for stem, (up, down) in self.pairs.items():
            (folder / f"{stem}.up.sql").write_text(up, encoding="utf-8")
            (folder / f"{stem}.down.sql").write_text(down, encoding="utf-8")
        return folder

    @staticmethod
    def _age() -> None:
        from sqlmig.core import file_cache

        time.sleep(file_cache.RACY_NS / 1e9 + 0.1)

    def take(self, project: Project) -> None:
        """Put one as `project`'s migrations folder (written and aged now if none is left)."""
        if self.ready:
            folder = self.ready.pop()
        else:
            folder = self._write(f"late-{len(list(self.root.iterdir()))}")
            self._age()
        project.sql_dir.rmdir()
        folder.rename(project.sql_dir)


class Project:
    """A project directory (cwd during the test) wired to the test's own database."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.sql_dir = root / "sql"
        self.sql_dir.mkdir()
        self.runner = CliRunner()

    def write(self, filename: str, text: str | bytes, directory: str = "sql") -> Path:
        path = self.root / directory / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def pair(self, stem: str, up: str, down: str | None = "SELECT 1;") -> None:
        """Write `stem.up.sql` and (unless None) `stem.down.sql`."""
        self.write(f"{stem}.up.sql", up)
        if down is not None:
            self.write(f"{stem}.down.sql", down)

    def copy_examples(self, seeds: bool = False) -> None:
        for path in EXAMPLES.glob("*.sql"):
            shutil.copy(path, self.sql_dir / path.name)
        if seeds:
            shutil.copytree(REPO / "seeds", self.root / "seeds")

    def run(self, *args: str, code: int | None = 0) -> Any:
        """Run the CLI in-process; assert the exit code unless `code` is None."""
        result = self.runner.invoke(app, list(args), prog_name="sqlmig")
        if code is not None and result.exit_code != code:
            raise AssertionError(
                f"sqlmig {' '.join(args)} exited {result.exit_code}, expected {code}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
                f"exception: {result.exception!r}"
            )
        return result

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """The CLI as a separate OS process (for lock and concurrency tests)."""
        return subprocess.Popen(
            [sys.executable, "-m", "sqlmig", *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def query(self, query: str, params: tuple | None = None) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def history(self) -> list[tuple]:
        """The history rows (version, name, batch, checksum) in version order. No history
        table is not an empty history: it fails here, so a test says which one it expects
        (`not project.exists(HISTORY)` for none)."""
        if not self.exists(HISTORY):
            raise AssertionError(f"there is no history table ({HISTORY})")
        return self.query(
            "SELECT version, name, batch, checksum FROM public.schema_migrations ORDER BY version"
        )

    def tables(self, schema: str = "public") -> set[str]:
        """The schema's tables, sqlmig's metadata left out (recorded_environment reads it)."""
        rows = self.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> %s",
            (schema, "sqlmig_metadata"),
        )
        return {r[0] for r in rows}

    def recorded_environment(self, schema: str = "public") -> str | None:
        """The environment sqlmig recorded on the database; None when nothing is recorded."""
        if not self.exists(f"{schema}.sqlmig_metadata"):
            return None
        rows = self.query(
            f"SELECT value FROM {schema}.sqlmig_metadata WHERE key = 'environment'"
        )
        return rows[0][0] if rows else None

    def exists(self, regclass: str) -> bool:
        return self.query("SELECT to_regclass(%s) IS NOT NULL", (regclass,))[0][0]


@pytest.fixture(scope="session")
def pg15_admin_url() -> Iterator[str]:
    """Debian's PostgreSQL 15, with contrib (pgcrypto): the second version sqlmig is tested
    on, and the server for tests that need pgcrypto (the embedded build lacks OpenSSL)."""
    with provision.debian_server(15) as url:
        yield url


@pytest.fixture(scope="session")
def pgbouncer_session(pg_admin_url: str) -> Iterator[str]:
    """PgBouncer in session mode in front of the test server (refusing `options`, as it does
    unless told otherwise); its admin URL."""
    with provision.pgbouncer(pg_admin_url, "session") as url:
        yield url


@pytest.fixture(scope="session")
def pgbouncer_ignoring_options(pg_admin_url: str) -> Iterator[str]:
    """PgBouncer in session mode told to accept and drop `options` (what people configure
    when a client insists on sending it)."""
    with provision.pgbouncer(pg_admin_url, "session", ignore_options=True) as url:
        yield url


@pytest.fixture(scope="session")
def pgbouncer_transaction(pg_admin_url: str) -> Iterator[str]:
    """PgBouncer pooling per transaction (and dropping `options`, so a client that sends
    them gets in)."""
    with provision.pgbouncer(pg_admin_url, "transaction", ignore_options=True) as url:
        yield url


@pytest.fixture
def pg15_project(
    tmp_path: Path, pg15_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    url = provision.create_database(pg15_admin_url)
    yield _project(tmp_path, url, monkeypatch)
    provision.drop_database(pg15_admin_url, url)


@pytest.fixture
def project(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Project:
    return _project(tmp_path, db_url, monkeypatch)


def _project(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Project:
    for variable in (
        "SQLMIG_ENV", "DATABASE_URL_TEST", "DATABASE_URL_STAGING", "MIGRATION_DIRECTORY",
        "MIGRATION_TABLE_NAME", "SQLMIG_SCHEMA", "SQLMIG_LOCK_TIMEOUT", "NO_COLOR",
        "SQLMIG_STATEMENT_TIMEOUT", "SEED_ADMIN_PASSWORD", "SQLMIG_LOCK_RETRIES",
        "SQLMIG_LOCK_RETRY_DELAY", "SQLMIG_LOCK_RETRY_MAX_DELAY",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path, db_url)
