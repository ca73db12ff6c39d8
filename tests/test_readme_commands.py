"""Every `sqlmig ...` command the README shows runs as shown, on the shipped examples: the
30-second tour in order (its sample output included), and each other command in the state
the README describes for it. A command added to the README without a scenario here fails."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from sqlmig.cli import fleet_spelling
from tests import provision
from tests import test_adopt as adopt_tests
from tests import test_adopt_dbmate as adopt_dbmate
from tests import test_adopt_flyway as adopt_flyway
from tests import test_adopt_folders as adopt_folders
from tests.conftest import README, Project

INLINE = re.compile(r"`(sqlmig [^`]*)`")
TOUR = re.search(r"## 30-second tour\n+```sh\n(.*?)```\n+```\n(.*?)```", README, re.S)
assert TOUR is not None, "the README's tour: a sh block, then its sample output"


def _commands_in(block: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line.startswith("sqlmig ")]


TOUR_COMMANDS = _commands_in(TOUR[1])
TOUR_OUTPUT = TOUR[2].strip()


def readme_commands() -> list[str]:
    """Every sqlmig command in the README: inline in backticks, or a line of a sh block."""
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    found = set(INLINE.findall(README))
    for block in blocks:
        found.update(_commands_in(block))
    return sorted(found)


@dataclass(frozen=True)
class Scenario:
    """The state a command is shown in: commands run first, then the command itself (with
    the exit code the README promises), then what must hold afterwards."""

    before: list[str | Callable[[Project], None]] = field(default_factory=list)
    code: int = 0
    then: list[str] = field(default_factory=list)
    check: Callable[[Project], bool] | None = None
    seeds: bool = False
    staging: bool = False  # DATABASE_URL_STAGING and DATABASE_URL_TEST get databases of their own
    shell: bool = False  # a bash user whose home is the project folder


def _versions(project: Project) -> list[int]:
    return [row[0] for row in project.history()]


def _test_versions() -> list[int]:
    """The versions the test environment's database (DATABASE_URL_TEST) records: [] when it
    has no history table yet."""
    with psycopg.connect(os.environ["DATABASE_URL_TEST"], autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('public.schema_migrations')").fetchone() == (None,):
            return []
        return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def _test_exists() -> bool:
    try:
        psycopg.connect(os.environ["DATABASE_URL_TEST"]).close()
    except psycopg.OperationalError as err:
        if "does not exist" in str(err):
            return False
        raise
    return True


def _edit_0003(project: Project) -> None:
    path = project.sql_dir / "0003_add_user_settings.up.sql"
    path.write_text(path.read_text(encoding="utf-8") + "-- reviewed\n", encoding="utf-8")


MIGRATED: list[str | Callable[[Project], None]] = ["sqlmig migrate"]


def _coming_from(build: Callable[[Project], None]) -> Callable[[Project], None]:
    """A project another tool migrated: its files and history, and no sqlmig migrations yet."""
    def before(project: Project) -> None:
        for path in project.sql_dir.iterdir():
            path.unlink()
        build(project)
    return before


def _adopted(table: str, count: int, tool: str) -> Callable[[Project], bool]:
    def check(project: Project) -> bool:
        rows = project.query(f"SELECT adopted FROM {table}")
        summary = json.loads(_run(project, "sqlmig status --json"))["summary"]
        return rows == [(tool,)] * count and summary["applied"] == count == sum(
            summary.values())
    return check


def _golang_migrate(project: Project) -> None:
    adopt_tests.golang_migrate_project(project, applied=3)


def _knex(project: Project) -> None:
    adopt_folders.knex_project(project)


def _diesel(project: Project) -> None:
    adopt_folders.diesel_project(project, list(adopt_folders.DIESEL))
def _tenants(*environments: str) -> Callable[[Project], None]:
    """A tenants.txt naming environments (each its own database) as the fleet's targets."""
    def before(project: Project) -> None:
        project.write("tenants.txt", "# tenants\n" + "\n".join(environments) + "\n", ".")
    return before


def _fleet_done(project: Project) -> bool:
    """Both tenants migrated, and report.json says so."""
    report = json.loads((project.root / "report.json").read_text(encoding="utf-8"))
    return (_versions(project) == _test_versions() == [1, 2, 3, 4]
            and [row["state"] for row in report["targets"]] == ["succeeded"] * 2)


def _in_schemas(project: Project) -> bool:
    return all(project.query(f"SELECT version FROM {schema}.schema_migrations ORDER BY 1")
               == [(1,), (2,), (3,), (4,)] for schema in ("tenant_a", "tenant_b", "tenant_c"))


def _tenants_table(project: Project) -> None:
    project.query("CREATE TABLE tenants (schema_name text, active bool)")
    project.query("INSERT INTO tenants VALUES ('acme', true), ('globex', true), "
                  "('initech', false)")


def _active_tenants_migrated(project: Project) -> bool:
    schemas = {row[0] for row in project.query("SELECT nspname FROM pg_namespace")}
    return ({"acme", "globex"} <= schemas and "initech" not in schemas
            and project.query("SELECT count(*) FROM acme.schema_migrations") == [(4,)])


SCENARIOS: dict[str, Scenario] = {
    "sqlmig migrate": Scenario(check=lambda p: (_versions(p) == [1, 2, 3, 4])),
    "sqlmig migrate --to 3": Scenario(check=lambda p: (_versions(p) == [1, 2, 3])),
    "sqlmig up 2": Scenario(check=lambda p: (_versions(p) == [1, 2])),
    "sqlmig rollback --to 2": Scenario(MIGRATED, check=lambda p: (_versions(p) == [1, 2])),
    "sqlmig redo": Scenario(MIGRATED, check=lambda p: (_versions(p) == [1, 2, 3, 4])),
    "sqlmig status --exit-code": Scenario(MIGRATED),
    "sqlmig new add_subtitle -t alter_table --table posts -c subtitle:text": Scenario(
        MIGRATED, then=["sqlmig lint", "sqlmig migrate"],
        check=lambda p: (_versions(p) == [1, 2, 3, 4, 5])),
    "sqlmig verify --diff": Scenario(MIGRATED),
    "sqlmig verify --offline": Scenario(),
    "sqlmig repair": Scenario(MIGRATED),
    "sqlmig repair --accept 3": Scenario([*MIGRATED, _edit_0003], then=["sqlmig verify"]),
    "sqlmig baseline --version 12": Scenario(
        check=lambda p: (_versions(p) == [1, 2, 3, 4])),
    "sqlmig plan": Scenario(),
    # 0003 measured (ALTER TABLE users), 0004 estimated (no-transaction); nothing recorded
    "sqlmig plan --locks": Scenario(["sqlmig migrate --to 2"],
                                    check=lambda p: (_versions(p) == [1, 2])),
    "sqlmig migrate --dry-run --locks": Scenario(["sqlmig migrate --to 2"],
                                                 check=lambda p: (_versions(p) == [1, 2])),
    "sqlmig locks": Scenario(["sqlmig migrate --to 2"]),
    "sqlmig locks --exit-code": Scenario(["sqlmig migrate --to 2"]),  # nobody else: exit 0
    "sqlmig lint": Scenario(),
    "sqlmig lint --format github": Scenario(),
    "sqlmig lint -": Scenario(),  # nothing on stdin: nothing to report
    "sqlmig lint sql/0004_create_indexes.up.sql": Scenario(),
    "sqlmig lint --pg-version 13 --exclude 'sql/0001_*'": Scenario(),
    "sqlmig check": Scenario(),
    "sqlmig check --keep-going --strict": Scenario(),
    "sqlmig diff --from staging --to production": Scenario(
        [*MIGRATED, "sqlmig migrate --env staging"], staging=True),
    "sqlmig docs -o docs/schema.md": Scenario(
        MIGRATED, check=lambda p: ("posts" in (p.root / "docs/schema.md").read_text())),
    "sqlmig dump -o schema.sql": Scenario(
        MIGRATED, check=lambda p: ("CREATE TABLE" in (p.root / "schema.sql").read_text())),
    "sqlmig snapshots": Scenario(),
    "sqlmig init my-service --ci github --compose": Scenario(
        check=lambda p: all((p.root / "my-service" / name).is_file() for name in (
            "sqlmig.toml", ".github/workflows/sqlmig-review.yml", "compose.sqlmig.yaml"))),
    "sqlmig config --env production": Scenario(),
    "sqlmig init": Scenario(check=lambda p: (p.root / ".gitignore").is_file()),
    "sqlmig init .": Scenario(check=lambda p: ".sqlmig/" in (p.root / ".gitignore").read_text()),
    "sqlmig new create_accounts -t create_table --table accounts -c email:text:notnull": Scenario(
        then=["sqlmig migrate"], check=lambda p: (_versions(p) == [1, 2, 3, 4, 5])),
    "sqlmig migrate --env production --wait 60 --no-snapshot": Scenario(
        check=lambda p: (_versions(p) == [1, 2, 3, 4]
                         and not (p.root / ".sqlmig" / "snapshots").exists())),
    "sqlmig server status --json": Scenario(),
    "sqlmig server stop": Scenario(),
    "sqlmig seed --env development": Scenario(
        MIGRATED, seeds=True, check=lambda p: (p.query("SELECT count(*) FROM users")[0][0] > 0)),
    "sqlmig setup": Scenario(
        seeds=True, check=lambda p: (p.query("SELECT count(*) FROM posts")[0][0] > 0)),
    "sqlmig fresh": Scenario(MIGRATED, check=lambda p: (_versions(p) == [1, 2, 3, 4])),
    "sqlmig reset --env test": Scenario(["sqlmig migrate --env test"], staging=True),
    "sqlmig down": Scenario(MIGRATED, check=lambda p: (_versions(p) == [1, 2, 3])),
    "sqlmig migrate --verbose": Scenario(check=lambda p: (_versions(p) == [1, 2, 3, 4])),
    "sqlmig --json status": Scenario(MIGRATED),
    "sqlmig create": Scenario(),  # the database exists: said, exit 0
    "sqlmig create --env test": Scenario(["sqlmig drop --env test"], staging=True,
                                         check=lambda p: (_test_versions() == [])),
    "sqlmig drop --env test": Scenario(staging=True, check=lambda p: (not _test_exists())),
    "sqlmig load --env test": Scenario([*MIGRATED, "sqlmig dump"], staging=True,
                                       check=lambda p: (_test_versions() == [1, 2, 3, 4])),
    "sqlmig wait --timeout 30": Scenario(),
    "sqlmig --show-completion": Scenario(shell=True),
    "sqlmig adopt --from golang-migrate --dir migrations --dry-run": Scenario(
        [_coming_from(_golang_migrate)],
        check=lambda p: not any(p.sql_dir.iterdir()) and not p.exists("sqlmig_migrations")),
    "sqlmig adopt --from golang-migrate --dir migrations": Scenario(
        [_coming_from(_golang_migrate)],
        check=_adopted("sqlmig_migrations", 3, "golang-migrate")),
    "sqlmig adopt --from dbmate": Scenario(
        [_coming_from(adopt_dbmate.dbmate_project)],
        check=_adopted("sqlmig_migrations", 3, "dbmate")),
    "sqlmig adopt --from diesel": Scenario(
        [_coming_from(_diesel)], check=_adopted("schema_migrations", 3, "diesel")),
    "sqlmig adopt --from knex": Scenario(
        [_coming_from(_knex)], check=_adopted("schema_migrations", 3, "knex")),
    "sqlmig adopt --from flyway": Scenario(
        [_coming_from(adopt_flyway.flyway_project)],
        check=_adopted("schema_migrations", 4, "flyway")),
    "sqlmig --install-completion": Scenario(
        shell=True, check=lambda p: (p.root / ".bash_completions" / "sqlmig.sh").is_file()),
    "sqlmig fleet migrate --targets tenants.txt --canary 2 --parallel 8 --report report.json":
        Scenario([_tenants("development", "test")], staging=True, check=_fleet_done),
    "sqlmig fleet migrate --targets tenants.txt --only-failed report.json": Scenario(
        [_tenants("development"), "sqlmig fleet migrate --targets tenants.txt --to 2",
         "sqlmig fleet migrate --targets tenants.txt --to 1 --report report.json"],
        check=lambda p: _versions(p) == [1, 2]),  # nothing to rerun: all succeeded
    "sqlmig migrate --targets tenants.txt": Scenario(
        [_tenants("development")], check=lambda p: _versions(p) == [1, 2, 3, 4]),
    "sqlmig fleet status --targets tenants.txt --json": Scenario(
        [_tenants("development"), *MIGRATED]),
    "sqlmig fleet migrate --schemas tenant_a,tenant_b,tenant_c": Scenario(check=_in_schemas),
    'sqlmig fleet migrate --targets-query "SELECT schema_name FROM tenants WHERE active"':
        Scenario([_tenants_table], check=_active_tenants_migrated),
}


def _run(project: Project, command: str, code: int = 0) -> str:
    args = shlex.split(command)
    assert args[0] == "sqlmig"
    # as sqlmig's main() reads them (`migrate --targets F` is `fleet migrate --targets F`)
    return str(project.run(*fleet_spelling(args[1:]), code=code).stdout)


@pytest.fixture
def other_databases(pg_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Databases of their own for the staging and test environments."""
    urls = [provision.create_database(pg_admin_url) for _ in range(2)]
    monkeypatch.setenv("DATABASE_URL_STAGING", urls[0])
    monkeypatch.setenv("DATABASE_URL_TEST", urls[1])
    yield
    for url in urls:
        provision.drop_database(pg_admin_url, url)


def test_every_readme_command_has_a_scenario() -> None:
    missing = [c for c in readme_commands() if c not in SCENARIOS and c not in TOUR_COMMANDS]
    assert not missing, f"README commands with no scenario in this test: {missing}"
    stale = [c for c in SCENARIOS if c not in readme_commands()]
    assert not stale, f"scenarios for commands the README no longer shows: {stale}"


@pytest.mark.parametrize("command", [c for c in readme_commands() if c in SCENARIOS])
def test_a_readme_command_runs_as_shown(
    command: str, project: Project, request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = SCENARIOS[command]
    project.copy_examples(seeds=scenario.seeds)
    if scenario.staging:
        request.getfixturevalue("other_databases")
    if scenario.shell:
        monkeypatch.setenv("HOME", str(project.root))
        monkeypatch.setenv("SHELL", "/bin/bash")
    for step in scenario.before:
        if callable(step):
            step(project)
        else:
            _run(project, step)
    _run(project, command, scenario.code)
    for step in scenario.then:
        _run(project, step)
    if scenario.check is not None:
        assert scenario.check(project), f"{command}: not what the README says it does"


def test_the_tour_runs_in_order_and_prints_what_the_readme_shows(project: Project) -> None:
    """After `make migrate` (the examples applied as batch 1), the tour as written."""
    project.copy_examples()
    _run(project, "sqlmig migrate")
    printed = {command: _run(project, command) for command in TOUR_COMMANDS}
    migrate = next(c for c in TOUR_COMMANDS if c.split()[:2] == ["sqlmig", "migrate"])
    sample = re.escape(TOUR_OUTPUT)
    sample = re.sub(r"\\\(\d+\\ ms\\\)", r"\\(\\d+\\ ms\\)", sample)
    sample = re.sub(r"in\\ \d+\\ ms", r"in\\ \\d+\\ ms", sample)
    sample = sample.replace(re.escape("app@localhost:5432/app"), r".+")
    assert re.fullmatch(sample, printed[migrate].strip()), printed[migrate]
    assert _versions(project) == [1, 2, 3, 4], "the tour's rollback undid batch 2"
    assert len(list(project.sql_dir.glob("0005_create_comments.*.sql"))) == 2
