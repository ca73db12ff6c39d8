"""SQL that only newer PostgreSQL versions accept, on the suite's server (whichever version
SQLMIG_TEST_PG_VERSION picks; `make test-matrix` runs this on 13 to 18). sqlmig parses with
the newest grammar, so it never refuses such a file itself: the server decides, and an older
one's refusal is a located error with nothing applied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Project

# (feature, first major version that runs it, the migration; its error on older ones)
FEATURES = [
    ("MERGE", 15,
     "CREATE TABLE t (id int PRIMARY KEY, n int);\n"
     "MERGE INTO t USING (VALUES (1, 2)) AS s (id, n) ON t.id = s.id\n"
     "  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.n);\n",
     '0001_f.up.sql:2:1: syntax error at or near "MERGE"'),
    ("UNIQUE NULLS NOT DISTINCT", 15,
     "CREATE TABLE t (id int, UNIQUE NULLS NOT DISTINCT (id));\n",
     '0001_f.up.sql:1:32: syntax error at or near "NULLS"'),
    ("virtual generated column", 18,
     "CREATE TABLE t (id int, twice int GENERATED ALWAYS AS (id * 2) VIRTUAL);\n",
     '0001_f.up.sql:1:64: syntax error at or near "VIRTUAL"'),
    ("CREATE OR REPLACE TRIGGER", 14,
     "CREATE TABLE t (id int);\n"
     "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;\n"
     "CREATE OR REPLACE TRIGGER g BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n",
     '0001_f.up.sql:3:19: syntax error at or near "TRIGGER"'),
]


@pytest.mark.parametrize(("since", "up", "error"), [f[1:] for f in FEATURES],
                         ids=[f[0] for f in FEATURES])
def test_newer_sql_runs_from_its_version_and_is_a_located_error_before(
    project: Project, since: int, up: str, error: str
) -> None:
    project.pair("0001_f", up, "DROP TABLE t;")
    major = int(project.query("SHOW server_version_num")[0][0]) // 10000
    if major >= since:
        project.run("migrate")
        assert [v for v, *_ in project.history()] == [1]
        assert project.exists("t")
        return
    result = project.run("migrate", code=1)
    assert error in result.stderr, result.stderr
    assert result.stderr.count("Traceback") == 0
    assert project.history() == [] and not project.exists("t")


def test_the_matrix_refuses_a_version_it_has_no_build_for() -> None:
    from tests import pg_builds

    assert pg_builds.major_version("13") == 13
    for wrong in ("12", "19", "15.4", ""):
        with pytest.raises(RuntimeError, match="expected one of 13, 14, 15, 16, 17, 18"):
            pg_builds.major_version(wrong)


def test_the_builds_are_cached_where_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tests import pg_builds

    monkeypatch.setenv("SQLMIG_PG_CACHE", str(tmp_path))
    assert pg_builds.cache_root() == tmp_path
    monkeypatch.delenv("SQLMIG_PG_CACHE")
    expected = "/var/cache/sqlmig-postgresql" if os.geteuid() == 0 else "sqlmig-postgresql"
    assert str(pg_builds.cache_root()).endswith(expected)
