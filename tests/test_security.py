"""Secrets never printed; wrong passwords are one clear line."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import Project

PASSWORD = "Pw-Never-Print-7731"
ROLE = "sqlmig_pw_user"


@pytest.fixture(scope="session")
def password_role(pg_admin_url: str) -> Iterator[str]:
    """A role that must log in with PASSWORD. On a server whose pg_hba.conf is local to this
    machine (the embedded one) a scram-sha-256 line is added for it; elsewhere the server's
    own rules apply, and the test is skipped if they trust everyone."""
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN CREATE ROLE sqlmig_pw_user LOGIN SUPERUSER; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute(f"ALTER ROLE {ROLE} PASSWORD '{PASSWORD}'")
        hba_file = conn.execute("SHOW hba_file").fetchone()[0]  # type: ignore[index]
        if os.path.exists(hba_file):
            with open(hba_file, encoding="utf-8") as handle:
                rules = handle.read()
            line = f"local all {ROLE} scram-sha-256\nhost all {ROLE} all scram-sha-256\n"
            if line not in rules:
                with open(hba_file, "w", encoding="utf-8") as handle:
                    handle.write(line + rules)
                conn.execute("SELECT pg_reload_conf()")
    good = make_conninfo(pg_admin_url, user=ROLE, password=PASSWORD)
    try:
        psycopg.connect(make_conninfo(good, password="wrong"), connect_timeout=5).close()
    except psycopg.OperationalError:
        yield good
        return
    pytest.skip("this server accepts any password, so a wrong one cannot be tested")


def with_database(url: str, project: Project) -> str:
    return make_conninfo(url, dbname=conninfo_to_dict(project.url)["dbname"])


def test_wrong_password_is_one_line_naming_the_target_not_the_password(
    project: Project, monkeypatch: pytest.MonkeyPatch, password_role: str
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    wrong = make_conninfo(with_database(password_role, project), password="Wrong-Secret-99")
    monkeypatch.setenv("DATABASE_URL", wrong)
    result = project.run("migrate", "--wait", "30", code=1)
    assert f'password authentication failed for user "{ROLE}"' in result.stderr
    assert result.stderr.startswith(f"error: cannot connect to {ROLE}@")
    assert result.stderr.count("\n") == 1, "no retries: waiting cannot fix a wrong password"
    assert "Wrong-Secret-99" not in result.stdout + result.stderr
    assert not project.exists("a")


def test_the_password_appears_in_no_output_of_any_command(
    project: Project, monkeypatch: pytest.MonkeyPatch, password_role: str
) -> None:
    url = with_database(password_role, project)
    params = conninfo_to_dict(url)
    as_url = (
        f"postgresql://{ROLE}:{PASSWORD}@/{params['dbname']}?host={params.get('host', '')}"
        f"&port={params.get('port', 5432)}"
    )
    monkeypatch.setenv("DATABASE_URL", as_url)
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    runs = [
        ("migrate", "--to", "1"), ("status",), ("status", "--json"), ("verify",),
        ("verify", "--json"), ("up",), ("redo",), ("rollback",), ("reset",), ("fresh",),
        ("repair",), ("baseline", "--version", "1"), ("migrate", "--debug"),
        ("status", "--debug", "--database-url", f"postgresql://x:{PASSWORD}@127.0.0.1:1/db"),
        ("status", "--database-url", f"postgresql://x:{PASSWORD}@[::1"),
        ("status", "--database-url", f"host=127.0.0.1 port=1 password={PASSWORD}"),
        ("migrate", "--env", "production", "--database-url",
         f"postgresql://x:{PASSWORD}@127.0.0.1:1/db"),
    ]
    outputs = []
    for args in runs:
        try:
            result = project.run(*args, code=None)
        except Exception as err:  # --debug re-raises: the traceback text counts as output
            outputs.append(repr(err))
            continue
        outputs.append(result.stdout + result.stderr + repr(result.exception))
    assert project.exists("a"), "the commands really ran against the database"
    leaked = [args for args, text in zip(runs, outputs, strict=True) if PASSWORD in text]
    assert leaked == []
