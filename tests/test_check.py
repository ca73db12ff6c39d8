"""`sqlmig check` past the first failure (--keep-going), and a down that only changes the
order of columns (a warning; --strict makes it a failure), on a real PostgreSQL."""

from __future__ import annotations

import json

from sqlmig.pg.catalog import Difference
from sqlmig.review.check import split_column_order
from tests import provision
from tests.conftest import Project

TABLE_A = ("CREATE TABLE a (id int, b text, c text, d text);", "DROP TABLE a;")
# a down that adds back the columns its up dropped: they come last, after d
DROP_B_C = ("ALTER TABLE a DROP COLUMN b, DROP COLUMN c;",
            "ALTER TABLE a ADD COLUMN b text, ADD COLUMN c text;")


def two_bad_downs(project: Project) -> None:
    """Downs that go wrong in two ways around a good one: 0002's leaves a table its up cannot
    create again, 0004's a NOT NULL its up can set again. Then 0005's drops two columns and
    adds them back: last, so only their order differs."""
    project.pair("0001_a", *TABLE_A)
    project.pair("0002_orphan", "CREATE TABLE orphan (id int);", "SELECT 1;")
    project.pair("0003_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    project.pair("0004_not_null", "ALTER TABLE t ALTER COLUMN id SET NOT NULL;", "SELECT 1;")
    project.pair("0005_drop_b_c", *DROP_B_C)


def rows(stdout: str) -> dict[str, str]:
    """The summary table's rows: migration -> the rest of its line."""
    found = {}
    for line in stdout.splitlines():
        first, _, rest = line.partition(" ")
        if first[:4].isdigit() and rest.startswith(" "):
            found[first] = " ".join(rest.split())
    return found


def test_keep_going_names_every_failing_migration_and_ends_with_a_table_of_all(
    project: Project,
) -> None:
    two_bad_downs(project)
    result = project.run("check", "--keep-going", code=1)
    out = result.stdout
    assert "FAIL 0002_orphan: its down does not reverse its up" in out
    assert "FAIL 0004_not_null: its down does not reverse its up" in out
    assert "  - table public.orphan added" in out
    assert "  - column public.t.id: nullable: true -> false" in out
    # 0002's up could not run again on what its down left: the check started again
    assert 'its up fails when applied again after its down: sql/0002_orphan.up.sql:1: ' \
        'relation "orphan" already exists' in out
    assert out.count("went on from a new scratch database") == 1, "after 0002 only"
    assert rows(out) == {
        "0001_a": "ok",
        "0002_orphan": "fails table public.orphan added (and 1 more)",
        "0003_t": "ok",
        "0004_not_null": "fails column public.t.id: nullable: true -> false",
        "0005_drop_b_c": "column order only column public.a.b: position: 2 -> 3 (and 1 more)",
    }
    # the whole chain still went back down, and says what 0002 left behind
    assert "all the way down, the schema is not back where it started:" in out
    assert out.rstrip().endswith("2 migrations of 5 checked fail: 0002_orphan, 0004_not_null")
    assert project.tables() == set(), "the target was not touched"
    leftover = project.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'sqlmig_check_%'")
    assert leftover == [(0,)], "every scratch database, the first and the new one, was dropped"


def test_keep_going_json_lists_every_migrations_result(project: Project) -> None:
    two_bad_downs(project)
    document = json.loads(project.run("check", "--keep-going", "--json", code=1).stdout)
    assert document["ok"] is False
    assert [(m["name"], m["result"], m["fails"]) for m in document["migrations"]] == [
        ("a", "ok", False), ("orphan", "fails", True), ("t", "ok", False),
        ("not_null", "fails", True), ("drop_b_c", "column-order", False),
    ]
    orphan, not_null, drop_b_c = (document["migrations"][i] for i in (1, 3, 4))
    assert [(d["kind"], d["name"], d["change"]) for d in orphan["differences"]] == [
        ("table", "public.orphan", "added"), ("column", "public.orphan.id", "added")]
    assert orphan["error"].startswith("its up fails when applied again after its down: ")
    assert not_null["error"] is None and not_null["column_order"] == []
    assert drop_b_c["differences"] == []
    assert [(d["name"], d["attribute"], d["before"], d["after"])
            for d in drop_b_c["column_order"]] == [
        ("public.a.b", "position", 2, 3), ("public.a.c", "position", 3, 4)]
    assert document["not_checked"] == [] and document["halted"] is None
    assert document["stopped_at"] is None and document["rollback_error"] is None
    assert {d["name"] for d in document["leftovers"]} == {"public.orphan", "public.orphan.id"}


def test_without_keep_going_check_stops_at_the_first_failure(project: Project) -> None:
    two_bad_downs(project)
    out = project.run("check", code=1).stdout
    assert "FAIL 0002_orphan" in out and "0003_t" not in out and "0004_not_null" not in out
    assert "1 migration of 2 checked fails: 0002_orphan" in out
    assert ("stopped at the first failure; 3 migrations after it not checked (--keep-going "
            "checks every one)") in out
    assert "all the way down" not in out, "the whole chain is not rolled back after a failure"
    document = json.loads(project.run("check", "--json", code=1).stdout)
    assert [m["result"] for m in document["migrations"]] == ["ok", "fails"]
    assert [m["version"] for m in document["not_checked"]] == [3, 4, 5]


def test_a_down_that_drops_and_adds_columns_back_is_a_warning_naming_only_those(
    project: Project,
) -> None:
    project.pair("0001_a", *TABLE_A)
    project.pair("0002_drop_b_c", *DROP_B_C)
    out = project.run("check").stdout
    assert "warn 0002_drop_b_c: its down changes the order of columns" in out
    assert ("0002_drop_b_c: after up + down the order of columns differs (a warning; --strict "
            "makes it fail):\n  - column public.a.b: position: 2 -> 3\n"
            "  - column public.a.c: position: 3 -> 4\n") in out
    assert "public.a.d" not in out, "d moved up two places, but 0002 did not touch it"
    assert "ok: 2 migrations round-trip (1 warning: column order, above), and the whole " \
        "chain goes all the way down to an empty schema" in out

    strict = project.run("check", "--strict", code=1).stdout
    assert "FAIL 0002_drop_b_c: its down changes the order of columns" in strict
    assert "1 migration of 2 checked fails: 0002_drop_b_c" in strict
    document = json.loads(project.run("check", "--strict", "--json", code=1).stdout)
    assert document["ok"] is False
    assert [(m["result"], m["fails"]) for m in document["migrations"]] == [
        ("ok", False), ("column-order", True)]


def test_keep_going_goes_past_a_down_that_fails_and_says_the_chain_could_not_go_down(
    project: Project,
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_bad_down", "ALTER TABLE a ADD COLUMN v text;",
                 "ALTER TABLE nope DROP COLUMN v;")
    project.pair("0003_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    out = project.run("check", "--keep-going", code=1).stdout
    failed = 'sql/0002_bad_down.down.sql:1: relation "nope" does not exist'
    assert f"FAIL 0002_bad_down: its down fails: {failed}" in out
    # its down failed in its transaction, so the schema is as its up left it: no new database
    assert "went on from a new scratch database" not in out
    assert rows(out)["0003_b"] == "ok"
    assert f"rolling back the whole chain failed: 0002_bad_down: {failed}" in out
    assert out.rstrip().endswith("1 migration of 3 checked fails: 0002_bad_down")


def test_keep_going_on_a_scratch_url_stops_where_the_up_cannot_be_applied_again(
    project: Project, pg_admin_url: str,
) -> None:
    project.pair("0001_orphan", "CREATE TABLE orphan (id int);", "SELECT 1;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    scratch = provision.create_database(pg_admin_url)
    try:
        result = project.run("check", "--keep-going", "--scratch-url", scratch, "--json",
                             code=1)
    finally:
        provision.drop_database(pg_admin_url, scratch)
    document = json.loads(result.stdout)
    assert document["halted"] == (
        "cannot go on after 0001_orphan: its up fails when applied again after its down: "
        'sql/0001_orphan.up.sql:1: relation "orphan" already exists; a check on --scratch-url '
        "cannot start again on a new database; 1 migration after it not checked")
    assert [m["result"] for m in document["migrations"]] == ["fails"]
    assert document["not_checked"] == [{"version": 2, "name": "b"}]
    assert document["leftovers"] == [] and document["rollback_error"] is None


def test_only_columns_with_a_new_attribute_number_count_as_moved() -> None:
    shifted = Difference("column", "public.a.d", "changed", "position", 4, 2)
    moved = Difference("column", "public.a.b", "changed", "position", 2, 3)
    other = Difference("column", "public.a.b", "changed", "nullable", True, False)
    before = {"public.a.b": 2, "public.a.d": 4}
    after = {"public.a.b": 5, "public.a.d": 4}
    assert split_column_order([moved, other, shifted], before, after) == ([other], [moved])
