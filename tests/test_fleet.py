"""`sqlmig fleet` on a real server: twelve small databases (made once for the module, emptied
before each test; fifty for the broken-target test) migrated in parallel, one of them
broken; two fleet runs at once; Ctrl-C mid-fleet; --fail-fast, --canary, --only-failed;
--schemas; a bad targets file. Every line printed is checked for the targets' password."""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from sqlmig import commands
from sqlmig.core import config, files
from sqlmig.core.targets import State, parse_targets
from sqlmig.errors import EXIT_INTERRUPTED, EXIT_USAGE
from tests.conftest import Project, _project

SIZE = 12
LARGE = 50  # the broken-target test's fleet: SIZE and databases of its own
PASSWORD = "Fl33t-s3cret"
BROKEN = 4  # the target whose database already holds what 0002 creates


@dataclass
class Servers:
    admin: str
    role: str
    urls: list[str]  # the targets, each with the role's password


def _url(admin: str, role: str, dbname: str) -> str:
    """A postgresql:// URL for `dbname` as `role` (with its password) on the admin's server."""
    params = conninfo_to_dict(admin)
    host, port = str(params.get("host") or "localhost"), str(params.get("port") or "5432")
    if host.startswith("/"):
        return f"postgresql://{role}:{PASSWORD}@/{dbname}?host={host}&port={port}"
    return f"postgresql://{role}:{PASSWORD}@{host}:{port}/{dbname}"


def _each(admin: str, statement: str, names: list[str], role: str) -> None:
    """`statement` ({db} the database, {role} the role) for every database at once:
    concurrent DROP DATABASEs share their checkpoints (one by one, a second apiece)."""
    def run(name: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(db=sql.Identifier(name),
                                                   role=sql.Identifier(role)))

    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(run, names))


@pytest.fixture(scope="module")
def servers(pg_admin_url: str) -> Iterator[Servers]:
    role = f"sqlmig_fleet_{uuid.uuid4().hex[:8]}"
    names = [f"{role}_{n:02d}" for n in range(SIZE)]
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(PASSWORD)))
    _each(pg_admin_url, "CREATE DATABASE {db} OWNER {role}", names, role)
    try:
        yield Servers(pg_admin_url, role, [_url(pg_admin_url, role, name) for name in names])
    finally:
        _each(pg_admin_url, "DROP DATABASE IF EXISTS {db} WITH (FORCE)", names, role)
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


class Fleet(Project):
    servers: Servers

    @property
    def urls(self) -> list[str]:
        return self.servers.urls

    def versions(self, url: str, schema: str = "public") -> list[int] | None:
        """The versions in a target's history, in order; None when it has no history table."""
        with psycopg.connect(url, autocommit=True) as conn:
            table = sql.Identifier(schema, "schema_migrations")
            if conn.execute("SELECT to_regclass(%s)", (table.as_string(conn),)).fetchone() \
                    == (None,):
                return None
            return [r[0] for r in conn.execute(
                sql.SQL("SELECT version FROM {} ORDER BY version").format(table))]

    def fleet(self, *args: str, code: int | None = 0) -> Any:
        result = self.run("fleet", *args, code=code)
        assert PASSWORD not in result.stdout + result.stderr
        return result

    def report(self, *args: str, code: int = 0) -> dict[str, Any]:
        return json.loads(self.fleet(*args, "--json", code=code).stdout)


@pytest.fixture
def fleet(servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """The twelve databases emptied of everything an earlier test made; a project of three
    migrations; fleet.txt naming every database."""
    for url in servers.urls:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(servers.role)))
    project = _project(tmp_path, servers.urls[0], monkeypatch)
    project.__class__ = Fleet  # conftest's project (its environment and folder), with more
    assert isinstance(project, Fleet)
    project.servers = servers
    project.pair("0001_accounts", "CREATE TABLE accounts (id int);", "DROP TABLE accounts;")
    project.pair("0002_orders", "CREATE TABLE orders (id int);", "DROP TABLE orders;")
    project.pair("0003_orders_index", "CREATE INDEX orders_id ON orders (id);",
                 "DROP INDEX orders_id;")
    project.write("fleet.txt", "# every tenant\n" + "\n".join(servers.urls) + "\n", ".")
    return project


def _break(fleet: Fleet, index: int = BROKEN) -> None:
    with psycopg.connect(fleet.urls[index], autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (note text)")


def _fix(fleet: Fleet, index: int = BROKEN) -> None:
    with psycopg.connect(fleet.urls[index], autocommit=True) as conn:
        conn.execute("DROP TABLE orders")


def _states(report: dict[str, Any]) -> list[str]:
    return [row["state"] for row in report["targets"]]


@pytest.fixture
def large(fleet: Fleet) -> Iterator[list[str]]:
    """LARGE targets: the fleet's databases and databases of this test's own (in large.txt)."""
    servers = fleet.servers
    names = [f"{servers.role}_x{n:02d}" for n in range(LARGE - SIZE)]
    _each(servers.admin, "CREATE DATABASE {db} OWNER {role}", names, servers.role)
    urls = [*servers.urls, *(_url(servers.admin, servers.role, name) for name in names)]
    fleet.write("large.txt", "\n".join(urls) + "\n", ".")
    try:
        yield urls
    finally:
        _each(servers.admin, "DROP DATABASE IF EXISTS {db} WITH (FORCE)", names, servers.role)


def test_a_broken_target_fails_alone_and_the_rerun_after_the_fix_finishes_it(
    fleet: Fleet, large: list[str],
) -> None:
    _break(fleet)
    first = fleet.report("migrate", "--targets", "large.txt", "--parallel", "4", code=1)
    broken = first["targets"][BROKEN]
    assert broken["target"] == parse_targets(fleet.urls[BROKEN], "x")[0].name
    assert broken["state"] == "failed"
    assert (broken["from_version"], broken["to_version"], broken["applied"]) == (0, 1, 1)
    assert broken["error"] == 'sql/0002_orders.up.sql:1: relation "orders" already exists'
    others = [row for n, row in enumerate(first["targets"]) if n != BROKEN]
    assert len(others) == LARGE - 1
    assert {(r["state"], r["from_version"], r["to_version"], r["applied"]) for r in others} \
        == {("succeeded", 0, 3, 3)}
    assert first["counts"] == {"succeeded": LARGE - 1, "failed": 1, "cancelled": 0,
                               "skipped": 0}
    assert fleet.versions(fleet.urls[BROKEN]) == [1]

    _fix(fleet)
    fleet.write("report.json", json.dumps(first), ".")
    rerun = fleet.report("migrate", "--targets", "large.txt", "--only-failed", "report.json")
    assert [(r["target"], r["applied"], r["to_version"]) for r in rerun["targets"]] \
        == [(broken["target"], 2, 3)]
    assert all(fleet.versions(url) == [1, 2, 3] for url in large)

    table = fleet.fleet("migrate", "--targets", "large.txt").stdout
    assert f"migrate: {LARGE} targets: {LARGE} succeeded" in table
    assert re.search(rf"{re.escape(broken['target'])} +succeeded +0003", table)


def test_two_fleet_runs_and_a_single_run_at_once_apply_each_migration_once_per_target(
    fleet: Fleet,
) -> None:
    runs = [fleet.spawn("fleet", "migrate", "--targets", "fleet.txt", "--parallel", "4",
                        "--json") for _ in range(2)]
    single = fleet.spawn("migrate", "--database-url", fleet.urls[0])
    outputs = [run.communicate(timeout=120) for run in runs]
    assert single.wait(timeout=120) == 0
    assert [run.returncode for run in runs] == [0, 0], outputs
    reports = [json.loads(out) for out, _ in outputs]
    by_fleets = sum(row["applied"] for r in reports for row in r["targets"])
    assert by_fleets in (SIZE * 3, SIZE * 3 - 3)  # the single run may have done urls[0]
    assert all(fleet.versions(url) == [1, 2, 3] for url in fleet.urls)
    assert all(PASSWORD not in out + err for out, err in outputs)


def test_a_targets_file_with_a_bad_line_starts_nothing(fleet: Fleet) -> None:
    lines = [*fleet.urls[:3], f"mysql://someone:{PASSWORD}@db/tenant", *fleet.urls[3:]]
    fleet.write("fleet.txt", "\n".join(lines) + "\n", ".")
    result = fleet.fleet("migrate", "--targets", "fleet.txt", code=EXIT_USAGE)
    assert result.stderr.splitlines() == [
        "error: fleet.txt:4: 'mysql://someone:***@db/tenant' is neither a postgresql:// URL "
        "nor an environment name (development, test, staging, production)"
    ]
    assert all(fleet.versions(url) is None for url in fleet.urls)


def test_fail_fast_starts_no_target_after_the_first_failure(fleet: Fleet) -> None:
    _break(fleet, 1)
    report = fleet.report("migrate", "--targets", "fleet.txt", "--parallel", "1",
                          "--fail-fast", code=1)
    assert _states(report) == ["succeeded", "failed", *["skipped"] * (SIZE - 2)]
    failed = report["targets"][1]["target"]
    assert report["targets"][2]["error"] == f"not started: --fail-fast after {failed} failed"
    assert [fleet.versions(url) for url in fleet.urls[2:]] == [None] * (SIZE - 2)


def test_a_failed_canary_leaves_the_rest_untouched_until_the_rerun(fleet: Fleet) -> None:
    _break(fleet, 1)
    report = fleet.report("migrate", "--targets", "fleet.txt", "--canary", "3", code=1)
    assert _states(report) == ["succeeded", "failed", "succeeded", *["skipped"] * (SIZE - 3)]
    assert report["targets"][5]["error"] == "not started: a canary target failed (--canary 3)"
    assert [fleet.versions(url) for url in fleet.urls[3:]] == [None] * (SIZE - 3)

    _fix(fleet, 1)
    fleet.write("report.json", json.dumps(report), ".")
    rerun = fleet.report("migrate", "--targets", "fleet.txt", "--only-failed", "report.json",
                         "--canary", "3")
    assert len(rerun["targets"]) == SIZE - 2
    assert all(fleet.versions(url) == [1, 2, 3] for url in fleet.urls)


def test_schemas_mode_migrates_each_schema_with_its_own_history(fleet: Fleet) -> None:
    url = fleet.urls[0]
    report = fleet.report("migrate", "--schemas", "tenant_a,Tenant_B,tenant_c",
                          "--database-url", url)
    assert [(r["target"], r["applied"]) for r in report["targets"]] \
        == [("tenant_a", 3), ("Tenant_B", 3), ("tenant_c", 3)]
    for schema in ("tenant_a", "Tenant_B", "tenant_c"):
        assert fleet.versions(url, schema) == [1, 2, 3]
        assert fleet.query("SELECT to_regclass(%s) IS NOT NULL",
                           (sql.Identifier(schema, "orders").as_string(None),)) == [(True,)]
    assert fleet.versions(url) is None  # public: neither history nor tables
    assert fleet.query("SELECT to_regclass('public.accounts')") == [(None,)]

    status = fleet.fleet("status", "--schemas", "tenant_a,Tenant_B", "--database-url", url)
    assert "status: 2 targets: 2 succeeded" in status.stdout
    # the familiar spelling: a command given targets runs as `sqlmig fleet COMMAND`
    same = fleet.spawn("status", "--schemas=tenant_a", "--database-url", url, "--json")
    out, err = same.communicate(timeout=60)
    assert same.returncode == 0, err
    assert [(r["target"], r["state"]) for r in json.loads(out)["targets"]] == [
        ("tenant_a", "succeeded")]


def test_a_targets_query_on_a_control_database_names_databases_or_schemas(
    fleet: Fleet,
) -> None:
    control = fleet.urls[0]
    with psycopg.connect(control, autocommit=True) as conn:
        conn.execute("CREATE TABLE tenants (url text)")
        for url in fleet.urls[1:4]:
            conn.execute("INSERT INTO tenants VALUES (%s)", (url,))
    report = fleet.report("migrate", "--targets-query", "SELECT url FROM tenants ORDER BY url",
                          "--database-url", control)
    assert [r["applied"] for r in report["targets"]] == [3, 3, 3]
    assert [fleet.versions(url) for url in fleet.urls[:5]] == [None, *[[1, 2, 3]] * 3, None]

    schemas = fleet.report("migrate", "--targets-query",
                           "SELECT 'tenant_' || g FROM generate_series(1, 2) g",
                           "--database-url", control)
    assert [r["target"] for r in schemas["targets"]] == ["tenant_1", "tenant_2"]
    assert fleet.versions(control, "tenant_2") == [1, 2, 3]

    wrong = fleet.fleet("migrate", "--targets-query", "SELECT nope FROM tenants",
                        "--database-url", control, code=EXIT_USAGE)
    assert wrong.stderr.startswith('error: --targets-query: column "nope" does not exist')
    written = fleet.fleet("migrate", "--targets-query", "DELETE FROM tenants RETURNING url",
                          "--database-url", control, code=EXIT_USAGE)
    assert "read-only transaction" in written.stderr
    assert fleet.query("SELECT count(*) FROM tenants") == [(3,)]


def test_up_rollback_redo_plan_check_and_verify_run_over_the_fleet_as_single_runs(
    fleet: Fleet,
) -> None:
    fleet.fleet("migrate", "--targets", "fleet.txt", "--to", "2")
    assert {tuple(fleet.versions(url) or []) for url in fleet.urls} == {(1, 2)}
    rolled = fleet.report("rollback", "--targets", "fleet.txt", "--steps", "1")
    assert {(r["from_version"], r["to_version"], r["applied"]) for r in rolled["targets"]} \
        == {(2, 1, 1)}
    table = fleet.fleet("up", "--targets", "fleet.txt", "--count", "2").stdout
    assert "migrate" not in table and f"up: {SIZE} targets: {SIZE} succeeded" in table
    assert {tuple(fleet.versions(url) or []) for url in fleet.urls} == {(1, 2, 3)}

    redone = fleet.report("redo", "--targets", "fleet.txt")
    assert {(r["from_version"], r["to_version"], r["applied"]) for r in redone["targets"]} \
        == {(3, 3, 2)}
    fleet.pair("0004_notes", "CREATE TABLE notes (id int);", "DROP TABLE notes;")
    planned = fleet.report("plan", "--targets", "fleet.txt")
    assert {r["pending"] for r in planned["targets"]} == {1}
    checked = fleet.report("check", "--targets", "fleet.txt")
    assert [(r["target"], r["state"]) for r in checked["targets"]] \
        == [(parse_targets(fleet.urls[0], "x")[0].name, "succeeded")]
    assert {tuple(fleet.versions(url) or []) for url in fleet.urls} == {(1, 2, 3)}

    assert fleet.report("verify", "--targets", "fleet.txt")["counts"]["succeeded"] == SIZE
    fleet.pair("0001_accounts", "CREATE TABLE accounts (id bigint);", "DROP TABLE accounts;")
    verified = fleet.report("verify", "--targets", "fleet.txt", code=1)
    assert {(r["state"], r["error"].split(":")[0]) for r in verified["targets"]} \
        == {("failed", "1 problem")}


def test_status_over_the_fleet_reads_pending_counts_and_the_files_once(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans: list[Path] = []
    real_scan = files._scan

    def counted(directory: Path, defer_downs: bool, cache: Path | None = None) -> files.Scan:
        scans.append(directory)
        return real_scan(directory, defer_downs, cache)

    monkeypatch.setattr(files, "_scan", counted)
    settings = config.resolve(root=fleet.root, env="development")
    targets = parse_targets(fleet.root.joinpath("fleet.txt").read_text(), "fleet.txt")
    migrated = commands.fleet(settings, targets, command="migrate", parallel=3)
    assert [r.state for r in migrated.results] == [State.SUCCEEDED] * SIZE
    assert len(scans) == 1
    fleet.pair("0004_notes", "CREATE TABLE notes (id int);", "DROP TABLE notes;")
    report = commands.fleet(settings, targets, command="status", parallel=3)
    assert {(r.state, r.from_version, r.pending) for r in report.results} \
        == {(State.SUCCEEDED, 3, 1)}
    assert len(scans) == 2


def test_ctrl_c_mid_fleet_cancels_the_running_targets_and_reports_what_was_done(
    fleet: Fleet,
) -> None:
    fleet.pair("0002_orders", "SELECT pg_sleep(60); CREATE TABLE orders (id int);",
               "DROP TABLE orders;")
    fleet.write("fleet.txt", "\n".join(fleet.urls[:4]) + "\n", ".")
    run = fleet.spawn("fleet", "migrate", "--targets", "fleet.txt", "--parallel", "2",
                      "--json")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sleeping = fleet.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                                   "'%%pg_sleep(60)%%' AND pid <> pg_backend_pid()")[0][0]
            if sleeping == 2:
                break
            time.sleep(0.05)
        assert sleeping == 2
        time.sleep(0.3)  # a third target would have connected by now
        assert fleet.query("SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND "
                           "application_name = 'sqlmig'", (fleet.servers.role,)) == [(2,)]
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == EXIT_INTERRUPTED, err
    report = json.loads(out)
    assert report["interrupted"] is True
    assert sorted(_states(report)) == ["cancelled", "cancelled", "skipped", "skipped"]
    for row, url in zip(report["targets"], fleet.urls, strict=False):
        if row["state"] == "cancelled":
            assert (row["applied"], row["to_version"]) == (1, 1)
            assert "canceling statement" in row["error"]
            assert fleet.versions(url) == [1]
        else:
            assert row["error"] == "not started: interrupted"
            assert fleet.versions(url) is None
    assert PASSWORD not in out + err
