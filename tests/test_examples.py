"""The ported example migrations in sql/ go all the way up and all the way down."""

from __future__ import annotations

import hashlib

from tests.conftest import EXAMPLES, Project


def test_examples_apply_in_one_batch_with_checksums_and_timings(project: Project) -> None:
    project.copy_examples()
    result = project.run("migrate")
    assert "applied 4 migrations as batch 1" in result.stdout
    rows = project.query(
        "SELECT version, name, batch, checksum, execution_ms, applied_by, sqlmig_version "
        "FROM schema_migrations ORDER BY version"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (1, "create_users", 1),
        (2, "create_posts", 1),
        (3, "add_user_settings", 1),
        (4, "create_indexes", 1),
    ]
    for row in rows:
        up = next(EXAMPLES.glob(f"{row[0]:04d}_*.up.sql"))
        assert row[3] == hashlib.sha256(up.read_bytes()).hexdigest()
        assert row[4] >= 0
        assert "@" in row[5]
        assert row[6]


def test_examples_build_the_template_schema(project: Project) -> None:
    project.copy_examples()
    project.run("migrate")
    assert {"users", "posts", "schema_migrations"} <= project.tables()
    labels = project.query(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e "
        "JOIN pg_type t ON t.oid = e.enumtypid GROUP BY t.typname ORDER BY 1"
    )
    assert labels == [
        ("post_status", ["draft", "published", "archived"]),
        ("user_role", ["admin", "moderator", "user"]),
    ]
    columns = {r[0] for r in project.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
    )}
    assert {"timezone", "locale", "two_factor_enabled", "two_factor_secret"} <= columns
    # the three partial indexes built CONCURRENTLY exist and are valid
    indexes = project.query(
        "SELECT c.relname, i.indisvalid, pg_get_expr(i.indpred, i.indrelid) IS NOT NULL "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname IN ('users_active_email_idx', 'posts_published_at_idx', "
        "'posts_user_created_idx') ORDER BY 1"
    )
    assert [(name, valid, partial) for name, valid, partial in indexes] == [
        ("posts_published_at_idx", True, True),
        ("posts_user_created_idx", True, True),
        ("users_active_email_idx", True, True),
    ]
    # the updated_at trigger fires
    project.query("INSERT INTO users (email, password_hash) VALUES ('a@example.com', 'x')")
    project.query("UPDATE users SET updated_at = 'epoch', first_name = 'Ada'")
    assert project.query("SELECT updated_at > 'epoch' FROM users")[0][0] is True


def test_user_settings_migration_moves_data_from_jsonb(project: Project) -> None:
    project.copy_examples()
    project.run("migrate", "--to", "2")
    project.query(
        "INSERT INTO users (email, password_hash, settings) VALUES "
        "('a@example.com', 'x', '{\"timezone\": \"Europe/Paris\", \"locale\": \"fr\"}'), "
        "('b@example.com', 'x', '{}')"
    )
    project.run("migrate")
    rows = project.query("SELECT email, timezone, locale FROM users ORDER BY email")
    assert rows == [("a@example.com", "Europe/Paris", "fr"), ("b@example.com", "UTC", "en")]
    project.run("rollback", "--steps", "2")
    kept = project.query("SELECT settings ->> 'timezone' FROM users WHERE email = 'a@example.com'")
    assert kept == [("Europe/Paris",)]


def test_examples_roll_all_the_way_down_to_an_empty_schema(project: Project) -> None:
    project.copy_examples()
    project.run("migrate")
    result = project.run("rollback", "--all")
    assert "rolled back 4 migrations" in result.stdout
    assert project.tables() == {"schema_migrations"}
    assert project.history() == []
    leftovers = project.query(
        "SELECT 'type ' || typname FROM pg_type WHERE typname IN ('user_role', 'post_status') "
        "UNION ALL SELECT 'function ' || proname FROM pg_proc "
        "WHERE proname = 'update_updated_at_column'"
    )
    assert leftovers == []


def test_each_example_down_reverses_its_up(project: Project) -> None:
    project.copy_examples()
    for version in range(1, 5):
        project.run("up")
        project.run("rollback")
        project.run("up")
        assert [r[0] for r in project.history()] == list(range(1, version + 1))
    assert len(project.history()) == 4


def test_examples_go_up_and_down_on_postgresql_15_with_pgcrypto(pg15_project: Project) -> None:
    project = pg15_project
    project.copy_examples()
    project.run("migrate")
    assert project.query("SELECT extname FROM pg_extension WHERE extname = 'pgcrypto'") == [
        ("pgcrypto",)
    ]
    assert project.query("SELECT count(*) FROM schema_migrations WHERE state = 'applied'") == [
        (4,)
    ]
    project.run("rollback", "--all")
    assert project.tables() == {"schema_migrations"}
    assert project.query("SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'") == [(0,)]
