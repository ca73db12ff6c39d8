"""Output of `plan --locks` (and `migrate --dry-run --locks`) and `locks`: Rich for people,
plain dicts for --json. Decides nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmig.cli.render import console, escape, print_json, table
from sqlmig.cli.render_review import later_json

if TYPE_CHECKING:
    from sqlmig.commands.locking import LockPlan, Locks
    from sqlmig.pg.locks import SessionLock
    from sqlmig.review.lock_report import Lock, MigrationLocks

__all__ = ["print_json"]


def lock_plan_table(report: LockPlan) -> None:
    out = console()
    if not report.migrations:
        out.print(report.nothing, markup=False)
        return
    for migration in report.migrations:
        out.print(f"[bold]{escape(migration.id)}[/]")
        if migration.note:
            out.print(f"  {migration.note}", markup=False)
        grid = table(("line", "statement", "time", "locks"), right=("line", "time"),
                     wrap=("statement", "locks"))
        for s in migration.statements:
            taken = "\n".join(escape(lock.summary) for lock in s.locks) or "no new lock"
            if s.outcome != "measured":
                colour = "red" if s.outcome == "failed" else "yellow"
                taken = f"[{colour}]{escape(s.outcome)}[/]" + (
                    f": {escape(s.note)}" if s.note else "") + (f"\n{taken}" if s.locks else "")
            grid.add_row(str(s.line), escape(s.sql), s.took,
                         taken)
        out.print(grid)
        for lock in migration.strongest:
            out.print(f"  strongest: {lock.summary}", markup=False)
    out.print(f"dry run under lock_timeout {report.lock_timeout} and statement_timeout "
              f"{report.statement_timeout}: everything was rolled back; history unchanged",
              markup=False)


def _lock_json(lock: Lock) -> dict[str, Any]:
    return {"relation": lock.relation, "mode": lock.mode, "bytes": lock.bytes,
            "rows": lock.rows, "rewritten": lock.rewritten, "scanned": lock.scanned,
            "held_ms": lock.held_ms, "estimated": lock.estimated, "taken_earlier": lock.earlier,
            "blocks": lock.blocks,
            "conflicts_with": lock.conflicts_with, "summary": lock.summary}


def _migration_json(m: MigrationLocks) -> dict[str, Any]:
    return {"version": m.version, "name": m.name, "transactional": m.transactional,
            "note": m.note, "strongest": [_lock_json(lock) for lock in m.strongest],
            "statements": [
                {"line": s.line, "sql": s.sql, "ms": s.ms, "outcome": s.outcome,
                 "note": s.note, "locks": [_lock_json(lock) for lock in s.locks]}
                for s in m.statements]}


def lock_plan_json(report: LockPlan) -> dict[str, Any]:
    return {"ok": not report.unmeasured and not report.failed,
            "lock_timeout": report.lock_timeout,
            "statement_timeout": report.statement_timeout,
            "pending_after_target": later_json(report.later),
            "migrations": [_migration_json(m) for m in report.migrations]}


def locks_table(found: Locks) -> None:
    out = console()
    if not found.tables:
        out.print("the pending migrations lock no existing table", markup=False)
        return
    out.print(f"tables the pending migrations lock: {', '.join(found.tables)}", markup=False)
    if not found.sessions:
        out.print("no other session holds or waits for a lock on them", markup=False)
        return
    grid = table(("pid", "table", "lock", "state", "transaction", "query", "verdict"),
                 right=("pid",), wrap=("query", "verdict"))
    for lock in found.sessions:
        grid.add_row(str(lock.pid), escape(lock.relation), _held(lock),
                     escape(lock.state or ""), _age(lock.transaction_seconds),
                     escape(" ".join((lock.query or "").split())[:120]), _verdict(found, lock))
    out.print(grid)


def _held(lock: SessionLock) -> str:
    return escape(lock.mode) if lock.granted else f"[yellow]waits for {escape(lock.mode)}[/]"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.0f} min"


def _verdict(found: Locks, lock: SessionLock) -> str:
    said = []
    if not lock.granted:
        said.append(f"[red]blocked by {', '.join(map(str, lock.blocked_by)) or '?'}[/]")
    elif found.blocks_migration(lock):
        said.append(f"[red]the migrations would wait for it ({escape(found.takes[lock.relation])} "
                    f"conflicts)[/]")
    if found.long_running(lock):
        said.append("[yellow]long-running transaction[/]")
    return "; ".join(said)


def _session_json(found: Locks, lock: SessionLock) -> dict[str, Any]:
    return {"pid": lock.pid, "table": lock.relation, "mode": lock.mode,
            "granted": lock.granted, "user": lock.user, "application": lock.application,
            "state": lock.state, "transaction_start": lock.transaction_start,
            "transaction_seconds": lock.transaction_seconds,
            "waiting_seconds": lock.waiting_seconds, "query": lock.query,
            "blocked_by": lock.blocked_by, "blocks_migration": found.blocks_migration(lock),
            "long_running": found.long_running(lock)}


def locks_json(found: Locks) -> dict[str, Any]:
    return {"tables": found.tables, "migrations_take": found.takes,
            "blocking": found.blocking,
            "sessions": [_session_json(found, lock) for lock in found.sessions]}
