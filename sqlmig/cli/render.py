"""Everything the user reads: Rich tables, progress lines, errors, JSON documents.

Takes plain results from the commands layer and prints them; decides nothing. Every byte goes out
through a HiddenFile (secrets.hide: no password is ever printed), and text from users or the
server is printed literally, never read as Rich markup.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, cast

from sqlmig.errors import counted

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from sqlmig.commands.history import Edit, Verification
    from sqlmig.core.lock_retries import RetryAttempt
    from sqlmig.core.plan import Problem, Step
    from sqlmig.errors import SqlmigError
    from sqlmig.pg.db import InvalidIndex, LockHolder

STATE_STYLES = {
    "applied": "green",
    "pending": "yellow",
    "changed": "bold red",
    "missing": "red",
    "failed": "bold red",
    "problem": "bold red",
}


class Output:
    """Global output switches (`sqlmig --no-color --quiet --verbose COMMAND`). A plain
    class, as every class the quick paths load (tests/test_start_up.py)."""

    no_color = False
    quiet = False
    verbose = False


OUTPUT = Output()


class HiddenFile:
    """sys.stdout or sys.stderr (looked up on each use: test runners swap them) with every
    password taken out of what is written to it."""

    def __init__(self, name: str = "stdout") -> None:
        self.name = name

    @property
    def stream(self) -> Any:
        return getattr(sys, self.name)

    def write(self, text: str) -> int:
        from sqlmig.core.secrets import hide

        return self.stream.write(hide(text))

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...
        return getattr(self.stream, name)


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    # NO_COLOR: Rich alone would keep bold and friends; color_system=None drops every escape
    no_color = OUTPUT.no_color or bool(os.environ.get("NO_COLOR"))
    stream = cast("IO[str]", HiddenFile("stderr" if stderr else "stdout"))
    # A pipe or a log: whole lines, never wrapped at Rich's default 80 columns
    return Console(file=stream, color_system=None if no_color else "auto", highlight=False,
                   soft_wrap=not stream.isatty())


def plain() -> bool:
    """Output goes to a pipe or a file and nothing asks for colour (CI logs, benchmarks): the
    run-time lines and status are written as plain text without loading Rich, a tenth of a
    cold start."""
    return not (sys.stdout.isatty() or os.environ.get("FORCE_COLOR")
                or os.environ.get("TTY_COMPATIBLE"))


class PlainOutput:
    """The part of a Rich Console the line reporter uses, for plain() output."""

    is_terminal = False
    color_system = None

    @property
    def file(self) -> Any:
        return HiddenFile()

    def print(self, text: object, **_: object) -> None:
        self.file.write(f"{text}\n")


def run_output() -> Any:
    """Where run-time lines, summaries and status go: plain text, or a Rich console."""
    return PlainOutput() if plain() else console()


def run_line(message: str, out: Any = None) -> None:
    """A line of a run's own output (which database, what a destructive command will do):
    stdout, so errors stay the only lines on stderr; not with --quiet."""
    if not OUTPUT.quiet:
        (out or run_output()).print(message, soft_wrap=True, markup=False, emoji=False)


def escape(text: str) -> str:
    """User text (file contents, server messages) must never be read as Rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def table(
    columns: Sequence[str], *, right: Sequence[str] = (), wrap: Sequence[str] = ()
) -> Table:
    """The one table style sqlmig prints: bold header, a rule under it, no side borders; in a
    pipe or a log, a PlainTable."""
    from rich import box
    from rich.table import Table

    if plain():
        from sqlmig.cli.plain import PlainTable

        return cast("Table", PlainTable(columns, right))
    result = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        result.add_column(column, justify="right" if column in right else "left",
                          no_wrap=column not in wrap)
    return result


def error(err: SqlmigError) -> None:
    from rich.text import Text

    out = console(stderr=True)
    out.print(Text.assemble(("error:", "bold red"), f" {err}"), soft_wrap=True)
    details = err.details() if hasattr(err, "details") else []
    for line in details:
        out.print(line, soft_wrap=True, markup=False, emoji=False)
    if err.hint and not details:
        out.print(f"hint: {err.hint}", soft_wrap=True, markup=False, emoji=False)
    for note in getattr(err, "__notes__", []):
        out.print(f"note: {note}", soft_wrap=True, markup=False, emoji=False)


def traceback(err: BaseException) -> None:
    """--debug: the whole traceback, through the same redaction as everything else."""
    import traceback as tracebacks

    HiddenFile("stderr").write("".join(tracebacks.format_exception(err)))


def notice(message: str) -> None:
    if not OUTPUT.quiet:
        console(stderr=True).print(message, soft_wrap=True, markup=False, emoji=False)


def detail(message: str) -> None:
    """Printed only with --verbose."""
    if OUTPUT.verbose and not OUTPUT.quiet:
        console(stderr=True).print(message, soft_wrap=True, markup=False, emoji=False)


# A progress bar (on a terminal, without --quiet) for runs of more steps than this, or once
# a run has taken longer than PROGRESS_AFTER_SECONDS.
PROGRESS_AFTER = 5
PROGRESS_AFTER_SECONDS = 2.0


class LineReporter:
    """One line per step as it finishes (a progress bar too for long runs on a terminal);
    lock waits go to stderr. --quiet keeps only the summary."""

    def __init__(self, *, machine: bool = False) -> None:
        """`machine`: stdout carries a document (--json), so no lines of ours go there."""
        self.machine = machine
        self.out: Any = run_output()
        self.progress: Any = None
        self.task: Any = None
        self.total = 0
        self.completed = 0
        self.since = 0.0
        self.retries: list[RetryAttempt] = []  # kept for migrate --json, with what finished
        self.finished_steps: list[tuple[Step, int]] = []

    def target(self, message: str) -> None:
        """The first line of a changing command: the environment and the database, as libpq
        really connected (a URL without a database name still picks one)."""
        self.line(message)

    def line(self, message: str) -> None:
        """A line of the run's own output (not a notice): stdout, unless --quiet or --json."""
        if not self.machine:
            run_line(message, self.out)

    def result(self, message: str) -> None:
        """What a run did, in one line: kept with --quiet."""
        if not self.machine:
            self.out.print(message, soft_wrap=True, markup=False, emoji=False)

    def notice(self, message: str) -> None:
        notice(message)

    def detail(self, message: str) -> None:
        detail(message)

    def planned(self, steps: Sequence[Step]) -> None:
        import time

        self.total, self.completed, self.since = len(steps), 0, time.monotonic()
        if len(steps) > PROGRESS_AFTER:
            self._start_progress()

    def _start_progress(self) -> None:
        if OUTPUT.quiet or self.machine or not self.out.is_terminal or self.progress is not None:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), console=self.out, transient=True)
        self.task = self.progress.add_task("migrating", total=self.total,
                                           completed=self.completed)
        self.progress.start()

    def done(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def waiting(self, holder: LockHolder | None) -> None:
        who = f"held by {holder}" if holder else "held by another session"
        notice(f"waiting for the migration lock ({who})")

    def started(self, step: Step) -> None:
        import time

        if self.total > 1 and time.monotonic() - self.since > PROGRESS_AFTER_SECONDS:
            self._start_progress()
        if self.progress is not None:
            self.progress.update(self.task, description=step.migration.id)

    def server_message(self, severity: str, message: str, step: Step | None) -> None:
        """Warnings (and worse) always, on stderr; notices and the like with --verbose."""
        where = f" from {step.file.path.name}" if step is not None else ""
        line = f"{severity.lower()}{where}: {message}"
        if severity in ("WARNING", "ERROR", "FATAL", "PANIC"):
            notice(line)
        else:
            detail(line)

    def lock_retry(self, attempt: RetryAttempt) -> None:
        """Each retry after a lock timeout, on stderr like a lock wait (kept for --json)."""
        self.retries.append(attempt)
        if attempt.whole_run:  # what the run reported done was rolled back
            self.finished_steps.clear()
        notice(str(attempt))

    def finished(self, step: Step, ms: int) -> None:
        self.completed += 1
        self.finished_steps.append((step, ms))
        if self.progress is not None:
            self.progress.advance(self.task)
        if OUTPUT.quiet or self.machine:
            return
        if not self.out.is_terminal:  # logs and CI: Rich adds nothing but ~0.4 ms a line
            word = "up  " if step.direction == "up" else "down"
            self.out.file.write(f"  {word} {step.migration.id} ({ms} ms)\n")
            return
        arrow = "[green]up[/]  " if step.direction == "up" else "[yellow]down[/]"
        self.out.print(f"  {arrow} {step.migration.id} [dim]({ms} ms)[/]", emoji=False)


def invalid_indexes_json(invalid: Sequence[InvalidIndex]) -> list[dict[str, str]]:
    from sqlmig.errors import drop_index

    return [{"name": index.name, "table": index.table, "drop": drop_index(index.name)}
            for index in invalid]


def invalid_warnings(invalid: Sequence[InvalidIndex]) -> None:
    """One warning (stderr) per INVALID index."""
    from sqlmig.errors import invalid_index_problem

    for index in invalid:
        notice(f"warning: {invalid_index_problem(index.name, index.table)}")


def print_json(document: Any) -> None:
    import json  # (here: the plain table's start-up does without it)

    HiddenFile().write(json.dumps(document, indent=2, default=str) + "\n")


def verified(verification: Verification) -> str:
    """What an ok verify checked: the files alone (--offline) or the files and the history."""
    found = counted(verification.files, "migration")
    if verification.offline:
        return (f"{found} in files: names, pairs, duplicate versions, directives and syntax "
                "check out (--offline: the history was not read)")
    return f"files and history agree ({found} in files, {verification.applied} applied)"


def problems_table(problems: Sequence[Problem], ok: str) -> None:
    out = console()
    if not problems:
        out.print(f"[green]ok[/]: {escape(ok)}")
        return
    grid = table(("kind", "version", "problem"), wrap=("problem",))
    for problem in problems:
        version = f"{problem.version:04d}" if problem.version is not None else ""
        grid.add_row(f"[red]{problem.kind}[/]", version, escape(problem.message))
    out.print(grid)
    out.print(f"[red]{counted(len(problems), 'problem')}[/]")


def diff_text(old: str, new: str, name: str) -> str:
    """Unified diff of an applied migration's recorded text against its file now."""
    import difflib

    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"{name} (applied)", tofile=f"{name} (file now)",
    ))


def diff(old: str, new: str, name: str) -> None:
    out = console()
    for line in diff_text(old, new, name).splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        out.print(line.rstrip("\n"), style=style, markup=False, highlight=False, soft_wrap=True)


def verify_json(verification: Verification) -> dict[str, Any]:
    """`ok`, and each problem with both checksums and (verify --diff) the edit as a diff."""
    return {
        "ok": verification.ok,
        "problems": [
            {
                "kind": p.kind, "version": p.version, "message": p.message,
                "recorded_checksum": p.recorded, "current_checksum": p.current,
                "diff": _edit_diff(verification, p),
            }
            for p in verification.problems
        ],
    }


def _edit(verification: Verification, problem: Problem) -> Edit | None:
    """The edit behind a `changed` problem, when verify was asked for them."""
    if problem.kind != "changed" or problem.version is None:
        return None
    return verification.edits.get(problem.version)


def _edit_diff(verification: Verification, problem: Problem) -> str | None:
    edit = _edit(verification, problem)
    if edit is None or edit.applied is None:
        return None
    return diff_text(edit.applied, edit.current, edit.name)


def verify_report(verification: Verification) -> None:
    """The problems as a table, then (verify --diff) each edit of an applied migration."""
    problems_table(verification.problems, verified(verification))
    for problem in verification.problems:
        edit = _edit(verification, problem)
        if edit is None:
            continue
        if edit.applied is None:
            notice(f"{edit.name}: the applied text was not kept; no diff")
        else:
            diff(edit.applied, edit.current, edit.name)


def changes(lines: Sequence[str], nothing: str) -> None:
    out = console()
    if not lines:
        out.print(nothing)
    for line in lines:
        out.print(line, markup=False, emoji=False, soft_wrap=True)
