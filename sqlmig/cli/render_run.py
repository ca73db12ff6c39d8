"""`migrate --json`: what a run applied and each retry after a lock timeout (with the
blocking session), as one document, also when the run failed. Decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmig.cli.render import LineReporter
    from sqlmig.commands.common import RunResult
    from sqlmig.core.lock_retries import Blocker, RetryAttempt
    from sqlmig.errors import SqlmigError


def run_json(reporter: LineReporter, result: RunResult | None,
             error: SqlmigError | None = None) -> dict[str, Any]:
    """The run's document: from `result` when it finished, else from what `reporter` saw
    commit (less what --single-transaction or --rollback-on-failure took back)."""
    if result is not None:
        done = [(o.step, o.ms) for o in result.outcomes]
    else:
        gone = set(getattr(error, "rolled_back", [])) | set(getattr(error, "undone", []))
        done = [(s, ms) for s, ms in reporter.finished_steps if s.migration.id not in gone]
    return {
        "ok": error is None,
        "error": str(error) if error is not None else None,
        "summary": result.summary if result is not None else None,
        "migrations": [{"version": step.migration.version, "name": step.migration.name,
                        "direction": step.direction, "ms": ms} for step, ms in done],
        "lock_retries": retries_json(reporter.retries),
    }


def retries_json(retries: Sequence[RetryAttempt]) -> list[dict[str, Any]]:
    return [{
        "migration": r.migration, "file": r.file, "statement": r.statement,
        "attempt": r.attempt, "attempts": r.attempts, "delay_seconds": r.delay,
        "whole_run": r.whole_run, "blockers": [_blocker(b) for b in r.blockers],
    } for r in retries]


def _blocker(blocker: Blocker) -> dict[str, Any]:
    return {"pid": blocker.pid, "application_name": blocker.application_name,
            "state": blocker.state,
            "query_start": blocker.query_start.isoformat() if blocker.query_start else None,
            "state_change": blocker.state_change.isoformat() if blocker.state_change else None,
            "query": blocker.query}
