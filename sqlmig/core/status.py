"""What `sqlmig status` found, as data: every migration's row and the database's INVALID
indexes. Here, not beside the command, so the quick path (commands/quick.py) builds the same
result without loading the database driver."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmig.core.plan import State, StatusRow
from sqlmig.errors import MigrationFileError

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


@dataclass(frozen=True)
class InvalidIndex:
    name: str  # schema-qualified, quoted where SQL needs it
    table: str


@dataclass(frozen=True)
class Status:
    """Every migration known to the files or the history, with its state; the INVALID
    indexes; and, with dump_schema on, the warning that schema_file no longer matches."""

    env: str
    target: str  # the database, as connection.describe_target says it (no password)
    rows: list[StatusRow]
    invalid: list[InvalidIndex]
    history_table: bool  # False: sqlmig has never written to this database
    stale_schema_file: str | None = None
    problems: list[MigrationFileError] = field(default_factory=list)  # files.scan's

    @property
    def counts(self) -> dict[str, int]:
        """How many migrations are in each state, every state listed."""
        counts = {str(state): 0 for state in State}
        for row in self.rows:
            counts[row.state] += 1
        return counts

    @property
    def clean(self) -> bool:
        """Everything applied as written and no INVALID index: what `status --exit-code`
        asks."""
        return (not self.invalid and not self.problems
                and all(row.state == State.APPLIED for row in self.rows))
