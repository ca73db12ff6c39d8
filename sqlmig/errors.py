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


class ConfigError(SqlmigError):
    """A setting is invalid or missing; names the setting."""

    exit_code = EXIT_USAGE


class PlanError(SqlmigError):
    """The requested operation cannot be planned from files + history (nothing has run)."""


class LockTimeout(SqlmigError):
    exit_code = EXIT_LOCK_TIMEOUT


class ConnectionFailed(SqlmigError):
    """The database could not be reached; the message never holds a password."""


class PooledPerTransaction(SqlmigError):
    """The connection goes through a pool that gives each transaction whichever server
    session is free (PgBouncer in transaction mode): refused before anything runs."""


class Interrupted(SqlmigError):
    """SIGINT/SIGTERM while running: the statement was cancelled and rolled back."""

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


class VerifyFailed(SqlmigError):
    """Files and history disagree; nothing was run. Lists every problem."""

    def __init__(self, verb: str, problems: list[str]) -> None:
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(f"refusing to {verb}: {count} (see `sqlmig verify`)")
        self.problems = problems

    def details(self) -> list[str]:
        return [f"  - {problem}" for problem in self.problems]
