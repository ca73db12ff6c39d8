"""`--to V` with nothing pending up to V: said as such, not as an up-to-date database, in
text and in JSON."""

from __future__ import annotations

import json

from tests.conftest import Project

NOT_UP_TO_DATE = "nothing to apply up to 0003; 1 pending migration after it"


def three_applied_and_a_fifth_pending(project: Project) -> None:
    for version in (1, 2, 3, 5):
        project.pair(f"{version:04d}_t{version}", f"CREATE TABLE t{version} (id int);",
                     f"DROP TABLE t{version};")
    project.run("migrate", "--to", "3")


def test_migrate_to_an_applied_version_names_what_is_still_pending_after_it(
    project: Project,
) -> None:
    three_applied_and_a_fifth_pending(project)
    out = project.run("migrate", "--to", "3").stdout
    assert NOT_UP_TO_DATE in out and "up to date" not in out
    assert [v for v, *_ in project.history()] == [1, 2, 3]


def test_migrate_with_nothing_pending_still_says_up_to_date(project: Project) -> None:
    three_applied_and_a_fifth_pending(project)
    project.run("migrate")
    assert "nothing to migrate: the database is up to date" in \
        project.run("migrate", "--to", "3").stdout


def test_plan_to_an_applied_version_says_the_same_in_text_and_json(project: Project) -> None:
    three_applied_and_a_fifth_pending(project)
    assert NOT_UP_TO_DATE in project.run("plan", "--to", "3").stdout
    document = json.loads(project.run("plan", "--to", "3", "--json").stdout)
    assert document["migrations"] == []
    assert document["pending_after_target"] == [{"version": 5, "name": "t5"}]
    assert json.loads(project.run("plan", "--json").stdout)["pending_after_target"] == []


def test_dry_run_to_an_applied_version_says_the_same_in_text_and_json(project: Project) -> None:
    three_applied_and_a_fifth_pending(project)
    assert NOT_UP_TO_DATE in project.run("migrate", "--dry-run", "--to", "3").stdout
    document = json.loads(project.run("migrate", "--dry-run", "--to", "3", "--json").stdout)
    assert document["migrations"] == [] and document["ok"] is True
    assert document["pending_after_target"] == [{"version": 5, "name": "t5"}]


def test_plan_up_to_a_target_counts_what_it_leaves_for_later(project: Project) -> None:
    three_applied_and_a_fifth_pending(project)
    project.pair("0006_t6", "CREATE TABLE t6 (id int);", "DROP TABLE t6;")
    assert "1 migration would be applied as batch 2; 1 more pending migration after --to" \
        in project.run("plan", "--to", "5").stdout
