"""What a run refuses before it sends anything: files and history that disagree, syntax
errors, psql meta-commands and, in a file run inside a transaction, statements that would
break it; found before the first statement is sent, so a refused run leaves the database
untouched. Pure: no socket.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlmig.core.files import Migration
from sqlmig.core.hazards import Hazard, hazards
from sqlmig.core.located import excerpt
from sqlmig.core.plan import Applied, Step, check_single_transaction, verify
from sqlmig.core.sqlfile import SqlFile
from sqlmig.errors import MigrationFailed, MigrationFileError, VerifyFailed

# Advice shared with lint's rules, so a run and a review word the same fix the same way.
ADD_NO_TRANSACTION = "add `-- sqlmig:no-transaction` as the file's first line"
REMOVE_TRANSACTION_CONTROL = "remove it (sqlmig wraps the file in one transaction)"
OR_MANAGE_THEM = "or add `-- sqlmig:no-transaction` to manage transactions yourself"


def meta_command(what: str) -> str:
    return f"psql meta-command {what}: sqlmig runs plain SQL, not psql scripts"


def check_history(migrations: Sequence[Migration], applied: Sequence[Applied], *,
                  allow_out_of_order: bool, verb: str = "run") -> None:
    """Validate-on-migrate: refuse when `sqlmig verify` would report anything."""
    problems = verify(migrations, applied, allow_out_of_order=allow_out_of_order)
    if problems:
        raise VerifyFailed(verb, [p.message for p in problems])


def check_run(steps: Sequence[Step], *, single_transaction: bool = False,
              rollback_on_failure: bool = False) -> None:
    """Refuse, before anything runs, SQL that would break the transaction handling: in the
    steps' files, in the downs that --rollback-on-failure may have to run, and a
    no-transaction step in a --single-transaction run (which the planner refuses already)."""
    for step in steps:
        check_file(step.file, transactional=step.transactional)
    if rollback_on_failure:
        for step in steps:
            if step.direction == "up" and step.migration.down is not None:
                down = Step(step.migration, "down")
                check_file(down.file, transactional=down.transactional)
    if single_transaction:
        check_single_transaction(steps)


def check_file(file: SqlFile, *, transactional: bool, noun: str = "migration") -> None:
    """Syntax errors, psql meta-commands and (when it runs in a transaction) statements that
    would break the transaction: the first one raised with its line. Big files are data: the
    server reports their errors."""
    for hazard, message in _refused(file, transactional=transactional, noun=noun):
        if hazard.kind == "syntax":
            raise MigrationFailed(
                file.path, message, line=hazard.line, column=hazard.column,
                excerpt=excerpt(file.text, hazard.line, hazard.column),
            )
        raise MigrationFileError(file.path, message, hazard.line)


def offline_problems(migrations: Sequence[Migration]) -> list[MigrationFileError]:
    """Everything a run would refuse in any up or down file, every one of them, found
    without a database (`verify --offline`, the pre-commit hook)."""
    found = []
    for migration in migrations:
        for direction in ("up", "down"):
            if direction == "down" and migration.down is None:
                continue
            step = Step(migration, direction)
            found += [MigrationFileError(step.file.path, message, hazard.line)
                      for hazard, message in _refused(step.file,
                                                      transactional=step.transactional)]
    return found


def _refused(file: SqlFile, *, transactional: bool, noun: str = "migration"
             ) -> Iterator[tuple[Hazard, str]]:
    if file.big:
        return
    for hazard in hazards(file.text):
        if hazard.kind == "syntax":
            yield hazard, hazard.what
            continue
        if hazard.kind == "meta-command":
            message = f"{meta_command(hazard.what)}; remove it"
        elif not transactional:
            continue
        elif hazard.kind == "transaction-control":
            message = (
                f"{hazard.what} inside a transactional {noun} would break its "
                f"all-or-nothing run; {REMOVE_TRANSACTION_CONTROL}"
                + ("" if noun != "migration" else f", {OR_MANAGE_THEM}")
            )
        else:
            message = f"{hazard.what} cannot run inside a transaction block; {ADD_NO_TRANSACTION}"
        yield hazard, message
