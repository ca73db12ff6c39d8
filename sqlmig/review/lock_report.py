"""What a migration's locks mean for the traffic on a table: which modes each lock mode
conflicts with, what it blocks in plain words, and the per-statement report `plan --locks`
prints, built from rows read in pg_locks and pg_class before and after each statement.
Pure: the rows come in as values; never connects, never prints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlmig.review.lint import locks

# Weakest first, as PostgreSQL numbers them (AccessShareLock = 1 ... AccessExclusiveLock = 8).
ALL_MODES = ("ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", *locks.MODES)
# The lock conflict table of PostgreSQL's "Explicit Locking" chapter, by the weakest mode each
# conflicts with, and the one exception: SHARE does not conflict with SHARE.
_FIRST_CONFLICT = {
    "ACCESS SHARE": locks.ACCESS_EXCLUSIVE,
    "ROW SHARE": locks.EXCLUSIVE,
    "ROW EXCLUSIVE": locks.SHARE,
    locks.SHARE_UPDATE_EXCLUSIVE: locks.SHARE_UPDATE_EXCLUSIVE,
    locks.SHARE: "ROW EXCLUSIVE",
    locks.SHARE_ROW_EXCLUSIVE: "ROW EXCLUSIVE",
    locks.EXCLUSIVE: "ROW SHARE",
    locks.ACCESS_EXCLUSIVE: "ACCESS SHARE",
}
BLOCKS = {
    "ACCESS SHARE": "blocks only ACCESS EXCLUSIVE (most ALTER TABLE, DROP), not reads or writes",
    "ROW SHARE": "blocks only EXCLUSIVE and ACCESS EXCLUSIVE, not reads or writes",
    "ROW EXCLUSIVE": "blocks CREATE INDEX and schema changes, not reads or writes",
    **locks.BLOCKS,
}


def conflicts(mode: str) -> list[str]:
    """The modes that wait for `mode` (and that `mode` waits for), weakest first."""
    first = ALL_MODES.index(_FIRST_CONFLICT[mode])
    found = list(ALL_MODES[first:])
    return [m for m in found if m != locks.SHARE] if mode == locks.SHARE else found


def mode_name(pg_mode: str) -> str:
    """pg_locks' `ShareRowExclusiveLock` as the SQL keyword `SHARE ROW EXCLUSIVE`."""
    words, word = [], ""
    for char in pg_mode.removesuffix("Lock"):
        if char.isupper() and word:
            words.append(word)
            word = ""
        word += char
    return " ".join([*words, word]).upper()


def stronger(mode: str, than: str | None) -> bool:
    return than is None or ALL_MODES.index(mode) > ALL_MODES.index(than)


@dataclass(frozen=True)
class TableState:
    """One table as the migrating session sees it at one moment."""

    filenode: int
    seq_scan: int = 0
    seq_tup_read: int = 0


@dataclass(frozen=True)
class HeldLock:
    """A relation lock the migrating session holds, from pg_locks and pg_class."""

    oid: int
    relation: str
    mode: str  # as SQL writes it: ACCESS EXCLUSIVE
    bytes: int | None = None
    rows: int | None = None  # pg_class.reltuples; None when never analysed


@dataclass(frozen=True)
class Lock:
    """A lock a statement takes on a relation, and what it did to it."""

    relation: str
    mode: str
    bytes: int | None = None
    rows: int | None = None
    rewritten: bool = False  # a new relfilenode: every row copied under this lock
    scanned: bool = False  # rows read by a sequential scan (a check, a build, a rewrite)
    held_ms: int | None = None  # from this statement's start to its migration's end
    estimated: bool = False  # from the parse, not measured
    earlier: bool = False  # taken by an earlier statement; this one scanned or rewrote under it

    @property
    def blocks(self) -> str:
        return BLOCKS[self.mode]

    @property
    def conflicts_with(self) -> list[str]:
        return conflicts(self.mode)

    @property
    def summary(self) -> str:
        return describe(self)


@dataclass(frozen=True)
class StatementLocks:
    """One statement of a migration: measured, or why not."""

    line: int
    sql: str
    ms: int | None = None
    locks: list[Lock] = field(default_factory=list)
    outcome: str = "measured"  # measured, timed out, failed, not run, estimated
    note: str | None = None

    @property
    def took(self) -> str:
        return duration(self.ms) if self.ms is not None else ""


@dataclass(frozen=True)
class MigrationLocks:
    id: str
    version: int
    name: str
    transactional: bool
    statements: list[StatementLocks]
    note: str | None = None

    @property
    def strongest(self) -> list[Lock]:
        """Per table, the strongest lock the migration takes, and how long it holds it (from
        the statement that takes it to the migration's end)."""
        found: dict[str, Lock] = {}
        for statement in self.statements:
            for lock in statement.locks:
                if lock.relation not in found or stronger(lock.mode, found[lock.relation].mode):
                    found[lock.relation] = lock
        return list(found.values())


def new_locks(before: Mapping[int, str], after: list[HeldLock],
              tables_before: Mapping[int, TableState],
              tables_after: Mapping[int, TableState], existing: set[int]) -> list[Lock]:
    """The locks a statement took: for each relation that existed before the migration, the
    strongest mode it holds after the statement if stronger than it held before (`before`:
    oid -> strongest mode), with whether the statement rewrote or scanned it. A relation
    already locked as strongly by an earlier statement is listed only when this statement
    rewrote or scanned it: that work is done under the earlier lock, and makes it last."""
    taken = []
    for oid, held in _strongest(after).items():
        if oid not in existing:
            continue
        old, new = tables_before.get(oid), tables_after.get(oid)
        rewritten = scanned = False
        if old is not None and new is not None:
            rewritten, scanned = old.filenode != new.filenode, new.seq_tup_read > old.seq_tup_read
        newly = stronger(held.mode, before.get(oid))
        if newly or rewritten or scanned:
            taken.append(Lock(held.relation, held.mode, held.bytes, held.rows,
                              rewritten=rewritten, scanned=scanned, earlier=not newly))
    return taken


def already_held(estimated: list[tuple[tuple[str | None, str], str]],
                 holding: list[HeldLock], taken: list[Lock]) -> list[Lock]:
    """The locks the parse says a statement takes on relations this transaction locked
    before it (so pg_locks cannot show the statement taking them), as estimates with the
    relation's size: a lock taken earlier in a migration is held for the rest of it anyway."""
    seen = {lock.relation for lock in taken}
    found = []
    for (schema, name), mode in estimated:
        held = next((h for h in holding if h.relation in (name, f"{schema}.{name}")), None)
        if held is not None and held.relation not in seen:
            seen.add(held.relation)
            found.append(Lock(held.relation, mode, held.bytes, held.rows, estimated=True))
    return found


def strongest_held(after: list[HeldLock]) -> dict[int, str]:
    """oid -> the strongest mode held, the `before` of the next statement."""
    return {oid: held.mode for oid, held in _strongest(after).items()}


def _strongest(after: list[HeldLock]) -> dict[int, HeldLock]:
    strongest: dict[int, HeldLock] = {}
    for held in after:
        if held.oid not in strongest or stronger(held.mode, strongest[held.oid].mode):
            strongest[held.oid] = held
    return strongest


def with_hold_times(statements: list[StatementLocks]) -> list[StatementLocks]:
    """Each lock is held from its statement's start to the migration's end (its COMMIT):
    the sum of the times of that statement and every one after it."""
    timed = []
    for index, statement in enumerate(statements):
        rest = [s.ms for s in statements[index:]]
        held = sum(ms for ms in rest if ms is not None)
        timed.append(StatementLocks(
            statement.line, statement.sql, statement.ms,
            [Lock(**{**lock.__dict__, "held_ms": held}) if not lock.estimated else lock
             for lock in statement.locks],
            statement.outcome, statement.note))
    return timed


def describe(lock: Lock) -> str:
    """`ACCESS EXCLUSIVE on orders (8.1 GB, ~40 M rows): blocks every read and write for
    212 s`."""
    sizes = [size(lock.bytes) if lock.bytes is not None else None,
             f"~{count(lock.rows)} rows" if lock.rows is not None else None]
    known = ", ".join(s for s in sizes if s)
    where = f"{lock.relation} ({known})" if known else lock.relation
    how_long = ""
    if lock.held_ms is not None:  # "blocks every write for 3 s", "not reads or writes (3 s)"
        held = duration(lock.held_ms)
        how_long = f" for {held}" if _blocks_traffic(lock.mode) else f" ({held})"
    what = "; rewrites it" if lock.rewritten else "; scans it" if lock.scanned else ""
    estimated = " (estimated)" if lock.estimated else ""
    if lock.earlier:  # the hold time belongs to the statement that took it
        return f"{lock.mode} on {where}, taken by an earlier statement{what}"
    return f"{lock.mode} on {where}{estimated}: {lock.blocks}{how_long}{what}"


def _blocks_traffic(mode: str) -> bool:
    return mode in locks.MODES and locks.blocks_traffic(mode)


def size(n: int) -> str:
    value, unit = float(n), "bytes"
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            break
        value /= 1024
    return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def count(n: int) -> str:
    for divisor, unit in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if n >= divisor:
            return f"{n / divisor:.{0 if n >= 10 * divisor else 1}f}{unit}"
    return str(n)


def duration(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    if ms < 600_000:
        return f"{ms / 1000:.{1 if ms < 10_000 else 0}f} s"
    return f"{ms / 60_000:.0f} min"


def excerpt(text: str, width: int = 72) -> str:
    """A statement on one line, cut to `width` characters."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[:width - 1] + "…"
