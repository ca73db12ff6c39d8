"""Migration files on disk, no database: names, pairing, directives, encodings and checksums.

Every bad file must give one error that names the file (and the line, where there is one).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlmig.core import sqlfile
from sqlmig.core.directives import parse_directives
from sqlmig.core.files import FILE_NAME, discover, scan
from sqlmig.core.plan import Step
from sqlmig.core.sqlfile import checksum, has_sql, normalise, read_sql_file
from sqlmig.errors import MigrationFileError

UP = "CREATE TABLE users (id int);\n"
DOWN = "DROP TABLE users;\n"


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def pair(directory: Path, stem: str, up: str | bytes = UP, down: str | bytes = DOWN) -> None:
    write(directory, f"{stem}.up.sql", up)
    write(directory, f"{stem}.down.sql", down)


def only_problem(directory: Path) -> MigrationFileError:
    """The single problem `scan` finds; `discover` must raise that same one."""
    result = scan(directory)
    assert len(result.problems) == 1, [str(p) for p in result.problems]
    with pytest.raises(MigrationFileError) as raised:
        discover(directory)
    assert str(raised.value) == str(result.problems[0])
    return result.problems[0]


# --- discovering pairs ---------------------------------------------------------------------


def test_a_pair_becomes_one_migration_with_both_texts(tmp_path: Path) -> None:
    pair(tmp_path, "0001_create_users")
    [migration] = discover(tmp_path)
    assert (migration.version, migration.name, migration.id) == (1, "create_users",
                                                                  "0001_create_users")
    assert migration.up.text == UP
    assert migration.down is not None and migration.down.text == DOWN
    assert migration.up.path == tmp_path / "0001_create_users.up.sql"


def test_versions_of_any_width_are_sorted_as_integers(tmp_path: Path) -> None:
    for stem in ("00010_ten", "0009_nine", "100000_big", "0002_two"):
        pair(tmp_path, stem)
    assert [m.version for m in discover(tmp_path)] == [2, 9, 10, 100000]


def test_versions_of_any_width_sort_as_integers_and_show_as_their_files_write_them(
    tmp_path: Path,
) -> None:
    for stem in ("00007_seven", "12345_wide", "3_three", "010_ten", "20240101120000_stamp",
                 "0000000000000042_diesel"):
        pair(tmp_path, stem)
    found = discover(tmp_path)
    assert [m.version for m in found] == [3, 7, 10, 42, 12345, 20240101120000]
    assert [m.id for m in found] == ["3_three", "00007_seven", "010_ten",
                                     "0000000000000042_diesel", "12345_wide",
                                     "20240101120000_stamp"]


def test_one_version_written_at_two_widths_is_a_duplicate_naming_both(tmp_path: Path) -> None:
    pair(tmp_path, "001_a")
    pair(tmp_path, "0001_b")
    problem = only_problem(tmp_path)
    assert "duplicate version 1" in str(problem)
    assert problem.path.name == "0001_b.up.sql" and "also used by 001_a.up.sql" in str(problem)


def test_non_sql_files_dot_files_and_directories_are_ignored(tmp_path: Path) -> None:
    pair(tmp_path, "0001_create_users")
    write(tmp_path, "README.md", "# notes")
    write(tmp_path, "0002_backup.up.sql.bak", "not sql")
    write(tmp_path, ".0003_hidden.up.sql", "SELECT 1;")
    write(tmp_path, ".DS_Store", b"\x00\xff")
    (tmp_path / "archive").mkdir()
    result = scan(tmp_path)
    assert result.problems == []
    assert [m.id for m in result.migrations] == ["0001_create_users"]


def test_a_directory_named_like_a_migration_is_an_error_naming_it(tmp_path: Path) -> None:
    pair(tmp_path, "0001_create_users")
    (tmp_path / "0002_folder.up.sql").mkdir()
    problem = only_problem(tmp_path)
    assert str(problem) == f"{tmp_path}/0002_folder.up.sql: is a directory, not a migration file"


def test_a_symbolic_link_to_a_missing_file_is_an_error_naming_link_and_target(
    tmp_path: Path,
) -> None:
    (tmp_path / "0001_gone.up.sql").symlink_to("elsewhere/0001_gone.up.sql")
    (tmp_path / "0001_gone.down.sql").symlink_to("elsewhere/0001_gone.down.sql")
    problems = [str(p) for p in scan(tmp_path).problems]
    assert problems == [
        f"{tmp_path}/0001_gone.down.sql: is a symbolic link to elsewhere/0001_gone.down.sql, "
        "which does not exist",
        f"{tmp_path}/0001_gone.up.sql: is a symbolic link to elsewhere/0001_gone.up.sql, "
        "which does not exist",
    ]
    with pytest.raises(MigrationFileError, match=r"0001_gone\.down\.sql: is a symbolic link"):
        discover(tmp_path)


def test_a_symbolic_link_loop_is_an_error_naming_the_link(tmp_path: Path) -> None:
    (tmp_path / "0001_loop.up.sql").symlink_to("0001_loop.up.sql")
    write(tmp_path, "0001_loop.down.sql", DOWN)
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0001_loop.up.sql"
    assert "is a symbolic link that cannot be followed: Too many levels of symbolic links" in (
        str(problem))


def test_a_symbolic_link_to_a_migration_file_is_read_through(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    pair(tmp_path / "shared", "0001_create_users")
    for direction in ("up", "down"):
        (tmp_path / f"0001_create_users.{direction}.sql").symlink_to(
            f"shared/0001_create_users.{direction}.sql")
    [migration] = discover(tmp_path)
    assert migration.up.text == UP


@pytest.mark.parametrize("extension", ["SQL", "Sql"])
def test_an_extension_in_another_case_is_an_error_saying_how_to_rename(
    tmp_path: Path, extension: str
) -> None:
    pair(tmp_path, "0001_create_users")
    write(tmp_path, f"0002_a.up.{extension}", UP)
    write(tmp_path, "0002_a.down.sql", DOWN)  # not also reported as a down without its up
    problem = only_problem(tmp_path)
    assert str(problem) == (f"{tmp_path}/0002_a.up.{extension}: extension must be lower-case "
                            ".sql: rename it to 0002_a.up.sql")


def test_a_file_that_cannot_be_read_is_an_error_naming_it(tmp_path: Path) -> None:
    # as root nothing is unreadable by its mode; reading a directory fails the same way
    with pytest.raises(MigrationFileError) as raised:
        read_sql_file(tmp_path)
    assert str(raised.value) == f"{tmp_path}: cannot be read: Is a directory"


def test_a_version_above_the_bigint_range_is_an_error_before_anything_runs(
    tmp_path: Path,
) -> None:
    pair(tmp_path, "9223372036854775807_last")
    pair(tmp_path, "9223372036854775808_beyond")
    problems = [str(p) for p in scan(tmp_path).problems]
    assert problems == [
        f"{tmp_path}/9223372036854775808_beyond.{d}.sql: version 9223372036854775808 is too "
        "big: versions are stored as bigint (at most 9223372036854775807)"
        for d in ("down", "up")
    ]
    assert [m.version for m in scan(tmp_path).migrations] == [9223372036854775807]


def test_an_empty_directory_has_no_migrations(tmp_path: Path) -> None:
    assert discover(tmp_path) == []


def test_a_missing_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "sql"
    problem = only_problem(missing)
    assert problem.path == missing
    assert "migrations directory does not exist" in str(problem)


# --- bad names and pairing -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "0001-dash.up.sql",
        "0001.up.sql",
        "0001_no_direction.sql",
        "0001_sideways.left.sql",
        "v0001_prefix.up.sql",
        "_0001_prefix.up.sql",
    ],
)
def test_a_name_not_matching_the_pattern_is_an_error_naming_the_file(
    tmp_path: Path, name: str
) -> None:
    write(tmp_path, name, "SELECT 1;")
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / name
    assert name in str(problem)
    assert "does not match VERSION_name.up.sql" in str(problem)


@pytest.mark.parametrize(
    "stem", ["001_three_digits", "0001_CamelCase", "0001_name-with-dash", "0001_v1.2.3_dots",
             "1_AddUsers", "20240101120000_Create-Orders.Table"],
)
def test_names_golang_migrate_accepts_are_accepted(tmp_path: Path, stem: str) -> None:
    pair(tmp_path, stem)
    [migration] = discover(tmp_path)
    assert migration.id == stem


def test_every_misnamed_file_is_named_at_once(tmp_path: Path) -> None:
    for name in ("0001-a.up.sql", "0002.up.sql", "v3_c.up.sql"):
        write(tmp_path, name, "SELECT 1;")
    pair(tmp_path, "0004_fine")
    result = scan(tmp_path)
    assert sorted(p.path.name for p in result.problems) == ["0001-a.up.sql", "0002.up.sql",
                                                           "v3_c.up.sql"]
    assert [m.id for m in result.migrations] == ["0004_fine"]


def test_two_ups_with_the_same_version_are_a_duplicate_naming_both_files(tmp_path: Path) -> None:
    pair(tmp_path, "0003_add_email")
    pair(tmp_path, "0003_add_phone")
    problem = only_problem(tmp_path)
    assert "duplicate version 3" in str(problem)
    assert "0003_add_email.up.sql" in str(problem)
    assert "0003_add_phone.up.sql" in str(problem)


def test_versions_are_compared_as_integers_so_0001_and_00001_collide(tmp_path: Path) -> None:
    pair(tmp_path, "0001_a")
    pair(tmp_path, "00001_b")
    problem = only_problem(tmp_path)
    assert "duplicate version 1" in str(problem)
    assert "0001_a.up.sql" in str(problem)
    assert "00001_b.up.sql" in str(problem)


def test_an_up_without_a_down_is_an_error_naming_the_missing_file(tmp_path: Path) -> None:
    write(tmp_path, "0002_create_posts.up.sql", UP)
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0002_create_posts.up.sql"
    assert "has no down file: create 0002_create_posts.down.sql" in str(problem)
    assert "sqlmig:irreversible" in str(problem)


def test_an_irreversible_up_needs_no_down(tmp_path: Path) -> None:
    write(tmp_path, "0002_drop_legacy.up.sql", "-- sqlmig:irreversible\nDROP TABLE legacy;\n")
    [migration] = discover(tmp_path)
    assert migration.irreversible
    assert migration.down is None


def test_an_irreversible_up_with_a_down_file_is_an_error(tmp_path: Path) -> None:
    pair(tmp_path, "0002_drop_legacy", up="-- sqlmig:irreversible\nDROP TABLE legacy;\n")
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0002_drop_legacy.up.sql"
    assert "marked sqlmig:irreversible but 0002_drop_legacy.down.sql exists" in str(problem)


def test_a_down_without_an_up_is_an_error_naming_the_down_file(tmp_path: Path) -> None:
    write(tmp_path, "0004_orphan.down.sql", DOWN)
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0004_orphan.down.sql"
    assert "down file has no matching up file" in str(problem)


def test_a_down_whose_name_differs_from_its_up_names_the_up_of_that_version(
    tmp_path: Path,
) -> None:
    write(tmp_path, "0004_add_index.up.sql", "-- sqlmig:irreversible\nSELECT 1;\n")
    write(tmp_path, "0004_add_idx.down.sql", DOWN)
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0004_add_idx.down.sql"
    assert "(version 4 is 0004_add_index.up.sql)" in str(problem)


@pytest.mark.parametrize("text", ["", "\n\n   \n"], ids=["empty", "whitespace"])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_an_empty_file_is_an_error_naming_it_in_either_direction(
    tmp_path: Path, text: str, direction: str
) -> None:
    pair(tmp_path, "0001_nothing", **{direction: text})
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / f"0001_nothing.{direction}.sql"
    assert f"{direction} file is empty" in str(problem)


@pytest.mark.parametrize(
    "text",
    ["-- TODO: write this\n\n-- later\n", "-- sqlmig:no-transaction\n-- moved to the app\n",
     "/* moved to the app\n   long ago; /* nested */ */\n-- and a line\n"],
    ids=["comments", "directive", "block-comments"],
)
def test_an_up_file_of_comments_only_is_a_deliberate_no_op(tmp_path: Path, text: str) -> None:
    pair(tmp_path, "0001_nothing", up=text)
    pair(tmp_path, "0002_something")
    first, second = discover(tmp_path)
    assert first.no_op and first.up.text == text
    assert not second.no_op


def test_sql_after_block_comments_is_sql(tmp_path: Path) -> None:
    pair(tmp_path, "0001_after", up="/* header */\n-- note\nSELECT 1;\n")
    assert [m.id for m in discover(tmp_path)] == ["0001_after"]


def test_a_down_file_may_be_only_comments(tmp_path: Path) -> None:
    pair(tmp_path, "0001_create_users", down="-- nothing to undo\n")
    [migration] = discover(tmp_path)
    assert migration.down is not None and not has_sql(migration.down.text)


@pytest.mark.parametrize("text", [b"", b"\n  \n\t", b"\xef\xbb\xbf\r\n"],
                         ids=["0-byte", "whitespace", "BOM-and-CRLF"])
@pytest.mark.parametrize("deferred", [False, True])
def test_an_empty_down_file_is_an_error_asking_for_a_comment(
    tmp_path: Path, text: bytes, deferred: bool
) -> None:
    pair(tmp_path, "0001_create_users", down=text)
    if deferred:  # read on first use, as by rollback
        [migration] = discover(tmp_path, defer_downs=True)
        assert migration.down is not None
        with pytest.raises(MigrationFileError) as raised:
            migration.down.text  # noqa: B018
        problem = raised.value
    else:
        problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0001_create_users.down.sql"
    assert "down file is empty" in str(problem)
    assert "a comment saying so (e.g. `-- nothing to undo`)" in str(problem)


def test_scan_collects_every_problem_sorted_by_path_and_keeps_the_good_migrations(
    tmp_path: Path,
) -> None:
    pair(tmp_path, "0001_good")
    write(tmp_path, "0002_lonely.up.sql", UP)
    write(tmp_path, "0003_orphan.down.sql", DOWN)
    write(tmp_path, "Bad.up.sql", UP)
    result = scan(tmp_path)
    assert [m.id for m in result.migrations] == ["0001_good"]
    assert [p.path.name for p in result.problems] == [
        "0002_lonely.up.sql", "0003_orphan.down.sql", "Bad.up.sql",
    ]
    with pytest.raises(MigrationFileError, match=r"0002_lonely\.up\.sql"):
        discover(tmp_path)


# --- encodings and checksums ---------------------------------------------------------------


def test_non_utf8_bytes_are_an_error_naming_the_file_and_line(tmp_path: Path) -> None:
    pair(tmp_path, "0001_latin1", up="SELECT 1;\n-- caf\xe9\n".encode("latin-1"))
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0001_latin1.up.sql"
    assert problem.line == 2
    assert "0001_latin1.up.sql:2: is not valid UTF-8 (byte 0xe9)" in str(problem)


def test_non_utf8_bytes_in_a_down_file_name_the_down_file(tmp_path: Path) -> None:
    pair(tmp_path, "0001_latin1", down=b"\n\n\nDROP TABLE caf\xe9;\n")
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0001_latin1.down.sql"
    assert problem.line == 4


@pytest.mark.parametrize(
    ("codec", "encoding"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32"),
     ("utf-32-be", "UTF-32")],
)
def test_a_utf16_or_utf32_file_is_named_as_such_with_how_to_convert_it(
    tmp_path: Path, codec: str, encoding: str
) -> None:
    raw = UP.encode(codec)
    if not codec.endswith("-be"):
        assert raw[:2] == b"\xff\xfe"  # Python's utf-16/utf-32 write a little-endian BOM
    else:
        raw = ("\ufeff" + UP).encode(codec)
    pair(tmp_path, "0001_wide", up=raw)
    problem = only_problem(tmp_path)
    shown = f"{tmp_path}/0001_wide.up.sql"
    assert str(problem) == (
        f"{shown}: is {encoding} (it starts with a {encoding} byte order mark), not UTF-8; "
        f"convert it: iconv -f {encoding} -t UTF-8 {shown} > {shown}.utf8 && "
        f"mv {shown}.utf8 {shown}"
    )


@pytest.mark.parametrize("big", [False, True])
def test_a_nul_byte_is_an_error_naming_the_file_and_line(tmp_path: Path, big: bool) -> None:
    padding = b"-- padding\n" * (sqlfile.BIG_FILE // 10 if big else 1)
    pair(tmp_path, "0001_nul", up=padding + b"SELECT 1;\nSELECT 'a\x00b';\n")
    problem = only_problem(tmp_path)
    assert problem.line == padding.count(b"\n") + 2
    assert "contains a NUL byte (0x00), which PostgreSQL cannot take in SQL text" in str(problem)


def test_a_utf8_bom_is_stripped(tmp_path: Path) -> None:
    pair(tmp_path, "0001_bom", up="\ufeff" + UP)
    [migration] = discover(tmp_path)
    assert migration.up.text == UP
    assert migration.checksum == checksum(UP)


def test_a_bom_does_not_hide_a_directive_on_the_first_line(tmp_path: Path) -> None:
    write(tmp_path, "0001_bom.up.sql", "\ufeff-- sqlmig:irreversible\nDROP TABLE legacy;\n")
    [migration] = discover(tmp_path)
    assert migration.irreversible


def test_crlf_files_are_normalised_and_checksum_like_their_lf_version(tmp_path: Path) -> None:
    lf = "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n"
    (tmp_path / "lf").mkdir()
    (tmp_path / "crlf").mkdir()
    pair(tmp_path / "lf", "0001_index", up=lf)
    pair(tmp_path / "crlf", "0001_index", up=lf.replace("\n", "\r\n").encode())
    [with_lf] = discover(tmp_path / "lf")
    [with_crlf] = discover(tmp_path / "crlf")
    assert with_crlf.up.text == lf
    assert Step(with_crlf, "up").transactional is False
    assert with_crlf.checksum == with_lf.checksum


def test_checksum_is_the_sha256_hex_of_the_utf8_text() -> None:
    assert checksum("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert checksum("SELECT 'é';") != checksum("SELECT 'e';")


def test_any_edit_changes_the_checksum(tmp_path: Path) -> None:
    pair(tmp_path, "0001_create_users")
    before = discover(tmp_path)[0].checksum
    write(tmp_path, "0001_create_users.up.sql", UP.replace("int", "bigint"))
    assert discover(tmp_path)[0].checksum != before


def test_checksum_covers_the_up_file_only(tmp_path: Path) -> None:
    pair(tmp_path, "0001_create_users")
    before = discover(tmp_path)[0].checksum
    write(tmp_path, "0001_create_users.down.sql", "DROP TABLE IF EXISTS users;\n")
    assert discover(tmp_path)[0].checksum == before


def test_normalise_keeps_non_ascii_text_and_lone_carriage_returns() -> None:
    raw = "\ufeffSELECT 'naïve 🐘';\r\nSELECT 'a\rb';\r\n".encode()
    assert normalise(raw, Path("x.sql")) == "SELECT 'naïve 🐘';\nSELECT 'a\rb';\n"


def test_normalise_counts_the_line_of_an_invalid_byte_from_one() -> None:
    with pytest.raises(MigrationFileError) as raised:
        normalise(b"\xffSELECT 1;", Path("0001_x.up.sql"))
    assert raised.value.line == 1
    assert "0001_x.up.sql:1:" in str(raised.value)


# --- directives ----------------------------------------------------------------------------


def test_header_directives_are_read_before_the_first_statement() -> None:
    text = (
        "-- A comment explaining the migration\n"
        "\n"
        "-- sqlmig:no-transaction\n"
        "--sqlmig:lock-timeout 5s\n"
        "-- sqlmig:statement-timeout   10min  \n"
        "CREATE INDEX CONCURRENTLY i ON t (a);\n"
    )
    assert parse_directives(text, Path("f.sql")) == {
        "no-transaction": "",
        "lock-timeout": "5s",
        "statement-timeout": "10min",
    }


def test_a_directive_after_the_first_statement_is_only_a_comment() -> None:
    text = "SELECT 1;\n-- sqlmig:no-transaction\n-- sqlmig:nonsense\n"
    assert parse_directives(text, Path("f.sql")) == {}


def test_an_unknown_directive_is_an_error_naming_file_line_and_the_known_ones(
    tmp_path: Path,
) -> None:
    pair(tmp_path, "0001_typo", up="-- intro\n-- sqlmig:no-transactions\nSELECT 1;\n")
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0001_typo.up.sql"
    assert problem.line == 2
    assert "0001_typo.up.sql:2: unknown directive 'sqlmig:no-transactions'" in str(problem)
    assert "sqlmig:no-transaction," in str(problem)


@pytest.mark.parametrize(
    "line", ["-- sqlmig:No-Transaction", "-- sqlmig:no_transaction", "-- sqlmig:Irreversible"]
)
def test_a_misspelt_directive_in_another_case_or_with_underscores_is_an_error(
    line: str,
) -> None:
    typo = line.removeprefix("-- ")
    with pytest.raises(MigrationFileError, match=f"f.sql:1: unknown directive '{typo}'"):
        parse_directives(f"{line}\nSELECT 1;\n", Path("f.sql"))


def test_an_unknown_directive_in_a_down_file_names_the_down_file(tmp_path: Path) -> None:
    pair(tmp_path, "0001_typo", down="-- sqlmig:irreversable\nSELECT 1;\n")
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0001_typo.down.sql"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-- sqlmig:irreversible yes", "sqlmig:irreversible takes no arguments, got 'yes'"),
        ("-- sqlmig:no-transaction please", "sqlmig:no-transaction takes no arguments"),
        ("-- sqlmig:requires", "sqlmig:requires needs one or more versions"),
        ("-- sqlmig:requires users", "sqlmig:requires needs one or more versions"),
        ("-- sqlmig:lock-timeout soon", "sqlmig:lock-timeout needs a duration like 5s"),
        ("-- sqlmig:statement-timeout", "sqlmig:statement-timeout needs a duration"),
    ],
)
def test_a_directive_with_bad_arguments_is_an_error_naming_the_line(
    line: str, message: str
) -> None:
    with pytest.raises(MigrationFileError) as raised:
        parse_directives(f"-- header\n{line}\nSELECT 1;\n", Path("0001_x.up.sql"))
    assert raised.value.line == 2
    assert str(raised.value).startswith("0001_x.up.sql:2: ")
    assert message in str(raised.value)


def test_requires_accepts_several_versions_over_several_lines(tmp_path: Path) -> None:
    for stem in ("0001_a", "0002_b", "0003_c"):
        pair(tmp_path, stem)
    pair(tmp_path, "0004_d", up="-- sqlmig:requires 0001, 0002\n-- sqlmig:requires 3\nSELECT 1;")
    assert discover(tmp_path)[-1].requires == (1, 2, 3)


def test_requiring_a_version_no_migration_has_is_an_error(tmp_path: Path) -> None:
    pair(tmp_path, "0001_a")
    pair(tmp_path, "0003_c", up="-- sqlmig:requires 0002\nSELECT 1;\n")
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0003_c.up.sql"
    assert "sqlmig:requires 0002: no migration has that version" in str(problem)


@pytest.mark.parametrize("required", ["0002", "0003"])
def test_requiring_the_same_or_a_newer_version_is_an_error(tmp_path: Path, required: str) -> None:
    pair(tmp_path, "0002_b", up=f"-- sqlmig:requires {required}\nSELECT 1;\n")
    pair(tmp_path, "0003_c")
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path / "0002_b.up.sql"
    assert "a migration can only require older ones" in str(problem)


def test_has_sql_ignores_blank_lines_and_line_comments() -> None:
    assert not has_sql("\n  -- a\n\t\n--b\n")
    assert has_sql("-- a\n  select 1\n")


def test_versions_must_be_ascii_digits() -> None:
    assert FILE_NAME.match("\u0660\u0660\u0660\u0661_x.up.sql") is None
    assert FILE_NAME.match("0001_x.up.sql") is not None


def test_a_migration_folder_in_diesels_layout_is_named_with_the_pair_it_should_become(
    tmp_path: Path,
) -> None:
    for folder in ("2019-01-01-000000_create_users", "00000000000000_diesel_initial_setup"):
        write(tmp_path / folder, "up.sql", "CREATE TABLE users (id int);")
        write(tmp_path / folder, "down.sql", "DROP TABLE users;")
    write(tmp_path / "notes", "README.md", "not a migration")
    result = scan(tmp_path)
    assert [p.path.name for p in result.problems] == [
        "00000000000000_diesel_initial_setup", "2019-01-01-000000_create_users"]
    assert "make it 20190101000000_create_users.up.sql and " \
           "20190101000000_create_users.down.sql" in str(result.problems[1])
    assert result.migrations == []


def test_sql_only_in_subfolders_is_a_problem_not_an_empty_history(tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "postgres", "0001_init.up.sql", "SELECT 1;")
    problem = only_problem(tmp_path)
    assert problem.path == tmp_path
    assert "holds no migration, but there is SQL in its subfolders" in str(problem)
    assert "migrations/postgres/0001_init.up.sql" in str(problem)


def test_subfolders_beside_migrations_are_left_alone(tmp_path: Path) -> None:
    pair(tmp_path, "0001_init")
    write(tmp_path / "archive", "old.sql", "SELECT 1;")
    assert [m.id for m in discover(tmp_path)] == ["0001_init"]
