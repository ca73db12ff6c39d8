"""Secrets never printed; wrong passwords are one clear line."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import Project
from tests.test_bad_inputs import run_unprivileged

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
        conn.execute("SET password_encryption = 'scram-sha-256'")  # 13 defaults to md5
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


# --- every awkward password, every command ------------------------------------------------

AWKWARD_GROUP = "sqlmig_awkward"
RESERVED = ":/?#[]@!$&'()*+,;="


def conninfo_quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Awkward:
    """A password and how the URL carries it. `url` is formatted with role, pw (as written),
    enc (percent-encoded), quoted (a conninfo value), host, port and db. `connects`: libpq
    reads the password right (else every command fails to connect, and says so)."""

    name: str
    password: str
    url: str
    connects: bool = True
    pgpassword: bool = False

    def role(self, index: int) -> str:
        return f"{AWKWARD_GROUP}_{index}"

    def format(self, index: int, host: str, port: str, db: str) -> str:
        return self.url.format(
            role=self.role(index), pw=self.password, enc=quote(self.password, safe=""),
            quoted=conninfo_quoted(self.password), host=host, port=port, db=db,
        )

    def markers(self) -> list[str]:
        """What must never be printed: the password in any form, and the pieces libpq makes
        of it (each case starts with Qv8 and ends with Zr5 so a piece is recognisable)."""
        return [self.password, quote(self.password, safe=""), "Qv8", "Zr5"]


AWKWARD_URLS = [
    Awkward("unencoded # and ?", "Qv8#Ab?cZr5",
            "postgresql://{role}:{pw}@/{db}?host={host}&port={port}"),
    Awkward("every reserved character, percent-encoded", f"Qv8{RESERVED}%Zr5",
            "postgresql://{role}:{enc}@/{db}?host={host}&port={port}"),
    Awkward("an @, percent-encoded", "Qv8@Zr5",
            "postgresql://{role}:{enc}@/{db}?host={host}&port={port}"),
    Awkward("every reserved character, unencoded", f"Qv8{RESERVED}Zr5",
            "postgresql://{role}:{pw}@127.0.0.1:1/{db}", connects=False),
    Awkward("an unencoded space", "Qv8 ab Zr5",
            "postgresql://{role}:{pw}@127.0.0.1:1/{db}", connects=False),
    Awkward("an unencoded /", "Qv8/abc/Zr5",
            "postgresql://{role}:{pw}@127.0.0.1:1/{db}", connects=False),
    Awkward("an unencoded @", "Qv8@abc@Zr5",
            "postgresql://{role}:{pw}@127.0.0.1:1/{db}", connects=False),
    Awkward("key=value conninfo, quoted", "Qv8 a'b\\c Zr5",
            "host={host} port={port} dbname={db} user={role} password={quoted}"),
    Awkward("key=value conninfo, options before the password", "Qv8&a=b;Zr5",
            "host={host} port={port} options='-c statement_timeout=0' dbname={db} "
            "user={role} password={pw}"),
    Awkward("?password= after options in the query", "Qv8&a=b Zr5",
            "postgresql://{role}@/{db}?host={host}&port={port}"
            "&options=-c%20statement_timeout%3D0&password={enc}"),
    Awkward("PGPASSWORD", "Qv8 PG'env Zr5",
            "postgresql://{role}@/{db}?host={host}&port={port}", pgpassword=True),
]


@pytest.fixture(scope="session")
def awkward_roles(pg_admin_url: str) -> str:
    """One login role per awkward password (a member of AWKWARD_GROUP, which must log in with
    a password where this machine's pg_hba.conf can be edited). Returns the server's socket
    directory (or host) and port as `host port`."""
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            f"DO $$ BEGIN CREATE ROLE {AWKWARD_GROUP} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        conn.execute("SET password_encryption = 'scram-sha-256'")  # 13 defaults to md5
        for index, case in enumerate(AWKWARD_URLS):
            role = case.role(index)
            conn.execute(
                f"DO $$ BEGIN CREATE ROLE {role} LOGIN SUPERUSER IN ROLE {AWKWARD_GROUP}; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(case.password)))
        hba_file = conn.execute("SHOW hba_file").fetchone()[0]  # type: ignore[index]
        if os.path.exists(hba_file):
            with open(hba_file, encoding="utf-8") as handle:
                rules = handle.read()
            line = (f"local all +{AWKWARD_GROUP} scram-sha-256\n"
                    f"host all +{AWKWARD_GROUP} all scram-sha-256\n")
            if line not in rules:
                with open(hba_file, "w", encoding="utf-8") as handle:
                    handle.write(line + rules)
                conn.execute("SELECT pg_reload_conf()")
    params = conninfo_to_dict(pg_admin_url)
    return f"{params.get('host') or 'localhost'} {params.get('port') or 5432}"


def awkward_runs(url: str, bad: str) -> list[tuple[str, ...]]:
    """Every command that prints something about the database, text and JSON, against `url`
    (DATABASE_URL) and `bad` (the same password, a port nothing listens on)."""
    return [
        ("config",), ("config", "--json"), ("migrate", "--snapshot"), ("status",),
        ("status", "--json"), ("verify",), ("verify", "--json"), ("plan",), ("plan", "--json"),
        ("rollback", "--env", "production", "--database-url", url, "--yes"), ("--verbose", "up"),
        ("diff", "--from", url, "--to", url), ("diff", "--from", url, "--to", url, "--json"),
        ("snapshots", "--json"), ("docs",), ("check",),
        ("status", "--database-url", bad), ("migrate", "--database-url", bad, "--wait", "1"),
        ("status", "--database-url", bad, "--debug"), ("config", "--database-url", bad),
        ("diff", "--from", bad, "--to", url), ("diff", "--from", url, "--to", bad, "--json"),
    ]


@pytest.mark.parametrize("case", AWKWARD_URLS, ids=[c.name for c in AWKWARD_URLS])
def test_no_command_prints_an_awkward_password(
    project: Project, monkeypatch: pytest.MonkeyPatch, awkward_roles: str, case: Awkward
) -> None:
    index = AWKWARD_URLS.index(case)
    host, port = awkward_roles.split(" ")
    db = str(conninfo_to_dict(project.url)["dbname"])
    url = case.format(index, host, port, db)
    bad = case.format(index, "127.0.0.1", "1", db)
    if case.pgpassword:
        monkeypatch.setenv("PGPASSWORD", case.password)
    monkeypatch.setenv("DATABASE_URL", url)
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.pair("0002_b", "CREATE TABLE b (id int);", "DROP TABLE b;")
    runs = awkward_runs(url, bad)
    outputs = {}
    for args in runs:
        result = project.run(*args, code=None)
        outputs[args] = result.stdout + result.stderr + repr(result.exception)
    leaked = {args: marker for args, text in outputs.items() for marker in case.markers()
              if marker in text}
    assert leaked == {}
    if case.connects:
        assert [row[1] for row in project.history()] == ["a"], "the commands really ran"
        assert "Traceback" in outputs[("status", "--database-url", bad, "--debug")]
    else:
        assert "error: " in outputs[("status",)]


# --- snapshots hold every row: the owner's only ---------------------------------------------


def test_a_snapshot_is_written_0600_in_a_0700_folder(project: Project) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    folder = project.root / ".sqlmig" / "snapshots"
    folder.mkdir(parents=True)
    folder.chmod(0o755)  # as an older sqlmig left it
    project.run("migrate", "--snapshot")
    [dump] = folder.glob("*.dump")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert project.exists("a")


def test_a_snapshot_folder_that_cannot_be_created_is_one_error_line_and_nothing_runs(
    project: Project,
) -> None:
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    project.write(".sqlmig", "a file where the folder should be", directory=".")
    result = project.run("migrate", "--snapshot", code=1)
    assert result.stderr.startswith(
        "error: cannot create the snapshot folder .sqlmig/snapshots: Not a directory"
    )
    assert result.stderr.count("\n") == 1, "one line, no traceback"
    assert not project.exists("a")


def test_a_snapshot_folder_without_write_permission_is_one_error_line_and_nothing_runs(
    project: Project,
) -> None:
    """PermissionError, not only a file in the way: run without root's power to write
    anywhere."""
    project.pair("0001_a", "CREATE TABLE a (id int);", "DROP TABLE a;")
    (project.root / ".sqlmig").mkdir()
    (project.root / ".sqlmig").chmod(0o555)
    try:
        result = run_unprivileged(project, "migrate", "--snapshot")
    finally:
        (project.root / ".sqlmig").chmod(0o755)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(
        "error: cannot create the snapshot folder .sqlmig/snapshots: Permission denied"
    )
    assert result.stderr.count("\n") == 1, "one line, no traceback"
    assert not project.exists("a") and not project.exists("schema_migrations")
