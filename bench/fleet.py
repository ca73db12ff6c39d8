"""The fleet workload of `make bench` (issue 19): DATABASES databases on one server, each
given MIGRATIONS migrations by `sqlmig fleet migrate --parallel 8`, and beside it the same by
a sequential loop of single `sqlmig migrate` runs; then SCHEMAS schemas of one database in
--schemas mode. Wall time and peak RSS of each, measured once (each run needs fresh targets,
and making a thousand databases dominates the benchmark's own time).

BENCH_FLEET_DATABASES, BENCH_FLEET_SCHEMAS (0: none) and BENCH_FLEET_LOOP (how many
databases the sequential loop migrates; its time is scaled to all of them) size it down on
a busy machine.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

Run = Callable[..., tuple[float, int]]  # bench/run.py's run(argv, cwd=, env=)
MIGRATIONS = 20
PARALLEL = 8


def _url(admin: str, dbname: str) -> str:
    params = conninfo_to_dict(admin)
    user, password = params.get("user", ""), params.get("password", "")
    host, port = str(params.get("host") or "localhost"), str(params.get("port") or "5432")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    if host.startswith("/"):
        return f"postgresql://{auth}/{dbname}?host={host}&port={port}"
    return f"postgresql://{auth}{host}:{port}/{dbname}"


def _each(admin: str, statement: str, names: Sequence[str]) -> None:
    """`statement` ({} the database) for every name, eight at a time (concurrent DROP
    DATABASEs share their checkpoints)."""
    def one(name: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(one, names))


def _project(root: Path) -> None:
    (root / "sql").mkdir()
    for version in range(1, MIGRATIONS + 1):
        stem = root / "sql" / f"{version:04d}_t{version}"
        stem.with_suffix(".up.sql").write_text(
            f"CREATE TABLE t{version} (id bigint PRIMARY KEY, v text);\n")
        stem.with_suffix(".down.sql").write_text(f"DROP TABLE t{version};\n")


def _result(label: str, seconds: float, peak_kib: int, **extra: float) -> dict:
    print(f"  {label:<44} {seconds:8.3f} s  peak {peak_kib / 1024:.0f} MB", flush=True)
    return {"label": label, "median_s": seconds, "min_s": seconds, "max_s": seconds,
            "peak_rss_mb": peak_kib / 1024, **extra}


def workload(admin: str, run: Run, sqlmig: list[str], scale: int = 1) -> dict:
    databases = int(os.environ.get("BENCH_FLEET_DATABASES", 1000 // scale))
    schemas = int(os.environ.get("BENCH_FLEET_SCHEMAS", 10_000 // scale))
    loop = min(databases, int(os.environ.get("BENCH_FLEET_LOOP", databases)))
    prefix = f"sqlmig_fleet_{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}_{n:05d}" for n in range(databases)]
    urls = [_url(admin, name) for name in names]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _project(root)
        (root / "targets.txt").write_text("\n".join(urls) + "\n")
        env = {**os.environ, "SQLMIG_ENV": "development", "DATABASE_URL": urls[0],
               "NO_COLOR": "1"}
        print(f"fleet: {databases} databases x {MIGRATIONS} migrations (creating them...)",
              flush=True)
        _each(admin, "CREATE DATABASE {}", names)
        try:
            seconds, peak = run([*sqlmig, "fleet", "migrate", "--targets", "targets.txt",
                                 "--parallel", str(PARALLEL)], cwd=root, env=env)
            results.append(_result(f"sqlmig fleet migrate --parallel {PARALLEL}", seconds,
                                   peak, targets=databases))
            _each(admin, "DROP DATABASE {} WITH (FORCE)", names[:loop])
            _each(admin, "CREATE DATABASE {}", names[:loop])
            total, peak = 0.0, 0
            for url in urls[:loop]:
                seconds, rss = run([*sqlmig, "migrate", "--database-url", url], cwd=root,
                                   env=env)
                total, peak = total + seconds, max(peak, rss)
            label = "sequential loop of sqlmig migrate" + (
                f" ({loop} run, x{databases / loop:.0f})" if loop < databases else "")
            results.append(_result(label, total * databases / loop, peak, targets=databases))
        finally:
            _each(admin, "DROP DATABASE IF EXISTS {} WITH (FORCE)", names)
        if not schemas:
            return {"workload": "fleet", "results": results}
        print(f"fleet: {schemas} schemas x {MIGRATIONS} migrations in one database", flush=True)
        _each(admin, "CREATE DATABASE {}", [prefix])
        try:
            env["DATABASE_URL"] = _url(admin, prefix)
            listed = ",".join(f"tenant_{n:05d}" for n in range(schemas))
            seconds, peak = run([*sqlmig, "fleet", "migrate", "--schemas", listed,
                                 "--parallel", str(PARALLEL)], cwd=root, env=env)
            results.append(_result(f"sqlmig fleet migrate --schemas (--parallel {PARALLEL})",
                                   seconds, peak, targets=schemas))
        finally:
            _each(admin, "DROP DATABASE IF EXISTS {} WITH (FORCE)", [prefix])
    return {"workload": "fleet", "results": results}
