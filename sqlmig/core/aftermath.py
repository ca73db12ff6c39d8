"""What a run that stopped early left behind, in words a person can act on: a no-transaction
file cut off halfway, INVALID indexes, and migrations reported done whose commits a server
crash may have lost. Pure: the engine finds the facts and calls these.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlmig.core.plan import ROLLBACK_FAILED, Step
from sqlmig.errors import Interrupted, MigrationFailed, display_path, invalid_index_advice


def failed_verb(step: Step) -> str:
    """How a failed step is recorded in the history: its rollback failed, or it did."""
    return ROLLBACK_FAILED if step.direction == "down" else "migration failed"


def stopped(step: Step, failure: MigrationFailed | Interrupted, index: int, of: str,
            line: int) -> tuple[str, MigrationFailed | Interrupted]:
    """A no-transaction file stopped at statement `index` (`of`: " of N" where N is known),
    which starts at `line`: the error to record in its history row, and the failure to raise,
    saying what the database holds now (the statements before it stay; nothing is rolled
    back) and what to do."""
    file, migration = step.file, step.migration
    where = f"statement {index}{of} (line {line})"
    recorded = f"{failed_verb(step)} at {where}: {failure}"
    word = "applied" if step.direction == "up" else "done"
    before = ("nothing before it ran" if index == 1 else f"statement 1 stays {word}"
              if index == 2 else f"statements 1-{index - 1} stay {word}")
    if isinstance(failure, Interrupted):  # send's "rolled back" is not true of this file
        failure = Interrupted(
            f"{display_path(file.path)}: interrupted at {where}; it runs outside a "
            f"transaction, so it was not rolled back: {before}, the interrupted statement's "
            "own work is undone (but an interrupted CREATE INDEX CONCURRENTLY leaves its index "
            "INVALID) and the rest did not run"
        )
    if step.direction == "down":
        failure.add_note(
            f"{file.path.name} runs outside a transaction: {before}, and {migration.id} is "
            "recorded as failed. Finish the down by hand and run `sqlmig repair`, or run "
            "`sqlmig repair` (it becomes applied again) and roll it back again."
        )
    elif index > 1:
        failure.add_note(
            f"{file.path.name} runs outside a transaction: {before}. It is recorded as "
            "failed; fix the database by hand, then run `sqlmig repair`."
        )
    else:
        failure.add_note(
            f"{file.path.name} is recorded as failed; fix the cause, then run `sqlmig repair` "
            "and migrate again."
        )
    return recorded, failure


def invalid_note(invalid: Sequence[tuple[str, str]]) -> str:
    """The INVALID indexes there are now, each (name, table), and how to drop them."""
    return "\n".join([
        "INVALID now: " + ", ".join(f"{name} (on {table})" for name, table in invalid),
        *invalid_index_advice([name for name, _ in invalid]),
    ])


def loss_note(reported: Sequence[Step], applied: Collection[int]) -> str:
    """Which steps reported done the history (its `applied` versions, read after
    reconnecting) still has, and which were lost with commits that had not reached the disk.
    A version's last step is the one that counts."""
    last = {step.migration.version: step for step in reported}
    survived: list[str] = []
    lost: list[str] = []
    for version, step in last.items():
        done = (version in applied) == (step.direction == "up")
        (survived if done else lost).append(step.migration.id)
    if not lost:
        return (f"reconnected: the history has every migration reported done "
                f"({', '.join(survived)}); nothing reported was lost")
    kept = f"has {', '.join(survived)} (survived), but " if survived else ""
    return (
        f"reconnected: the history {kept}does NOT have {', '.join(lost)}: reported done, but "
        "lost (their commits had not reached the disk when the server stopped); run the "
        "command again"
    )


def unconfirmed_note(reported: Sequence[str], unconfirmed: Collection[str], reason: str) -> str:
    """The history could not be read again (`reason`): which of the migrations reported done
    committed without waiting for the disk (`unconfirmed`), so a crash may have lost them."""
    doubtful = [m for m in reported if m in unconfirmed]
    sure = [m for m in reported if m not in doubtful]
    text = f"could not reconnect to check the history ({reason}). "
    if doubtful:
        text += (f"{', '.join(doubtful)} {'was' if len(doubtful) == 1 else 'were'} reported "
                 "done but committed without waiting for the disk: if the server crashed, "
                 f"{'it' if len(doubtful) == 1 else 'they'} may not have survived. ")
    if sure:
        text += f"{', '.join(sure)} reached the disk. "
    return text + "Run `sqlmig status` once the server is back."
