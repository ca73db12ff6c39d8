"""Every failure a user can hit, as one exception type each, with the message they will read.

The CLI prints `error: <message>` and exits with `exit_code`; nothing here touches the
database or the terminal.
"""

from __future__ import annotations

from pathlib import Path

# Documented in README.md ("Exit codes"); keep both in step.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PENDING = 3
EXIT_LOCK_TIMEOUT = 4
EXIT_LINT = 5
EXIT_INTERRUPTED = 130


def display_path(path: Path | str) -> str:
    """Paths as the user typed them: relative to the working directory when inside it."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 file`, `2 files`: every count sqlmig prints agrees with its noun."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


class SqlmigError(Exception):
    """Base class: a problem the user can act on. `str(err)` is the one-line message."""

    exit_code = EXIT_ERROR
    hint: str | None = None


class MigrationFileError(SqlmigError):
    """A file in the migrations directory is malformed; names the file (and line)."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{display_path(path)}:{line}" if line else display_path(path)
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line
        self.message = message


class ConfigError(SqlmigError):
    """A setting is invalid or missing; names the setting."""

    exit_code = EXIT_USAGE


class PlanError(SqlmigError):
    """The requested operation cannot be planned from files + history (nothing has run)."""


class LockTimeout(SqlmigError):
    exit_code = EXIT_LOCK_TIMEOUT


class ConnectionFailed(SqlmigError):
    """The database could not be reached; the message never holds a password."""


class DatabaseMissing(ConnectionFailed):
    """The server answered, but the database does not exist (`sqlmig create` makes it)."""


class PooledPerTransaction(SqlmigError):
    """The connection goes through a pool that gives each transaction whichever server
    session is free (PgBouncer in transaction mode): refused before anything runs."""


class Interrupted(SqlmigError):
    """SIGINT/SIGTERM while running: the statement was cancelled and rolled back (with its
    migration's transaction; in a no-transaction file, that statement alone)."""

    exit_code = EXIT_INTERRUPTED


class MigrationFailed(SqlmigError):
    """A migration's SQL failed on the server; it was rolled back and not recorded."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        excerpt: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        context: str | None = None,
        sqlstate: str | None = None,
    ) -> None:
        where = display_path(path)
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line
        self.column = column
        self.excerpt = excerpt
        self.detail = detail
        self.hint = hint
        self.context = context
        self.sqlstate = sqlstate
        self.undone: list[str] = []  # migrations rolled back by --rollback-on-failure
        # migrations that ran before the failure in its --single-transaction, rolled back with it
        self.rolled_back: list[str] = []

    def extend(self, text: str) -> None:
        """Add `text` to the one-line message (a lock timeout: after how many attempts, and
        who held the lock)."""
        self.args = (f"{self.args[0]}{text}",)

    def details(self) -> list[str]:
        """Lines printed under the one-line message: the source excerpt, DETAIL, HINT."""
        out: list[str] = []
        if self.excerpt:
            out.extend(self.excerpt.splitlines())
        if self.detail:
            out.append(f"detail: {self.detail}")
        if self.hint:
            out.append(f"hint: {self.hint}")
        if self.context:
            out.extend(f"context: {line}" for line in self.context.splitlines())
        if self.sqlstate:
            out.append(f"sqlstate: {self.sqlstate}")
        return out


class ConnectionLost(MigrationFailed):
    """The connection broke while a migration ran (the server crashed or restarted, or the
    backend was terminated): what was reported done is checked against the history after."""


class InvalidIndexes(MigrationFailed):
    """A no-transaction migration ran to its end, but the database holds INVALID indexes (an
    interrupted CREATE INDEX CONCURRENTLY, which `IF NOT EXISTS` then skips): it is recorded
    failed, never applied, and each index is named with the statement that drops it."""

    def __init__(self, path: Path | str, migration: str, indexes: list[tuple[str, str]],
                 direction: str) -> None:
        names = ", ".join(f"{name} (on {table})" for name, table in indexes)
        noun = "index is" if len(indexes) == 1 else "indexes are"
        done = "applied" if direction == "up" else "rolled back"
        super().__init__(path, f"{migration} ran to its end, but {noun} INVALID: {names}; it is "
                               f"recorded as failed, not {done}")
        self.indexes = indexes
        self.then = (
            "then run `sqlmig repair` and `sqlmig migrate` to build it again"
            if direction == "up" else
            "then run `sqlmig repair` (it becomes applied again) and roll it back again"
        )

    def details(self) -> list[str]:
        return [*invalid_index_advice([name for name, _ in self.indexes]), self.then]


def invalid_index_advice(names: list[str]) -> list[str]:
    """What to do about INVALID indexes, with the statement for each."""
    return [
        "an interrupted CREATE INDEX CONCURRENTLY leaves its index INVALID: unused by queries, "
        "still updated on every write, and skipped by `IF NOT EXISTS`; drop it:",
        *(f"    {drop_index(name)}" for name in names),
    ]


def drop_index(name: str) -> str:
    """The statement that removes an INVALID index (`name` already quoted and qualified)."""
    return f"DROP INDEX CONCURRENTLY IF EXISTS {name};"


def invalid_index_problem(name: str, table: str) -> str:
    """One INVALID index, as `status` and `verify` report it."""
    return (f"index {name} on {table} is INVALID (an interrupted CREATE INDEX CONCURRENTLY, "
            f"which `IF NOT EXISTS` skips): run `{drop_index(name)}`, then build it again "
            "(`sqlmig repair` and `sqlmig migrate` if a migration of yours built it)")


class VerifyFailed(SqlmigError):
    """Files and history disagree; nothing was run. Lists every problem."""

    def __init__(self, verb: str, problems: list[str]) -> None:
        super().__init__(f"refusing to {verb}: {counted(len(problems), 'problem')} (see "
                         "`sqlmig verify`)")
        self.problems = problems

    def details(self) -> list[str]:
        return [f"  - {problem}" for problem in self.problems]


class DumpFailed(SqlmigError):
    """pg_dump could not run or failed (a snapshot before migrating, `dump`, `diff`)."""
