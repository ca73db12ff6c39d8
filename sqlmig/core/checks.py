"""What a run refuses before it sends anything: syntax errors, psql meta-commands and, in a
file run inside a transaction, statements that would break it; found in the files alone, so
a refused run leaves the database untouched. Pure: no socket.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmig.core.files import SqlFile
from sqlmig.core.plan import Step
from sqlmig.core.sqltext import excerpt, hazards
from sqlmig.errors import MigrationFailed, MigrationFileError, PlanError


def step_file(step: Step) -> SqlFile:
    """The file a step executes: the up file, or the down file (planning guarantees it exists)."""
    chosen = step.migration.up if step.direction == "up" else step.migration.down
    assert chosen is not None, "planner never rolls back an irreversible migration"
    return chosen


def is_no_transaction(step: Step) -> bool:
    return "no-transaction" in step_file(step).directives


def check_run(steps: Sequence[Step], *, single_transaction: bool = False,
              rollback_on_failure: bool = False) -> None:
    """Refuse, before anything runs, SQL that would break the transaction handling: in the
    steps' files, in the downs that --rollback-on-failure may have to run, and a
    no-transaction step in a --single-transaction run."""
    for step in steps:
        check_file(step_file(step), transactional=not is_no_transaction(step))
    if rollback_on_failure:
        for step in steps:
            down = step.migration.down
            if step.direction == "up" and down is not None:
                check_file(down, transactional="no-transaction" not in down.directives)
    if single_transaction:
        blocking = [s.migration.id for s in steps if is_no_transaction(s)]
        if blocking:
            raise PlanError(
                f"--single-transaction cannot include no-transaction migrations: "
                f"{', '.join(blocking)}; run without --single-transaction"
            )


def check_file(file: SqlFile, *, transactional: bool, noun: str = "migration") -> None:
    """Syntax errors, psql meta-commands and (when it runs in a transaction) statements that
    would break the transaction, each raised with its line. Big files are data: the server
    reports their errors."""
    if file.big:
        return
    for hazard in hazards(file.text):
        if hazard.kind == "syntax":
            raise MigrationFailed(
                file.path, hazard.what, line=hazard.line, column=hazard.column,
                excerpt=excerpt(file.text, hazard.line, hazard.column),
            )
        if hazard.kind == "meta-command":
            message = (
                f"psql meta-command {hazard.what}: sqlmig runs plain SQL, not psql "
                "scripts; remove it"
            )
        elif not transactional:
            continue
        elif hazard.kind == "transaction-control":
            message = (
                f"{hazard.what} inside a transactional {noun} would break its "
                "all-or-nothing run; remove it (sqlmig wraps the file in a transaction)"
                + ("" if noun != "migration" else ", or add `-- sqlmig:no-transaction` to "
                   "the header to manage transactions yourself")
            )
        else:
            message = (
                f"{hazard.what} cannot run inside a transaction block; add "
                "`-- sqlmig:no-transaction` as the file's first line"
            )
        raise MigrationFileError(file.path, message, hazard.line)
