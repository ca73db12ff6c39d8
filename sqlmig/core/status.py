"""What `sqlmig status` found, as data: every migration's row and the database's INVALID
indexes. Here, not beside the command, so the quick path (commands/quick.py) builds the same
result without loading the database driver."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from sqlmig.core.states import State, state_of, version_text
from sqlmig.errors import MigrationFileError

if TYPE_CHECKING:
    from sqlmig.core.plan import StatusRow

# An index left INVALID (pg_index.indisvalid false) by a CREATE INDEX CONCURRENTLY or REINDEX
# CONCURRENTLY that did not finish: queries never use it, every write still maintains it, and
# `CREATE INDEX CONCURRENTLY IF NOT EXISTS` skips it. Builds running right now in other
# sessions are left out (one that does not name its index yet, on the same table; one whose
# commit of `indisvalid` is under way, its pg_index row's xmax still running: the progress
# view ends before that commit), and so are partitioned indexes (`CREATE INDEX ... ON ONLY`: invalid
# by design until every partition's index is attached); names come quoted by the server.
INVALID_INDEXES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       quote_ident(tn.nspname) || '.' || quote_ident(t.relname)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
 WHERE NOT i.indisvalid
   AND c.relkind = 'i'
   AND NOT EXISTS (SELECT FROM pg_stat_progress_create_index p
                    WHERE p.pid <> pg_backend_pid()
                      AND (p.index_relid = i.indexrelid
                           OR (p.index_relid = 0 AND p.relid = i.indrelid)))
   AND NOT EXISTS (SELECT FROM pg_locks l
                    WHERE l.locktype = 'transactionid' AND l.transactionid = i.xmax)
 ORDER BY 1
"""


class InvalidIndex(NamedTuple):
    name: str  # schema-qualified, quoted where SQL needs it
    table: str


# One row of the status table as plain text: (version as its files write it, name, state, note,
# applied_at as whole epoch seconds, execution_ms, batch; "" where there is none). The note is
# the problem of State.PROBLEM, else marks(). A long history's table is built from these
# without a StatusRow per migration (commands/quick.py).
Line = tuple[str, str, State, str, str, str, str]
# The table as columns, in Line's order: a long history's is built, and laid out, a column at
# a time
Columns = tuple[list[str], list[str], list[State], list[str], list[str], list[str], list[str]]


def marks(baseline: bool, adopted: str | None, no_op: bool) -> str:
    """What the state column adds in brackets: `baseline`, `adopted from TOOL`, `no-op`."""
    if not (baseline or adopted is not None or no_op):  # most rows: no list built
        return ""
    return ", ".join(mark for mark, on in (("baseline", baseline), (f"adopted from {adopted}",
                     adopted is not None), ("no-op", no_op)) if on)


def line(row: StatusRow) -> Line:
    applied, migration = row.applied, row.migration
    if row.problem is not None:
        note = row.problem
    else:
        note = marks(applied is not None and applied.baseline,
                     applied.adopted if applied else None,
                     migration is not None and migration.no_op)
    if applied is None:
        return (row.shown_version, row.name, row.state, note, "", "", "")
    at, ms = applied.applied_at, applied.execution_ms
    return (row.shown_version, row.name, row.state, note,
            "" if at is None else str(int(at.timestamp())), "" if ms is None else str(ms),
            str(applied.batch))


class Found(NamedTuple):
    """The migrations of a clean scan, a list per column, in version order."""

    versions: list[int]
    names: list[str]
    digits: list[str]  # the version as the file names write it
    checksums: list[str]
    has_sql: list[bool]


class Recorded(NamedTuple):
    """The history as commands/quick.py reads it, a list per column, in version order: all
    text (as the table shows it; "" where NULL) but the versions."""

    versions: list[int]
    checksums: list[str]
    batches: list[str]
    execution_ms: list[str]
    applied_at: list[str]  # whole epoch seconds
    states: list[str]
    baselines: list[str]  # "t" / "f"
    adopted: list[str]  # "" or "+TOOL"
    names: list[str]


def healthy_columns(found: Found, times: list[str]) -> Columns | None:
    """The table when every migration of a clean scan is applied as written and no history
    row is marked (the history's digest says so), built a column at a time. `times`: each
    row's applied_at, execution_ms and batch, as Recorded has them, one after another (None:
    not three for each migration)."""
    n = len(found.versions)
    if len(times) != 3 * n:
        return None
    digits = found.digits if "" not in found.digits else [
        version_text(version, shown) for version, shown in zip(found.versions, found.digits,
                                                               strict=True)]
    notes = [""] * n if all(found.has_sql) else [marks(False, None, not has_sql)
                                                 for has_sql in found.has_sql]
    return digits, found.names, [State.APPLIED] * n, notes, times[0::3], times[1::3], times[2::3]


def table_lines(found: Found, recorded: Recorded) -> list[Line]:
    """The table's lines of a clean scan's migrations and the history, as plan.status and
    line() would make them, without an object per migration."""
    files = {version: i for i, version in enumerate(found.versions)}
    rows = {version: i for i, version in enumerate(recorded.versions)}
    lines: list[Line] = []
    for version in sorted(files.keys() | rows.keys()):
        file, row = files.get(version), rows.get(version)
        checksum = None if file is None else found.checksums[file]
        no_op = file is not None and not found.has_sql[file]
        shown = version_text(version, "" if file is None else found.digits[file])
        if row is None:
            assert file is not None
            lines.append((shown, found.names[file], State.PENDING,
                          marks(False, None, no_op), "", "", ""))
            continue
        adopted = recorded.adopted[row]
        note = marks(recorded.baselines[row] == "t", adopted[1:] if adopted else None, no_op)
        lines.append((shown, recorded.names[row] if file is None else found.names[file],
                      state_of(checksum, recorded.states[row], recorded.checksums[row]), note,
                      recorded.applied_at[row], recorded.execution_ms[row],
                      recorded.batches[row]))
    return lines


def columns(lines: Iterable[Line]) -> Columns:
    """Lines as the table's columns."""
    rows = list(lines)
    if not rows:
        return [], [], [], [], [], [], []
    versions, names, states, notes, at, ms, batches = map(list, zip(*rows, strict=True))
    return versions, names, states, notes, at, ms, batches


def count(states: Iterable[State]) -> dict[str, int]:
    """How many migrations are in each state, every state listed."""
    counts = {str(state): 0 for state in State}
    for state in states:
        counts[state] += 1
    return counts


class StatusTable(NamedTuple):
    """What the status table shows: Status.table(), or built from the file cache and a
    history read as text (commands/quick.py) when the history is long."""

    env: str
    target: str
    columns: Columns
    counts: dict[str, int]
    problems: Sequence[MigrationFileError] = ()
    invalid: Sequence[InvalidIndex] = ()
    stale_schema_file: str | None = None

    @property
    def lines(self) -> list[Line]:
        return list(zip(*self.columns, strict=True))

    @property
    def clean(self) -> bool:
        """As Status.clean."""
        return (not self.invalid and not self.problems
                and self.counts[State.APPLIED] == len(self.columns[0]))


class Status(NamedTuple):
    """Every migration known to the files or the history, with its state; the INVALID
    indexes; and, with dump_schema on, the warning that schema_file no longer matches."""

    env: str
    target: str  # the database, as connection.describe_target says it (no password)
    rows: list[StatusRow]
    invalid: list[InvalidIndex]
    history_table: bool  # False: sqlmig has never written to this database
    stale_schema_file: str | None = None
    problems: Sequence[MigrationFileError] = ()  # files.scan's

    @property
    def counts(self) -> dict[str, int]:
        """How many migrations are in each state, every state listed."""
        return count(row.state for row in self.rows)

    def table(self) -> StatusTable:
        return StatusTable(self.env, self.target, columns(line(row) for row in self.rows),
                           self.counts, tuple(self.problems), tuple(self.invalid),
                           self.stale_schema_file)

    @property
    def clean(self) -> bool:
        """Everything applied as written and no INVALID index: what `status --exit-code`
        asks."""
        return (not self.invalid and not self.problems
                and all(row.state == State.APPLIED for row in self.rows))
