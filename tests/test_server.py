"""`sqlmig server status` / `server stop`: the embedded development server a real
`sqlmig migrate` started, seen and stopped through the process table, and `make clean`
stopping it before deleting its data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO


def sqlmig(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "SQLMIG_"))}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-m", "sqlmig", *args], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def state(root: Path) -> dict:
    return json.loads(sqlmig(root, "server", "status", "--json").stdout)


@pytest.fixture
def project() -> Iterator[Path]:
    """A project folder; whatever server a test leaves running there is stopped. Not under
    pytest's tmp_path: every pytest run (other workers' too) makes pytest-of-<user>/ private
    again, and the embedded server runs as its own OS user when the tests run as root."""
    tmp_path = Path(tempfile.mkdtemp(prefix="sqlmig-server-"))
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "0001_a.up.sql").write_text("CREATE TABLE a (id int);\n")
    (tmp_path / "sql" / "0001_a.down.sql").write_text("DROP TABLE a;\n")
    yield tmp_path
    pid_file = tmp_path / ".sqlmig" / "pgdata" / "postmaster.pid"
    if pid_file.exists():
        sqlmig(tmp_path, "server", "stop")
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_server_status_and_stop_see_the_server_migrate_started(project: Path) -> None:
    assert state(project) == {"data_dir": ".sqlmig/pgdata", "initialised": False,
                              "running": False, "pid": None, "started_at": None,
                              "socket_dir": None, "port": None}
    sqlmig(project, "migrate")
    running = state(project)
    assert running["running"] and running["initialised"]
    server = psutil.Process(running["pid"])
    assert "postgres" in server.name()
    assert sqlmig(project, "server", "status").stdout.startswith(f"running: pid {server.pid}")

    stopped = sqlmig(project, "server", "stop").stdout
    assert stopped == (f"stopped the embedded PostgreSQL (pid {server.pid}, "
                       "data in .sqlmig/pgdata/)\n")
    assert not psutil.pid_exists(server.pid)
    assert state(project)["running"] is False and state(project)["initialised"] is True
    again = sqlmig(project, "server", "stop").stdout
    assert again == "the embedded PostgreSQL is not running (data in .sqlmig/pgdata/)\n"

    sqlmig(project, "status")  # the data was kept: the next command starts it again
    assert state(project)["running"] is True
    rows = sqlmig(project, "status", "--json").stdout
    assert [m["state"] for m in json.loads(rows)["migrations"]] == ["applied"]


def test_a_stale_pid_file_naming_another_process_is_not_signalled(project: Path) -> None:
    data = project / ".sqlmig" / "pgdata"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("18\n")
    # after a reboot the pid in postmaster.pid may belong to anything: here, this test
    (data / "postmaster.pid").write_text(f"{os.getpid()}\n{data}\n0\n5432\n{data}\n\n\nready\n")
    assert state(project)["running"] is False
    assert "not running" in sqlmig(project, "server", "stop").stdout
    assert psutil.pid_exists(os.getpid())
    (data / "postmaster.pid").unlink()


def test_make_clean_stops_the_server_before_deleting_its_data(project: Path) -> None:
    sqlmig(project, "migrate")
    pid = state(project)["pid"]
    shutil.copy(REPO / "Makefile", project / "Makefile")
    venv = project / ".venv" / "bin"
    venv.mkdir(parents=True)
    # the Makefile runs .venv/bin/sqlmig: this project's is the test's own sqlmig
    (venv / "sqlmig").write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} "
                                 "-m sqlmig \"$@\"\n")
    (venv / "sqlmig").chmod(0o755)
    result = subprocess.run(["make", "clean"], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"stopped the embedded PostgreSQL (pid {pid}" in result.stdout
    assert not psutil.pid_exists(pid)
    assert not (project / ".sqlmig").exists() and not (project / ".venv").exists()
