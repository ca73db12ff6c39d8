"""The status table's lines as commands/quick.py builds them from columns (core/status.py),
without a database: a healthy history a column at a time reads as the row-by-row merge."""

from __future__ import annotations

from typing import Any

from sqlmig.core.states import State
from sqlmig.core.status import Found, Recorded, columns, healthy_columns, table_lines

FOUND = Found([1, 2, 30], ["a", "noop", "c d"], ["001", "002", ""], ["x1", "x2", "x3"],
              [True, False, True])


def _recorded(**changes: Any) -> Recorded:
    columns = {"versions": [1, 2, 30], "checksums": ["x1", "x2", "x3"],
               "batches": ["1", "1", "2"], "execution_ms": ["5", "", "0"],
               "applied_at": ["1700000000", "1700000000", "1700000100"],
               "states": ["applied"] * 3, "baselines": ["f"] * 3, "adopted": [""] * 3,
               "names": ["a", "noop", "c d"]}
    return Recorded(**{**columns, **changes})


def test_a_healthy_history_a_column_at_a_time_reads_as_row_by_row() -> None:
    times = ["1700000000", "5", "1", "1700000000", "", "1", "1700000100", "0", "2"]
    table = healthy_columns(FOUND, times)
    assert table == columns(table_lines(FOUND, _recorded()))
    assert table is not None and list(zip(*table, strict=True)) == [
        ("001", "a", State.APPLIED, "", "1700000000", "5", "1"),
        ("002", "noop", State.APPLIED, "no-op", "1700000000", "", "1"),
        ("0030", "c d", State.APPLIED, "", "1700000100", "0", "2")]
    assert healthy_columns(FOUND, times[:-1]) is None  # not three values a migration


def test_the_row_by_row_merge_finds_every_state_and_mark() -> None:
    recorded = _recorded(versions=[1, 2, 40], checksums=["x1", "changed", "x4"],
                         states=["failed", "applied", "applied"], baselines=["t", "f", "f"],
                         adopted=["", "+dbmate", ""], names=["a", "noop", "gone"])
    states = [(line[0], line[2], line[3]) for line in table_lines(FOUND, recorded)]
    assert states == [("001", State.FAILED, "baseline"),
                      ("002", State.CHANGED, "adopted from dbmate, no-op"),
                      ("0030", State.PENDING, ""), ("0040", State.MISSING, "")]
