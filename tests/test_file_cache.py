"""The file cache (core/file_cache.py): a scan does not read an up file whose stat is
unchanged since the scan that cached it, finds exactly what a read would, and never trusts
an entry whose file changed, was written too recently, or a cache it cannot read."""

from __future__ import annotations

import marshal
import os
import time
from pathlib import Path

import pytest

from sqlmig.core import file_cache, files
from sqlmig.core.file_cache import FileCache, location
from sqlmig.errors import MigrationFileError


@pytest.fixture(autouse=True)
def _no_racy_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written in the last RACY_NS (2 s) are never cached; these tests wait out only
    a clock tick (_settle) instead, but test_a_file_written_just_now_is_not_cached."""
    monkeypatch.setattr(file_cache, "RACY_NS", 0)


def _settle() -> None:
    """Past the file clock's tick (a jiffy, at most 10 ms): a later write changes ctime."""
    time.sleep(0.05)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "0001_a.up.sql").write_text("-- sqlmig:no-transaction\nCREATE TABLE a (id int);\n")
    (sql / "0001_a.down.sql").write_text("DROP TABLE a;\n")
    (sql / "0002_b.up.sql").write_text("-- only a comment\n")
    (sql / "0002_b.down.sql").write_text("-- nothing\n")
    (sql / "README.md").write_text("not a migration\n")
    return sql


def _scan(folder: Path) -> files.Scan:
    return files.scan(folder, defer_downs=True, cache=folder.parent / ".sqlmig" / "cache")


def _cache(folder: Path) -> FileCache:
    return FileCache(folder.parent / ".sqlmig" / "cache", folder)


def test_a_second_scan_reads_no_unchanged_up_file_and_finds_the_same(folder: Path) -> None:
    _settle()
    first = _scan(folder)
    assert not first.problems
    second = _scan(folder)
    for before, after in zip(first.migrations, second.migrations, strict=True):
        assert after.up._text is None  # not read
        assert (after.version, after.name, after.digits, after.up.path) == (
            before.version, before.name, before.digits, before.up.path)
        assert after.down is not None and before.down is not None
        assert after.down.path == before.down.path
        assert (after.checksum, dict(after.up.directives), after.no_op) == (
            before.checksum, dict(before.up.directives), before.no_op)
        assert after.up._text is None  # still not read: all three came from the cache
        assert after.up.text == before.up.text  # and read on first use
    assert [m.no_op for m in second.migrations] == [False, True]
    assert (folder.parent / ".sqlmig" / "cache" / ".gitignore").read_text().endswith("*\n")


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(folder: Path) -> None:
    up = folder / "0001_a.up.sql"
    _settle()
    before = _scan(folder).migrations[0].checksum
    mtime = up.stat().st_mtime_ns
    _settle()
    up.write_text(up.read_text().replace("a (id", "b (id"))  # the same size
    os.utime(up, ns=(mtime, mtime))
    _settle()
    after = _scan(folder).migrations[0]
    assert after.up._text is not None  # read again: its ctime changed
    assert after.checksum != before
    assert "CREATE TABLE b" in after.up.text


def test_a_file_written_just_now_is_not_cached(folder: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_cache, "RACY_NS", 2_000_000_000)
    _scan(folder)
    assert _cache(folder).entries == {}  # every file is younger than RACY_NS
    assert _scan(folder).migrations[0].up._text is not None


@pytest.mark.parametrize("content", [b"", b"garbage", b"\x00" * 40])
def test_a_corrupt_cache_is_ignored_and_rewritten(folder: Path, content: bytes) -> None:
    _settle()
    _scan(folder)
    path = location(folder.parent / ".sqlmig" / "cache", folder)
    path.write_bytes(content)
    scan = _scan(folder)
    assert not scan.problems and scan.migrations[0].up._text is not None
    assert set(_cache(folder).entries) == {"0001_a.up.sql", "0002_b.up.sql"}


def test_a_cache_that_cannot_be_written_changes_nothing(folder: Path) -> None:
    (folder.parent / ".sqlmig").write_text("a file where the cache folder would be")
    scan = _scan(folder)
    assert not scan.problems and len(scan.migrations) == 2


def test_unchanged_lists_the_migrations_only_while_a_scan_would_find_the_same(
    folder: Path,
) -> None:
    assert _cache(folder).unchanged() is None  # never scanned
    _settle()
    scan = _scan(folder)
    pairs = (2, file_cache.digest([(m.version, m.checksum) for m in scan.migrations]))
    assert _cache(folder).unchanged() == pairs
    _settle()
    (folder / "0003_c.up.sql").write_text("SELECT 1;\n")
    (folder / "0003_c.down.sql").write_text("SELECT 1;\n")
    assert _cache(folder).unchanged() is None  # a new migration
    for name in ("0003_c.up.sql", "0003_c.down.sql"):
        (folder / name).unlink()
    _settle()
    _scan(folder)
    assert _cache(folder).unchanged() == pairs
    _settle()
    (folder / "0002_b.up.sql").write_text("-- only a comment, edited\n")
    assert _cache(folder).unchanged() is None  # an edited up
    _settle()
    _scan(folder)
    assert _cache(folder).unchanged() is not None
    _settle()
    (folder / "0002_b.down.sql").unlink()
    assert _cache(folder).unchanged() is None  # a down gone: the scan would refuse


def test_unchanged_is_none_after_a_scan_with_a_problem_or_a_folder(folder: Path) -> None:
    (folder / "0003_c.up.sql").write_text("")  # empty: a problem
    _settle()
    assert _scan(folder).problems
    assert _cache(folder).unchanged() is None
    (folder / "0003_c.up.sql").unlink()
    (folder / "0004_d").mkdir()
    _settle()
    assert not _scan(folder).problems
    assert _cache(folder).unchanged() is None  # a folder: a scan looks into it


def test_a_scan_that_reads_the_downs_still_reads_them(folder: Path) -> None:
    _settle()
    assert not _scan(folder).problems
    (folder / "0002_b.down.sql").write_bytes(b"\xff\xfe not utf-8")
    scan = files.scan(folder, cache=folder.parent / ".sqlmig" / "cache")  # downs read
    assert [p.path.name for p in scan.problems] == ["0002_b.down.sql"]


def test_a_file_edited_after_the_scan_is_refused_when_its_text_is_needed(folder: Path) -> None:
    _settle()
    _scan(folder)
    migration = _scan(folder).migrations[0]
    assert migration.up._text is None  # known from the cache, not read
    (folder / "0001_a.up.sql").write_text("CREATE TABLE changed (id int);\n")
    with pytest.raises(MigrationFileError, match=r"0001_a.up.sql: changed while sqlmig was "
                                                 r"running .*; run it again"):
        _ = migration.up.text


def test_one_irreversible_migration_without_a_down_is_kept_as_it_is(tmp_path: Path) -> None:
    """The cache joins names into one string: one migration without a down file is a
    column of one empty name, not an empty column."""
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "0001_only.up.sql").write_text("-- sqlmig:irreversible\nCREATE TABLE a (id int);\n")
    _settle()
    first = _scan(sql)
    assert not first.problems and first.migrations[0].down is None
    assert _cache(sql).unchanged() == (1, file_cache.digest([(1, first.migrations[0].checksum)]))
    second = _scan(sql)
    assert second.migrations[0].up._text is None and second.migrations[0].down is None
    assert _cache(sql).found() == ([1], ["only"], ["0001"], [first.migrations[0].checksum],
                                   [True])


def test_directives_the_cache_cannot_read_mean_a_scan_not_a_failure(folder: Path) -> None:
    _settle()
    first = _scan(folder)
    cache = _cache(folder)
    assert cache.unchanged() is not None
    stored = list(marshal.loads(cache.path.read_bytes()))
    directives_at = 4 + file_cache._Columns._fields.index("directives")
    stored[directives_at] = ["{not json"] * len(stored[directives_at])
    cache.path.write_bytes(marshal.dumps(tuple(stored)))
    again = _scan(folder)
    assert [m.checksum for m in again.migrations] == [m.checksum for m in first.migrations]
    assert dict(again.migrations[0].up.directives) == dict(first.migrations[0].up.directives)
