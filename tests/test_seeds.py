"""Seeds: per-environment SQL and CSV files, one transaction, idempotent, streamed COPY."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import Project


def seeded_project(project: Project) -> Project:
    project.copy_examples(seeds=True)
    project.run("migrate")
    return project


def test_development_seeds_load_users_across_roles_and_posts(project: Project) -> None:
    seeded_project(project)
    result = project.run("seed")
    assert "01_users.sql" in result.stdout and "02_posts.csv" in result.stdout
    assert "seeded development from seeds/development: 2 files, 60 rows" in result.stdout
    roles = project.query("SELECT role::text, count(*) FROM users GROUP BY 1 ORDER BY 1")
    assert roles == [("admin", 1), ("moderator", 2), ("user", 7)]
    posts = project.query(
        "SELECT count(*), count(DISTINCT status), count(*) FILTER (WHERE cardinality(tags) = 2)"
        " FROM posts"
    )
    assert posts == [(50, 3, 50)]
    orphans = project.query("SELECT count(*) FROM posts p LEFT JOIN users u ON u.id = p.user_id "
                            "WHERE u.id IS NULL")
    assert orphans == [(0,)]


def test_seeding_twice_leaves_the_same_data(project: Project) -> None:
    seeded_project(project)
    project.run("seed")
    before = project.query("SELECT id, email, settings FROM users ORDER BY email") + \
        project.query("SELECT slug, title, content, tags FROM posts ORDER BY slug")
    document = json.loads(project.run("seed", "--json").stdout)
    assert [(s["file"], s["rows"]) for s in document["seeds"]] == [
        ("01_users.sql", 0), ("02_posts.csv", 0)
    ]
    after = project.query("SELECT id, email, settings FROM users ORDER BY email") + \
        project.query("SELECT slug, title, content, tags FROM posts ORDER BY slug")
    assert after == before


def test_seed_json_documents_each_file(project: Project) -> None:
    seeded_project(project)
    document = json.loads(project.run("seed", "--json").stdout)
    assert document["environment"] == "development"
    assert document["seed_set"] == "development"
    assert document["seeds"][1] == {
        "file": "02_posts.csv", "kind": "csv", "table": "posts", "rows": 50,
        "ms": document["seeds"][1]["ms"],
    }
    assert document["rows"] == 60


def test_seed_refuses_while_migrations_are_pending(project: Project) -> None:
    project.copy_examples(seeds=True)
    project.run("migrate", "--to", "2")
    result = project.run("seed", code=1)
    assert "2 migrations not applied (0003_add_user_settings, 0004_create_indexes)" in \
        result.stderr
    assert "run `sqlmig migrate` first" in result.stderr
    assert project.query("SELECT count(*) FROM users") == [(0,)]


def test_setup_migrates_then_seeds(project: Project) -> None:
    project.copy_examples(seeds=True)
    result = project.run("setup")
    assert "applied 4 migrations" in result.stdout
    assert "60 rows" in result.stdout
    assert project.query("SELECT count(*) FROM posts") == [(50,)]


def test_setup_is_a_python_function_returning_the_migration_run_and_the_seeds(
    project: Project,
) -> None:
    from sqlmig import commands
    from sqlmig.core.config import resolve
    from sqlmig.reporting import SilentReporter

    project.copy_examples(seeds=True)
    migrated, seeded = commands.setup(resolve(database_url=project.url), SilentReporter())
    assert migrated.summary.startswith("applied 4 migrations as batch 1 in ")
    assert [(r.seed.path.name, r.rows) for r in seeded.results] == [
        ("01_users.sql", 10), ("02_posts.csv", 50),
    ]
    assert (seeded.env, seeded.seed_set) == ("development", "development")
    again = commands.seed(resolve(database_url=project.url), SilentReporter(), only=["posts"])
    assert [(r.seed.path.name, r.rows) for r in again.results] == [("02_posts.csv", 0)]


def test_only_runs_the_named_seed(project: Project) -> None:
    seeded_project(project)
    project.run("seed", "--only", "users")
    assert project.query("SELECT count(*) FROM users") == [(10,)]
    assert project.query("SELECT count(*) FROM posts") == [(0,)]
    result = project.run("seed", "--only", "nothing", code=1)
    assert "--only nothing: no such seed" in result.stderr


def test_a_failing_seed_rolls_back_every_seed(project: Project) -> None:
    seeded_project(project)
    project.write("03_broken.sql", "INSERT INTO posts (title) VALUES ('x');",
                  directory="seeds/development")
    result = project.run("seed", code=1)
    assert "seeds/development/03_broken.sql" in result.stderr
    assert 'null value in column "user_id"' in result.stderr
    assert project.query("SELECT count(*) FROM users") == [(0,)]
    assert project.query("SELECT count(*) FROM posts") == [(0,)]


def test_csv_quotes_commas_nulls_newlines_and_utf8_round_trip(project: Project) -> None:
    project.pair(
        "0001_t",
        "CREATE SCHEMA audit;\nCREATE TABLE audit.events (id int PRIMARY KEY, note text, "
        "amount numeric, tags text[]);",
        "DROP SCHEMA audit CASCADE;",
    )
    project.run("migrate")
    rows = [
        ["id", "note", "amount", "tags"],
        ["1", 'She said "hi, there"', "1.50", "{a,b}"],
        ["2", "", "", "{}"],
        ["3", "multi\nline, with ünïcödé ✓ and 日本", "-2", '{"x y",z}'],
    ]
    path = project.root / "seeds" / "development" / "01_audit.events.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    project.run("seed")
    assert project.query("SELECT id, note, amount::text, tags FROM audit.events ORDER BY id") == [
        (1, 'She said "hi, there"', "1.50", ["a", "b"]),
        (2, None, None, []),
        (3, "multi\nline, with ünïcödé ✓ and 日本", "-2", ["x y", "z"]),
    ]


def test_bad_csv_row_reports_file_line_and_the_server_message(project: Project) -> None:
    project.pair("0001_t", "CREATE TABLE t (id int PRIMARY KEY, note text);", "DROP TABLE t;")
    project.run("migrate")
    project.write(
        "01_t.csv",
        'id,note\n1,"first\nsecond line"\n2,fine\nthree,bad\n4,never\n',
        directory="seeds/development",
    )
    project.write("00_first.sql", "CREATE TABLE marker (x int);", directory="seeds/development")
    result = project.run("seed", code=1)
    assert "error: seeds/development/01_t.csv:5: invalid input syntax for type integer" in \
        result.stderr
    assert project.query("SELECT count(*) FROM t") == [(0,)]
    assert not project.exists("marker")


def test_csv_for_a_missing_table_names_the_file(project: Project) -> None:
    project.pair("0001_t", "SELECT 1;")
    project.run("migrate")
    project.write("01_nowhere.csv", "id\n1\n", directory="seeds/development")
    result = project.run("seed", code=1)
    assert "seeds/development/01_nowhere.csv" in result.stderr
    assert 'relation "nowhere" does not exist' in result.stderr


def test_large_csv_loads_through_copy(project: Project) -> None:
    project.pair("0001_t", "CREATE TABLE big (id int PRIMARY KEY, label text, score float8);",
                 "DROP TABLE big;")
    project.run("migrate")
    path = project.root / "seeds" / "development" / "01_big.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("id,label,score\n")
        handle.writelines(f"{i},row {i},{i / 7:.4f}\n" for i in range(250_000))
    result = project.run("seed", "--json")
    assert json.loads(result.stdout)["rows"] == 250_000
    assert project.query("SELECT count(*), max(id) FROM big") == [(250_000, 249_999)]
    # the re-run stages and skips what is there
    assert json.loads(project.run("seed", "--json").stdout)["rows"] == 0


def test_transaction_control_in_a_seed_is_refused(project: Project) -> None:
    seeded_project(project)
    project.write("00_bad.sql", "SELECT 1;\nCOMMIT;\n", directory="seeds/development")
    result = project.run("seed", code=1)
    assert "seeds/development/00_bad.sql:2: COMMIT inside a transactional seed" in result.stderr


def test_bad_seed_file_name_is_named(project: Project) -> None:
    seeded_project(project)
    project.write("users.sql", "SELECT 1;", directory="seeds/development")
    result = project.run("seed", code=1)
    assert "seeds/development/users.sql: seed name does not match" in result.stderr


@pytest.mark.parametrize(
    ("env", "seed_set"), [("test", "development"), ("staging", "production")]
)
def test_environments_use_the_template_seed_sets(
    project: Project, monkeypatch: pytest.MonkeyPatch, env: str, seed_set: str
) -> None:
    monkeypatch.setenv("DATABASE_URL_TEST", project.url)
    monkeypatch.setenv("DATABASE_URL_STAGING", project.url)
    project.pair("0001_t", "CREATE TABLE t (v text);", "DROP TABLE t;")
    project.run("migrate", "--env", env)
    for name in ("development", "production"):
        project.write("01_t.sql", f"INSERT INTO t VALUES ('{name}');", directory=f"seeds/{name}")
    project.run("seed", "--env", env)
    assert project.query("SELECT v FROM t") == [(seed_set,)]


def test_seed_set_is_configurable_per_environment(project: Project) -> None:
    project.pair("0001_t", "CREATE TABLE t (v text);", "DROP TABLE t;")
    project.run("migrate")
    project.write("sqlmig.toml", '[development]\nseed_set = "demo"\n', directory=".")
    project.write("01_t.sql", "INSERT INTO t VALUES ('demo');", directory="seeds/demo")
    project.run("seed")
    assert project.query("SELECT v FROM t") == [("demo",)]


def test_production_seed_requires_its_password_variable(project: Project) -> None:
    seeded_project(project)
    result = project.run("seed", "--env", "production", code=2)
    assert "SEED_ADMIN_PASSWORD: not set; seeds/production/01_admin_user.sql needs it" in \
        result.stderr
    assert project.query("SELECT count(*) FROM users") == [(0,)]


def test_production_seed_stores_a_bcrypt_hash_that_crypt_verifies(
    pg15_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = seeded_project(pg15_project)
    monkeypatch.setenv("SEED_ADMIN_PASSWORD", "correct horse battery staple")
    result = project.run("seed", "--env", "production")
    assert "correct horse" not in result.stdout + result.stderr
    [(stored, matches, wrong)] = project.query(
        "SELECT password_hash, password_hash = crypt('correct horse battery staple', "
        "password_hash), password_hash = crypt('nope', password_hash) FROM users "
        "WHERE email = 'admin@example.com' AND role = 'admin'"
    )
    assert stored.startswith("$2a$10$")
    assert (matches, wrong) == (True, False)
    project.run("seed", "--env", "production")  # idempotent: the admin is kept
    assert project.query("SELECT password_hash FROM users") == [(stored,)]
