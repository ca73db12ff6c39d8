"""The pre-run check's memory of clean texts (core/checked.py): a file checked clean once is
not parsed again (pglast is not even imported), a refusal is found again every time, an
edit is checked again, and a cache it cannot read is not used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sqlmig.core import checked
from sqlmig.core.checked import Checked
from tests.conftest import Project


def test_clean_texts_are_remembered_and_nothing_else(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    verdicts = Checked(cache)
    assert not verdicts.clean("SELECT 1;")
    verdicts.add("SELECT 1;")
    verdicts.save()
    again = Checked(cache)
    assert again.clean("SELECT 1;") and not again.clean("SELECT 2;")
    assert (cache / ".gitignore").read_text().endswith("*\n")


def test_a_cache_it_cannot_read_or_of_another_parser_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    verdicts = Checked(cache)
    verdicts.add("SELECT 1;")
    verdicts.save()
    (cache / checked.NAME).write_bytes(b"\x00not marshal")
    assert not Checked(cache).clean("SELECT 1;")
    verdicts.added = True
    verdicts.save()
    assert Checked(cache).clean("SELECT 1;")
    monkeypatch.setattr(checked, "_parser", lambda: "another pglast")
    assert not Checked(cache).clean("SELECT 1;")
    assert not Checked(None).clean("SELECT 1;")


def _rollback(project: Project) -> tuple[subprocess.CompletedProcess[str], bool]:
    """`sqlmig rollback --all` as its own process; and whether it imported pglast."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sqlmig", "rollback",
                           "--all"], text=True, capture_output=True, cwd=project.root,
                          timeout=120)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    return done, "pglast" in imported


def test_a_second_run_does_not_parse_what_the_first_found_clean(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    project.run("migrate")
    first, parsed = _rollback(project)
    assert first.returncode == 0 and parsed  # the downs were parsed once
    project.run("migrate")
    second, parsed = _rollback(project)
    assert second.returncode == 0 and not parsed
    assert "rolled back 2 migrations" in second.stdout
    # an edit is a new text: checked again, and refused with its line, every time
    project.write("0002_b.down.sql", "DROP TABLE b;\nCOMMIT;\n")
    project.run("migrate")
    for _ in range(2):
        refused, parsed = _rollback(project)
        assert refused.returncode != 0 and parsed
        assert "sql/0002_b.down.sql:2: COMMIT inside a transactional migration" in refused.stderr
        assert [row[0] for row in project.history()] == [1, 2]
