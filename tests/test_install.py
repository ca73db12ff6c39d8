"""sqlmig as another project installs it: the wheel built from this source, installed into a
fresh virtualenv outside the repository, its console script run in a new project folder.

No network: the wheel is built with the test venv's setuptools, and the new venv reaches the
dependencies through a .pth file naming the test venv's site-packages (which holds sqlmig
itself only as an editable finder, a .pth that a path added this way never runs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REPO

SOURCE = ("pyproject.toml", "README.md", "LICENSE", "sqlmig")


def build(kind: str, source: Path, out: Path) -> Path:
    """Build the wheel or sdist of `source` into `out` with setuptools' own backend."""
    script = (f"from setuptools import build_meta; import sys; "
              f"print(build_meta.build_{kind}(sys.argv[1]))")
    result = subprocess.run([sys.executable, "-c", script, str(out)], cwd=source,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return out / result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the wheel and the sdist built from a copy of the source."""
    work = tmp_path_factory.mktemp("build")
    source = work / "src"
    source.mkdir()
    for name in SOURCE:  # a copy: the build's egg-info and build/ stay out of the repository
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, source / name)
    out = work / "dist"
    out.mkdir()
    build("wheel", source, out)
    build("sdist", source, out)
    shutil.rmtree(source)  # nothing of the source copy is left for a venv to run
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding sqlmig installed from its wheel."""
    venv = tmp_path_factory.mktemp("install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(subprocess.run(
        [venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"),
                    "install", "-q", "--no-deps", "--no-index", str(next(dist.glob("*.whl")))],
                   check=True, capture_output=True)
    return venv / "bin"


def test_wheel_and_sdist_carry_the_license(dist: Path) -> None:
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as archive:
        licenses = [n for n in archive.namelist() if n.endswith("/LICENSE")]
        assert licenses and b"MIT License" in archive.read(licenses[0])
        metadata = archive.read(next(n for n in archive.namelist()
                                     if n.endswith(".dist-info/METADATA"))).decode()
        assert "License-Expression: MIT" in metadata
    with tarfile.open(next(dist.glob("*.tar.gz"))) as archive:
        assert any(n.endswith("/LICENSE") for n in archive.getnames())


def test_installed_wheel_runs_a_new_project_end_to_end(
    installed: Path, db_url: str, tmp_path: Path
) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SQLMIG", "DATABASE_URL", "MIGRATION")) and key != "PYTHONPATH"}
    env |= {"DATABASE_URL": db_url, "COLUMNS": "200", "NO_COLOR": "1"}

    def sqlmig(*args: str, cwd: Path, code: int = 0) -> str:
        result = subprocess.run([str(installed / "sqlmig"), *args], cwd=cwd, env=env,
                                capture_output=True, text=True)
        assert result.returncode == code, f"sqlmig {' '.join(args)}: {result.stderr}"
        assert "Traceback" not in result.stderr
        return result.stdout

    where = subprocess.run(
        [str(installed / "python"), "-c", "import sqlmig; print(sqlmig.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(installed.parent), where  # the wheel, not the source tree
    assert not Path(where).is_relative_to(REPO)

    sqlmig("init", "demo", cwd=tmp_path)
    demo = tmp_path / "demo"
    sqlmig("new", "create_users", "-t", "create_table", "--table", "users",
           "-c", "email:text:notnull", cwd=demo)
    assert "applied 1 migration as batch 1" in sqlmig("migrate", cwd=demo)
    status = json.loads(sqlmig("status", "--json", cwd=demo))
    assert [(m["name"], m["state"]) for m in status["migrations"]] == [("create_users", "applied")]
    sqlmig("lint", cwd=demo)
    # the list of built-in functions ships in the wheel: now() is known to be stable
    (demo / "defaults.sql").write_text("ALTER TABLE users ADD COLUMN at timestamptz "
                                       "DEFAULT now();\n", encoding="utf-8")
    assert "no findings" in sqlmig("lint", "--disable", "lock-timeout-missing", "defaults.sql",
                                   cwd=demo)
    sqlmig("check", cwd=demo)
    sqlmig("dump", "-o", "schema.sql", cwd=demo)
    assert "CREATE TABLE public.users" in (demo / "schema.sql").read_text()
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT version, name FROM public.schema_migrations").fetchall()
    assert rows == [(1, "create_users")]
