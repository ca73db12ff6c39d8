"""The container image's layout, without a Docker engine: the Dockerfile's own user (uid
10001), its root-owned /app holding the user's project, and its data folder, rebuilt in a
temporary directory and run as that uid (or, not as root, with /app made read-only)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
UID = 10001
# As root: become uid 10001, keeping only the power to read any file (this Python lives
# under /root), never to write one: /app stays as unwritable as in the image.
AS_IMAGE_USER = (
    ("setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
     "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search")
    if os.geteuid() == 0 else ()
)


def instruction(name: str) -> list[str]:
    """The arguments of every `name` instruction of the final stage (continued lines joined)."""
    final = DOCKERFILE.split("\nFROM ")[-1].replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in final.splitlines()
            if line.startswith(f"{name} ")]


def test_the_image_runs_as_10001_with_root_owned_app_and_a_data_volume_it_owns() -> None:
    assert instruction("USER") == [str(UID)] and instruction("WORKDIR") == ["/app"]
    env = " ".join(instruction("ENV"))
    assert "SQLMIG_SNAPSHOT_DIR=/var/lib/sqlmig/snapshots" in env
    assert instruction("VOLUME") == ['["/var/lib/sqlmig"]']
    made = " ".join(instruction("RUN"))
    assert re.search(rf"install -d -o {UID} -g {UID} -m 0700 /var/lib/sqlmig "
                     r"/var/lib/sqlmig/snapshots", made)
    # nothing of sqlmig's own examples: an unmounted image must not migrate them anywhere
    assert not any(arg.split()[0] in ("sql", "seeds", "./sql") for arg in instruction("COPY"))


@pytest.fixture
def image(db_url: str) -> Iterator[tuple[Path, str]]:
    """(root, url): root/app is the project (root-owned, like /app after COPY), root/var/
    lib/sqlmig the data folder (the image's uid's); url reaches the test server as that uid."""
    root = Path(tempfile.mkdtemp(prefix="sqlmig-image-"))
    root.chmod(0o755)
    app = root / "app"
    (app / "sql").mkdir(parents=True)
    (app / "sql" / "0001_a.up.sql").write_text("CREATE TABLE a (id int);\n")
    (app / "sql" / "0001_a.down.sql").write_text("DROP TABLE a;\n")
    # custom settings must hold in the container as they do on the laptop
    (app / "sqlmig.toml").write_text('table = "deploys"\n')
    data = root / "var" / "lib" / "sqlmig"
    (data / "snapshots").mkdir(parents=True)
    for folder in (data, data / "snapshots"):
        folder.chmod(0o700)
        if os.geteuid() == 0:
            os.chown(folder, UID, UID)
    url, params = db_url, conninfo_to_dict(db_url)
    host, port = str(params.get("host") or ""), params.get("port") or 5432
    if host.startswith("/"):  # the server's socket folder is private: a second name for it
        (root / "socket").mkdir(mode=0o755)
        os.link(f"{host}/.s.PGSQL.{port}", root / "socket" / f".s.PGSQL.{port}")
        url = make_conninfo(url, host=str(root / "socket"))
    if os.geteuid() != 0:
        app.chmod(0o555)  # not root: a folder this user cannot write stands in for root's
    try:
        yield root, url
    finally:
        app.chmod(0o755)
        shutil.rmtree(root)


def run_as_image_user(root: Path, url: str, *args: str,
                      **env: str) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": str(root),
               "DATABASE_URL": url, "COLUMNS": "200", **env}
    return subprocess.run([*AS_IMAGE_USER, sys.executable, "-m", "sqlmig", *args],
                          cwd=root / "app", env=environ, capture_output=True, text=True,
                          timeout=120)


def history(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.deploys')").fetchone() == (None,):
            return []
        return conn.execute("SELECT version, name FROM public.deploys").fetchall()


def test_production_migrate_in_the_image_layout_snapshots_to_the_data_volume(
    image: tuple[Path, str], db_url: str
) -> None:
    root, url = image
    snapshots = root / "var" / "lib" / "sqlmig" / "snapshots"
    result = run_as_image_user(root, url, "migrate", "--env", "production",
                               SQLMIG_SNAPSHOT_DIR=str(snapshots))
    assert result.returncode == 0, result.stderr
    assert "applied 1 migration" in result.stdout
    (snapshot,) = snapshots.glob("production-*-0000.dump")
    if os.geteuid() == 0:
        assert snapshot.stat().st_uid == UID
    assert history(db_url) == [(1, "a")]  # the project's sqlmig.toml was read


def test_an_unwritable_snapshot_folder_is_one_line_before_anything_runs(
    image: tuple[Path, str], db_url: str
) -> None:
    root, url = image  # no SQLMIG_SNAPSHOT_DIR: the default .sqlmig/snapshots in root's /app
    result = run_as_image_user(root, url, "migrate", "--env", "production")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: cannot create the snapshot folder .sqlmig/snapshots: Permission denied "
        f"(uid {os.geteuid() if os.geteuid() else UID}); nothing was migrated (set "
        "snapshot_dir or SQLMIG_SNAPSHOT_DIR to a writable folder, or mount one there)"
    ]
    assert history(db_url) == []
    assert not (root / "app" / ".sqlmig").exists()


def test_the_readme_dockerfile_for_a_project_is_hadolint_clean(tmp_path: Path) -> None:
    from tests.conftest import README
    from tests.test_packaging import tool

    (block,) = re.findall(r"```dockerfile\n(.*?)```", README, re.DOTALL)
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    assert lines[0] == "FROM sqlmig"
    assert set(lines[1:]) == {"COPY sql /app/sql", "COPY seeds /app/seeds",
                              "COPY sqlmig.toml /app/"}
    (tmp_path / "Dockerfile").write_text("\n".join(lines) + "\n")
    result = subprocess.run([tool("hadolint"), "--ignore", "DL3006", str(tmp_path / "Dockerfile")],
                            capture_output=True, text=True)  # DL3006: `sqlmig` is a local tag
    assert result.returncode == 0, result.stdout + result.stderr
