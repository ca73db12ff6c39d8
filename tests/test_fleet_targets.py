"""A fleet's targets and report, without a database: reading --targets files (lines and TOML)
and --schemas, naming targets without their passwords, the report's exit code and JSON, and
--only-failed reading a report back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlmig.core.targets import (
    FleetReport,
    State,
    Target,
    TargetResult,
    only,
    parse_schemas,
    parse_targets,
    split_canary,
    target_name,
    targets_from_rows,
    unfinished,
)
from sqlmig.errors import EXIT_ERROR, EXIT_INTERRUPTED, ConfigError

PASSWORD = "Fl33t-pw"
ACME = f"postgresql://app:{PASSWORD}@db1.example.com/acme"
GLOBEX = f"postgresql://app:{PASSWORD}@db2.example.com:6432/globex?sslmode=require"


def test_a_targets_file_reads_urls_and_environments_skipping_comments_and_blanks() -> None:
    text = f"# tenants\n\n{ACME}   # the first customer\n  staging\n{GLOBEX}\n"
    targets = parse_targets(text, "fleet.txt")
    assert targets == [
        Target("app@db1.example.com:5432/acme", url=ACME),
        Target("staging", env="staging"),
        Target("app@db2.example.com:6432/globex", url=GLOBEX),
    ]


def test_a_password_holding_a_hash_is_not_read_as_a_comment() -> None:
    url = "postgresql://app:pa#ss@db/acme"
    assert parse_targets(url, "fleet.txt")[0].url == url


@pytest.mark.parametrize(("text", "message"), [
    (f"{ACME}\nmysql://app:{PASSWORD}@db/x\n",
     "fleet.txt:2: 'mysql://app:***@db/x' is neither a postgresql:// URL nor an environment "
     "name (development, test, staging, production)"),
    ("staging\nproduction\nstaging\n",
     "fleet.txt:3: staging is listed twice (first at fleet.txt:1)"),
    (f"postgresql://app:{PASSWORD}@db/\n", "fleet.txt:1: the URL names no database (.../dbname)"),
    (f"postgresql://app:{PASSWORD}@db/a b\n",
     "fleet.txt:1: a URL holds no spaces (encode them as %20)"),
    ("# nothing yet\n\n", "fleet.txt: names no targets"),
])
def test_a_bad_targets_file_is_one_line_naming_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_targets(text, "fleet.txt")
    assert str(caught.value) == message
    assert PASSWORD not in str(caught.value)


def test_a_toml_targets_file_names_its_targets() -> None:
    text = f'[targets]\nacme = "{ACME}"\n"globex corp" = "production"\n'
    assert parse_targets(text, "fleet.toml") == [
        Target("acme", url=ACME), Target("globex corp", env="production"),
    ]


@pytest.mark.parametrize(("text", "message"), [
    ('[targets]\nacme = "x"\n', "fleet.toml:2: 'x' is neither a postgresql:// URL"),
    ('[targets]\nacme = "test"\nbeta = 3\n',
     "fleet.toml:3: beta must be a URL or environment name string"),
    ('acme = "test"\n', "fleet.toml: expected one [targets] table"),
    ('[targets\n', "fleet.toml: invalid TOML: "),
])
def test_a_bad_toml_targets_file_names_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_targets(text, "fleet.toml")
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(("url", "name"), [
    (ACME, "app@db1.example.com:5432/acme"),
    (GLOBEX, "app@db2.example.com:6432/globex"),
    (f"postgresql://app:{PASSWORD}@/tenant_7?host=/run/postgresql",
     "app@socket /run/postgresql:5432/tenant_7"),
    ("postgres://localhost/x", "localhost:5432/x"),
])
def test_a_target_is_named_without_its_password(url: str, name: str) -> None:
    assert target_name(url) == name


def test_schemas_are_plain_identifiers_each_listed_once() -> None:
    assert parse_schemas("tenant_a, tenant_b,tenant_c") == [
        Target("tenant_a", schema="tenant_a"), Target("tenant_b", schema="tenant_b"),
        Target("tenant_c", schema="tenant_c"),
    ]
    with pytest.raises(ConfigError, match=r"^--schemas: 'a;b' is not a plain SQL identifier"):
        parse_schemas("a;b")
    with pytest.raises(ConfigError, match=r"^--schemas: a is listed twice$"):
        parse_schemas("a,b,a")
    with pytest.raises(ConfigError, match=r"^--schemas: names no targets$"):
        parse_schemas(" , ")


def test_a_canary_runs_alone_first_then_the_rest() -> None:
    targets = [Target(str(n)) for n in range(5)]
    assert split_canary(targets, 2) == [targets[:2], targets[2:]]
    assert split_canary(targets, 0) == [targets]
    assert split_canary(targets, 9) == [targets]


def _report(*states: State, interrupted: bool = False) -> FleetReport:
    return FleetReport("migrate", [TargetResult(f"t{n}", state, 1, 3, 2, None, 10,
                                                None if state == State.SUCCEEDED else "boom")
                                   for n, state in enumerate(states)], interrupted)


def test_the_exit_code_is_0_only_when_every_target_succeeded() -> None:
    assert _report(State.SUCCEEDED, State.SUCCEEDED).exit_code == 0
    assert _report(State.SUCCEEDED, State.FAILED).exit_code == EXIT_ERROR
    assert _report(State.SUCCEEDED, State.SKIPPED).exit_code == EXIT_ERROR
    assert _report(State.CANCELLED, interrupted=True).exit_code == EXIT_INTERRUPTED
    assert _report().exit_code == 0


def test_the_json_report_has_one_object_per_target_with_passwords_hidden() -> None:
    report = FleetReport("migrate", [
        TargetResult("acme", State.SUCCEEDED, 1, 3, 2, None, 12, None),
        TargetResult("globex", State.FAILED, 1, 1, 0, None, 8, f"cannot connect to {GLOBEX}"),
    ])
    document = report.as_json()
    assert document["counts"] == {"succeeded": 1, "failed": 1, "cancelled": 0, "skipped": 0}
    assert document["targets"][0] == {
        "target": "acme", "state": "succeeded", "from_version": 1, "to_version": 3,
        "applied": 2, "pending": None, "ms": 12, "error": None,
    }
    assert PASSWORD not in json.dumps(document)
    assert report.summary() == "migrate: 2 targets: 1 succeeded, 1 failed"


def test_the_json_report_is_written_a_target_at_a_time_as_json_dumps_writes_it() -> None:
    rows = [TargetResult("acme", State.SUCCEEDED, 1, 3, 2, None, 12, None),
            TargetResult("line\nbreak", State.FAILED, None, None, 0, 4, 8, "a\nb \u00e9 \"q\""),
            TargetResult("c", State.SKIPPED, error="not started")]
    for count in range(4):
        report = FleetReport("status", rows[:count], interrupted=count == 2)
        chunks = list(report.json_chunks())
        assert len(chunks) == (1 if count == 0 else count + 2)  # a chunk a target
        assert "".join(chunks) == json.dumps(report.as_json(), indent=2) + "\n"


def test_only_failed_reads_back_the_targets_a_report_did_not_finish() -> None:
    text = json.dumps(_report(State.SUCCEEDED, State.FAILED, State.SKIPPED,
                              State.CANCELLED).as_json())
    assert unfinished(text, "report.json") == {"t1", "t2", "t3"}
    targets = [Target(f"t{n}") for n in range(5)]
    assert only(targets, {"t1", "t3"}) == [targets[1], targets[3]]
    for bad in ("", "[]", '{"targets": [{"name": "x"}]}'):
        with pytest.raises(ConfigError, match=r"^report.json: not a fleet report"):
            unfinished(bad, "report.json")


def test_a_targets_query_returns_urls_or_schema_names() -> None:
    assert targets_from_rows([ACME, "tenant_7"]) == [
        Target("app@db1.example.com:5432/acme", url=ACME), Target("tenant_7", schema="tenant_7"),
    ]
    with pytest.raises(ConfigError) as caught:
        targets_from_rows(["tenant_1", None])
    assert str(caught.value) == ("--targets-query: row 2: None is neither a postgresql:// URL "
                                 "nor a schema name (a plain SQL identifier)")
    with pytest.raises(ConfigError, match=r"^--targets-query: names no targets$"):
        targets_from_rows([])


def test_a_command_given_targets_is_the_fleet_command() -> None:
    from sqlmig.cli import FLEET_COMMANDS, fleet_spelling
    from sqlmig.commands.fleets import COMMANDS

    assert FLEET_COMMANDS == COMMANDS
    assert fleet_spelling(["migrate", "--targets", "t.txt", "-j", "8"]) == [
        "fleet", "migrate", "--targets", "t.txt", "-j", "8"]
    assert fleet_spelling(["--json", "status", "--schemas=a,b"]) == [
        "--json", "fleet", "status", "--schemas=a,b"]
    assert fleet_spelling(["rollback", "--all", "--targets-query", "SELECT 1"])[0] == "fleet"
    for single in (["migrate"], ["status", "--json"], ["lint", "--targets", "x"],
                   ["fleet", "migrate", "--targets", "t"], ["migrate", "--targetsx"], []):
        assert fleet_spelling(single) == single


def test_schemas_from_a_file_one_a_line_with_comments(tmp_path: Path) -> None:
    from sqlmig.core.targets import parse_schema_file

    text = "# tenants\nacme\nglobex, initech  # two on a line\n\n"
    assert [t.name for t in parse_schema_file(text, tmp_path / "s.txt")] == [
        "acme", "globex", "initech"]
    with pytest.raises(ConfigError, match=r"s\.txt:3: 'bad-name' is not a plain SQL"):
        parse_schema_file("acme\n# fine\nbad-name\n", tmp_path / "s.txt")
    with pytest.raises(ConfigError, match="acme"):
        parse_schema_file("acme\nacme\n", tmp_path / "s.txt")
    with pytest.raises(ConfigError, match="names no targets"):
        parse_schema_file("# none\n", tmp_path / "s.txt")
