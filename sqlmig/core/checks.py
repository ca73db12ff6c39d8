"""What a run refuses before it sends anything: files and history that disagree, syntax
errors, psql meta-commands and, in a file run inside a transaction, statements that would
break it; found before the first statement is sent, so a refused run leaves the database
untouched. Pure: no socket.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlmig.core.checked import Checked
from sqlmig.core.files import Migration
from sqlmig.core.hazards import Hazard, hazards, runnable
from sqlmig.core.located import excerpt
from sqlmig.core.pg_ast import among, enum_name, qualified, relation_key
from sqlmig.core.plan import Applied, Step, check_single_transaction, verify
from sqlmig.core.sqlfile import SqlFile
from sqlmig.core.statements import first_token
from sqlmig.errors import MigrationFailed, MigrationFileError, SqlmigError, VerifyFailed

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
              rollback_on_failure: bool = False,
              history: tuple[str, str] | None = None, verdicts: Checked | None = None) -> None:
    """Refuse, before anything runs, SQL that would break the transaction handling: in the
    steps' files, in the downs that --rollback-on-failure may have to run, and a
    no-transaction step in a --single-transaction run (which the planner refuses already);
    and a file that drops or renames the history table (schema, table). Every refusal in
    every file is named at once: one is raised as it is, several as one VerifyFailed.
    `verdicts`: texts found clean before are not parsed again (core/checked.py)."""
    checked = list(steps)
    if rollback_on_failure:
        checked += [Step(s.migration, "down") for s in steps
                    if s.direction == "up" and s.migration.down is not None]
    problems: list[SqlmigError] = []
    for index, step in enumerate(checked):
        problems += _problems(step.file, transactional=step.transactional, verdicts=verdicts)
        if history is not None and index < len(steps):
            try:
                check_history_table(step.file, *history)
            except MigrationFileError as err:
                problems.append(err)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise VerifyFailed("run", [str(p) for p in problems])
    if single_transaction:
        check_single_transaction(steps)


def check_file(file: SqlFile, *, transactional: bool, noun: str = "migration") -> None:
    """Syntax errors, psql meta-commands and (when it runs in a transaction) statements that
    would break the transaction: the first one raised with its line. Big files are data: the
    server reports their errors."""
    for problem in _problems(file, transactional=transactional, noun=noun):
        raise problem


def _problems(file: SqlFile, *, transactional: bool, noun: str = "migration",
              verdicts: Checked | None = None) -> list[SqlmigError]:
    return [
        MigrationFailed(file.path, message, line=hazard.line, column=hazard.column,
                        excerpt=excerpt(file.text, hazard.line, hazard.column))
        if hazard.kind == "syntax" else MigrationFileError(file.path, message, hazard.line)
        for hazard, message in _refused(file, transactional=transactional, noun=noun,
                                        verdicts=verdicts)
    ]


def check_history_table(file: SqlFile, schema: str, table: str) -> None:
    """A migration written for another tool may drop or rename that tool's history table,
    which golang-migrate and dbmate also call schema_migrations: say so, not `relation ...
    does not exist` when sqlmig then records the migration."""
    if file.big or table.lower() not in file.text.lower():
        return
    from pglast import parser  # only files naming the table are parsed again

    try:
        statements = parser.parse_sql(file.text)
    except parser.ParseError:
        return  # check_file reports it
    for raw in statements:
        node: Any = raw.stmt
        what = None
        kind = type(node).__name__
        if kind == "DropStmt" and enum_name(node.removeType) == "OBJECT_TABLE":
            if any(among((schema, table), {qualified(parts)}) for parts in node.objects or ()):
                what = "drops"
        elif (kind == "RenameStmt" and enum_name(node.renameType) == "OBJECT_TABLE"
              and among((schema, table), {relation_key(node.relation)})):
            what = "renames"
        if what is not None:
            line = file.text.count("\n", 0, first_token(file.text, raw.stmt_location or 0)) + 1
            raise MigrationFileError(
                file.path,
                f"{what} {table}, which is sqlmig's history table ({schema}.{table}); if it "
                "is another tool's table of the same name (golang-migrate and dbmate call "
                'theirs schema_migrations too), give sqlmig\'s its own: table = '
                '"sqlmig_migrations" in sqlmig.toml',
                line,
            )


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


def _refused(file: SqlFile, *, transactional: bool, noun: str = "migration",
             verdicts: Checked | None = None) -> Iterator[tuple[Hazard, str]]:
    sent = runnable(file)
    if isinstance(sent, bytes) or (verdicts is not None and verdicts.clean(sent)):
        return
    found = hazards(sent)
    if not found and verdicts is not None:
        verdicts.add(sent)
    for hazard in found:
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
