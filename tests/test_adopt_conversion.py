"""The pure half of `adopt`: reading other tools' folders into planned sqlmig pairs, Flyway's
checksum and version order, reading Flyway's history, editing sqlmig.toml. No database."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sqlmig.core import adoption
from sqlmig.core.adoption import AdoptionError, flyway

WRAPPED = "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n"


def test_flyways_checksum_is_crc32_of_the_lines_as_a_java_int() -> None:
    # CRC32("123456789") = 0xCBF43926, the standard check value; above 2**31, so negative
    assert flyway.checksum(b"1234\r\n56789\n") == 0xCBF43926 - 2**32
    assert flyway.checksum(b"\xef\xbb\xbf1234\n56789") == 0xCBF43926 - 2**32
    assert flyway.checksum(b"1234\r56789\r\n") == 0xCBF43926 - 2**32
    assert flyway.checksum(b"abc\n") == 0x352441C2  # below 2**31: as it is
    assert flyway.checksum(b"") == 0


def test_flyway_versions_compare_as_numbers_part_by_part() -> None:
    keys = ["1.10", "2", "1.2", "1", "1.1"]
    assert sorted(keys, key=flyway.order) == ["1", "1.1", "1.2", "1.10", "2"]
    assert flyway.version_key("1_1") == flyway.version_key("1.1.0") == "1.1"
    assert flyway.version_key("001") == "1"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def row(rank: int, version: str | None, kind: str = "SQL", checksum: int | None = None,
        success: bool = True) -> flyway.HistoryRow:
    return flyway.HistoryRow(rank, version, kind, f"V{version}__x.sql", checksum,
                             datetime(2021, 1, rank, tzinfo=UTC), 3, success)


def test_flyway_history_reads_baseline_undo_and_repeatable_rows_as_flyway_does(
    tmp_path: Path,
) -> None:
    folder = write(tmp_path, {"V1__a.sql": "SELECT 1;\n", "V2__b.sql": "SELECT 2;\n",
                              "V3__c.sql": "SELECT 3;\n", "U3__c.sql": "SELECT 3;\n",
                              "V4__d.sql": "SELECT 4;\n"})
    conversion = adoption.convert("flyway", folder, tmp_path / "sql")
    rows = [row(1, "2", "BASELINE"), row(2, "3"), row(3, None), row(4, "3", "UNDO_SQL"),
            row(5, "4", checksum=flyway.checksum(b"SELECT 4;\n"))]
    applied = flyway.applied(rows, conversion)
    assert [(r.key, r.applied_at.day if r.applied_at else None) for r in applied] == [
        ("1", 1), ("2", 1), ("4", 5)]


def test_golang_migrate_files_keep_their_versions_and_get_directives_where_needed(
    tmp_path: Path,
) -> None:
    folder = write(tmp_path / "migrations", {
        "1_wrapped.up.sql": WRAPPED, "1_wrapped.down.sql": "DROP TABLE t;\n",
        "2_two_transactions.up.sql": WRAPPED + WRAPPED.replace(" t ", " u "),
        "2_two_transactions.down.sql": "",
        "03_no_down.up.sql": "VACUUM;\n",
    })
    conversion = adoption.convert("golang-migrate", folder, tmp_path / "sql")
    one, two, three = conversion.migrations
    assert (one.stem, one.up, one.key) == ("1_wrapped", WRAPPED, "1")
    assert two.up.startswith("-- sqlmig:no-transaction\n")
    assert two.down is not None and two.down.startswith("-- empty in the original")
    assert (three.stem, three.down) == ("03_no_down", None)
    assert three.up.splitlines()[:2] == ["-- sqlmig:irreversible", "-- sqlmig:no-transaction"]


@pytest.mark.parametrize(("tool", "files", "message"), [
    ("dbmate", {"1_x.sql": "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n"},
     "more than one `-- migrate:up` section"),
    ("diesel", {"first_x/up.sql": "SELECT 1;\n"}, "the version 'first' is not a number"),
    ("diesel", {"1_x/up.sql": "SELECT 1;\n", "1_x/metadata.toml": "run_in_transaction = "},
     "metadata.toml: not valid TOML"),
    ("golang-migrate", {"1_x.down.sql": "SELECT 1;\n"}, "a down file with no up file"),
    ("golang-migrate", {"1_x.up.sql": "SELECT 1;\n", "01_y.up.sql": "SELECT 1;\n"},
     "version 1 is also"),
    ("flyway", {"README.md": "notes\n"}, "found no migration to adopt"),
    ("flyway", {"V1__x.sql": "\\set ON_ERROR_STOP 1\nSELECT 1;\n"},
     "V1__x.sql: sqlmig could not run it as 1_x.up.sql: 1_x.up.sql:2: psql meta-command"),
    ("golang-migrate", {"1_x.up.sql": "SELECT 1;\n", "1_x.down.sql": "DROP TABLE;\n"},
     "1_x.up.sql: sqlmig could not run it as 1_x.down.sql: 1_x.down.sql:1:11: syntax error"),
    ("liquibase", {}, "--from: unknown tool 'liquibase'"),
])
def test_a_folder_that_cannot_be_converted_is_refused_naming_the_file(
    tmp_path: Path, tool: str, files: dict[str, str], message: str,
) -> None:
    folder = write(tmp_path / "from", files) if files else tmp_path
    with pytest.raises(AdoptionError, match=re.escape(message)):
        adoption.convert(tool, folder, tmp_path / "sql")


def test_sourcegraph_folders_take_their_name_from_metadata_yaml(tmp_path: Path) -> None:
    folder = write(tmp_path / "migrations", {
        "1528395834/up.sql": "SELECT 1;\n", "1528395834/down.sql": "SELECT 1;\n",
        "1528395834/metadata.yaml": "name: 'add users table'\nparents: []\n",
    })
    [migration] = adoption.convert("diesel", folder, tmp_path / "sql").migrations
    assert migration.stem == "1528395834_add_users_table"


def test_the_table_setting_replaces_one_at_the_top_level_and_keeps_everything_else() -> None:
    text = '# ours\ntable = "schema_migrations"\n\n[production]\ntable = "other"\n'
    assert adoption.with_table(text, "sqlmig_migrations") == (
        '# ours\ntable = "sqlmig_migrations"\n\n[production]\ntable = "other"\n')
    assert adoption.with_table('[test]\ntable = "x"\n', "sqlmig_migrations") == (
        'table = "sqlmig_migrations"\n[test]\ntable = "x"\n')
    assert adoption.with_table(None, "sqlmig_migrations") == 'table = "sqlmig_migrations"\n'
    assert adoption.with_table('[project]\nname = "a"\n', "s", "[tool.sqlmig]") == (
        '[project]\nname = "a"\n\n[tool.sqlmig]\ntable = "s"\n')
