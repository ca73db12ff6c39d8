"""What lint knows while it reads one file: the statement it is at, the rules suppressed for
it, what the file has created so far and whether a lock_timeout is set."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlmig.core.located import locate
from sqlmig.core.pg_ast import among, relation_key
from sqlmig.review.lint import locks
from sqlmig.review.lint.ignores import Ignores
from sqlmig.review.lint.known import Known
from sqlmig.review.lint.reversal import DROP_KINDS, Created
from sqlmig.review.lint.rules import Finding, finding

NEWEST_PG = 18  # rules follow the newest PostgreSQL unless told the target's version


@dataclass
class FileState:
    path: Path
    text: str
    direction: str
    disabled: frozenset[str]
    transactional: bool
    lock_timeout: bool
    pg_version: int = NEWEST_PG  # the major version the migrations will run on
    findings: list[Finding] = field(default_factory=list)
    created_tables: set[tuple[str | None, str]] = field(default_factory=set)
    created: list[Created] = field(default_factory=list)
    lock_timeout_reported: bool = False
    # earlier ups' schema; a down reads it but teaches nothing (its changes are undone)
    known: Known = field(default_factory=Known)
    # constraints added NOT VALID in this file: (table, name) -> the lock the ADD took
    not_valid: dict[tuple[str, str], str] = field(default_factory=dict)
    # existing tables an earlier statement of this transactional file holds ACCESS EXCLUSIVE
    # on, until the migration commits: table name -> line of that statement
    locked: dict[str, int] = field(default_factory=dict)
    enum_values: set[str] = field(default_factory=set)  # added in this transaction
    in_block: bool = False  # between an explicit BEGIN and COMMIT in a no-transaction file
    start: int = 0
    ignored: frozenset[str] = frozenset()
    ignores: Ignores = field(default_factory=Ignores)  # the file's lint-ignore comments

    def begin_statement(self, start: int, ignored: frozenset[str]) -> None:
        self.start, self.ignored = start, ignored

    def report(self, rule: str, message: str, location: int | None = None, *,
               suggestion: str | None = None) -> None:
        """`suggestion`: the safer SQL for this statement, in its own names."""
        if self.suppressed(rule, self.start, self.ignored):
            return
        offset = location if location is not None and location >= 0 else self.start
        line, column = locate(self.text, offset + 1)
        self.findings.append(finding(rule, self.path, line, column, message, text=self.text,
                                     suggestion=suggestion))

    def suppressed(self, rule: str, statement: int, ignored: frozenset[str]) -> bool:
        """Disabled, or ignored for the statement at offset `statement` or the whole file."""
        return rule in self.disabled or self.ignores.silences(rule, statement, ignored)

    def line(self) -> int:
        """The line the current statement starts on."""
        return locate(self.text, self.start + 1)[0]

    def needs_lock_timeout(self, mode: str, table: str, what: str) -> None:
        """A statement on an existing table takes `mode` on it: without a lock_timeout, waiting
        for that lock stalls every query on the table. Said once per file, even when
        suppressed here: the fix is one line at the file's top."""
        if self.lock_timeout or self.lock_timeout_reported or not locks.blocks_traffic(mode):
            return
        self.lock_timeout_reported = True
        article = "an" if mode[0] in "AE" else "a"
        self.report("lock-timeout-missing",
                    f"{what} takes {article} {mode} lock on {table} ({locks.BLOCKS[mode]}) with no "
                    "lock_timeout set: while it waits for the lock, every query on "
                    f"{table} queues behind it")

    def existing(self, relation: Any) -> bool:
        return not among(relation_key(relation), self.created_tables)

    def renamed_table(self, old: tuple[str | None, str], new_name: str) -> None:
        """A table created in this file got a new name: the down must drop that one."""
        new = (old[0], new_name)
        self.created_tables.add(new)
        self.created = [
            replace(c, name=new_name) if c.kind == "table" and among((c.schema, c.name), {old})
            else replace(c, table=new) if c.table is not None and among(c.table, {old})
            else c
            for c in self.created
        ]

    def remember(self, kind: str, schema: str | None, name: str, *,
                 table: tuple[str | None, str] | None = None, location: int | None = None,
                 replace: bool = False, function: tuple[str | None, str] | None = None) -> None:
        offset = location if location is not None and location >= 0 else self.start
        line, column = locate(self.text, offset + 1)
        self.created.append(Created(kind, schema, name, table, line, column, replace,
                                    self.ignored, function, self.start))

    def forget(self, drop_kind: str, targets: list[tuple[str | None, str]]) -> None:
        """Objects the same up drops again (a helper table, a temporary sequence): nothing is
        left for the down to drop."""
        kind = DROP_KINDS.get(drop_kind)
        if kind is None or not targets:
            return
        dropped = set(targets)
        self.created = [
            c for c in self.created
            if not (c.kind == kind and among((c.schema, c.name), dropped))
            and not (kind == "table" and c.table is not None and among(c.table, dropped))
        ]

    def sequence_owned_by(self, sequence: tuple[str | None, str],
                          table: tuple[str | None, str]) -> None:
        """ALTER SEQUENCE ... OWNED BY: dropping the table drops the sequence."""
        self.created = [
            replace(c, table=table) if c.kind == "sequence" and among((c.schema, c.name),
                                                                        {sequence}) else c
            for c in self.created
        ]
