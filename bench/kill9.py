"""kill -9 of `sqlmig migrate` in the middle of a long statement, on each PostgreSQL of the
matrix (tests/pg_builds.py): how long until the server frees the migration's locks, and what
the migration became. Prints a Markdown table; asserts nothing (the tests do, in
test_resilience.py). Usage: python bench/kill9.py [VERSION ...] (default 13 to 18).

The migration is `CREATE TABLE slow; SELECT pg_sleep(SLEEP)`: sqlmig sends it with its
history row and COMMIT as one query, so whatever the server does after the kill is atomic.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlmig.pg import db  # noqa: E402
from tests import pg_builds, provision  # noqa: E402

SLEEP = 10


def measure(major: int) -> str:
    with pg_builds.cluster(major) as cluster:
        url = provision.create_database(cluster.url)
        work = Path(cluster.directory) / "project"
        (work / "sql").mkdir(parents=True)
        (work / "sql" / "0001_slow.down.sql").write_text("DROP TABLE slow;\n")
        (work / "sql" / "0001_slow.up.sql").write_text(
            f"CREATE TABLE slow (id int);\nSELECT pg_sleep({SLEEP});\n", encoding="utf-8")
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)}
        process = subprocess.Popen([sys.executable, "-m", "sqlmig", "migrate"], cwd=work,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        key = db.lock_key("public", "schema_migrations")
        with psycopg.connect(url, autocommit=True) as witness:
            while not witness.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'sqlmig' "
                    "AND state = 'active' AND query LIKE '%pg_sleep%'").fetchall():
                if process.poll() is not None:
                    raise RuntimeError(f"sqlmig migrate exited {process.returncode} early")
                time.sleep(0.02)
            process.kill()
            process.wait()
            killed = time.monotonic()
            while not witness.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                time.sleep(0.02)
            freed = time.monotonic() - killed
            applied = witness.execute(
                "SELECT to_regclass('slow') IS NOT NULL, "
                "(SELECT count(*) FROM schema_migrations WHERE version = 1)").fetchone()
        with open(f"{cluster.directory}/log", encoding="utf-8", errors="replace") as log:
            lost = "connection to client lost" in log.read()
        outcome = "committed and recorded" if applied == (True, 1) else (
            "rolled back, not recorded" if applied == (False, 0) else f"MIXED {applied}")
        return (f"| {major} | {freed:.1f} s | {outcome} | "
                f"{'yes' if lost else 'no'} |")


def main(argv: list[str]) -> None:
    versions = [int(a) for a in argv] or list(pg_builds.VERSIONS)
    print(f"kill -9 during `SELECT pg_sleep({SLEEP})` in a migration\n")
    print("| version | lock freed after | the migration | log: connection to client lost |")
    print("|---|---|---|---|")
    for major in versions:
        print(measure(major), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
