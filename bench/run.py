"""`make bench`: sqlmig against the psql floor and dbmate, on one throwaway PostgreSQL.

Workloads (see issue 7): W1 1,000 trivial migrations; W2 200 migrations of ~20 statements;
W3 no-op `migrate` and `status` with 10,000 applied; W4 a 1M-row CSV seed (vs psql \\copy);
W5 cold starts; plus rolling back all of W1, one 200 MB migration file, and the fleet (issue
19: bench/fleet.py). Each measurement
runs REPEAT times after a warm-up; medians with min/max go to bench/results.json and a
Markdown table (bench/results.md). A benchmark prints figures; it asserts nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import psycopg  # noqa: E402
from psycopg.conninfo import conninfo_to_dict  # noqa: E402

from bench import fleet  # noqa: E402
from sqlmig.core import file_cache  # noqa: E402
from tests import provision  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
QUICK = os.environ.get("BENCH_QUICK") == "1"  # smaller workloads, for trying the harness
BIN = Path(sys.executable).parent
SQLMIG = [sys.executable, "-m", "sqlmig"]


# GNU time measures a command's own peak RSS: wait4's figure for a child also counts the
# memory of the (forked) benchmark process itself, which hides small tools' real peaks.
GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


def run(
    argv: list[str], *, cwd: Path, env: dict[str, str], stdin: str | None = None
) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command (output goes to a file so a chatty
    command cannot block on a full pipe)."""
    with tempfile.TemporaryFile("w+") as output, tempfile.NamedTemporaryFile("r") as peak:
        if GNU_TIME:
            argv = [GNU_TIME, "-q", "-f", "%M", "-o", peak.name, *argv]
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=output, stderr=output,
                                   stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                   text=True)
        if stdin:
            assert process.stdin is not None
            process.stdin.write(stdin)
            process.stdin.close()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            output.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}): "
                               f"{output.read()[-2000:]}")
        measured = peak.read().strip().splitlines()
    return seconds, int(measured[-1]) if measured else usage.ru_maxrss


def measure(label: str, prepare: Callable[[], None], action: Callable[[], tuple[float, int]],
            repeat: int = REPEAT) -> dict:
    samples, rss = [], []
    for attempt in range(repeat + 1):  # the first is the warm-up
        prepare()
        seconds, peak = action()
        if attempt:
            samples.append(seconds)
            rss.append(peak)
    result = {"label": label, "median_s": statistics.median(samples), "min_s": min(samples),
              "max_s": max(samples), "peak_rss_mb": max(rss) / 1024}
    print(f"  {label:<44} {result['median_s']:8.3f} s  (min {result['min_s']:.3f}, max "
          f"{result['max_s']:.3f})  peak {result['peak_rss_mb']:.0f} MB", flush=True)
    return result


def measure_together(cases: list[tuple[str, Callable[[], None], Callable[[], tuple[float, int]]]],
                     repeat: int = REPEAT) -> list[dict]:
    """Like measure, but round-robin: each repetition runs every case once, so a checkpoint
    or a slow patch of the machine hits all of them alike instead of one tool's whole series.
    Every other repetition runs them in reverse order: the machine slows under sustained load
    (a shared VM), and no tool should always come last."""
    samples: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    rss: dict[str, list[int]] = {label: [] for label, _, _ in cases}
    for attempt in range(repeat + 1):
        for label, prepare, action in (cases if attempt % 2 else cases[::-1]):
            prepare()
            seconds, peak = action()
            if attempt:
                samples[label].append(seconds)
                rss[label].append(peak)
    results = []
    for label, _, _ in cases:
        result = {"label": label, "median_s": statistics.median(samples[label]),
                  "min_s": min(samples[label]), "max_s": max(samples[label]),
                  "peak_rss_mb": max(rss[label]) / 1024}
        print(f"  {label:<44} {result['median_s']:8.3f} s  (min {result['min_s']:.3f}, max "
              f"{result['max_s']:.3f})  peak {result['peak_rss_mb']:.0f} MB", flush=True)
        results.append(result)
    return results


class Workspace:
    """A project folder with sqlmig files, dbmate files and a psql floor script."""

    def __init__(self, root: Path, admin: str) -> None:
        self.root, self.admin = root, admin
        (root / "sql").mkdir(parents=True)
        (root / "db" / "migrations").mkdir(parents=True)
        self.url = ""

    def add(self, version: int, up: str, down: str) -> None:
        name = f"{version:05d}_m{version}"
        (self.root / "sql" / f"{name}.up.sql").write_text(up)
        (self.root / "sql" / f"{name}.down.sql").write_text(down)
        (self.root / "db" / "migrations" / f"{version:05d}_m{version}.sql").write_text(
            f"-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n"
        )

    def floor_script(self, direction: str = "up") -> str:
        """psql running every file of `direction` (downs newest first), each in BEGIN/COMMIT."""
        parts = ["\\set ON_ERROR_STOP on"]
        for path in sorted((self.root / "sql").glob(f"*.{direction}.sql"),
                           reverse=direction == "down"):
            parts += ["BEGIN;", f"\\i {path}", "COMMIT;"]
        return "\n".join(parts) + "\n"

    def fresh_database(self) -> None:
        if self.url:
            provision.drop_database(self.admin, self.url)
        self.url = provision.create_database(self.admin, prefix="sqlmig_bench")

    def fresh_settled_database(self) -> None:
        """A fresh database on a quiet server: the previous run's dirty pages checkpointed
        and the OS's written back, so no run pays for the one before it."""
        self.fresh_database()
        settle(self.admin)

    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url, "PYTHONDONTWRITEBYTECODE": ""}

    def dbmate_env(self) -> dict[str, str]:
        params = conninfo_to_dict(self.url)
        url = (f"postgres://{params.get('user', 'postgres')}@/{params['dbname']}"
               f"?socket={params.get('host')}&sslmode=disable")
        return {**os.environ, "DATABASE_URL": url}

    def psql(self) -> list[str]:
        return [str(_psql()), "-q", "-X", "-d", self.url]


def settle(admin: str) -> None:
    """The server's dirty pages checkpointed and the OS's written back."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    os.sync()


def _psql() -> Path:
    from sqlmig.pg import dump

    return Path(dump.candidates()[0]).with_name("psql")


def compare(workload: str, results: list[dict]) -> dict:
    floor = next((r for r in results if r["label"].startswith("psql")), None)
    dbmate = next((r for r in results if r["label"].startswith("dbmate")), None)
    for r in results:
        if floor:
            r["vs_floor"] = r["median_s"] / floor["median_s"]
        if dbmate:
            r["vs_dbmate"] = r["median_s"] / dbmate["median_s"]
    return {"workload": workload, "results": results}


def w1_w2(admin: str, workload: str, count: int, body: Callable[[int], tuple[str, str]]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        space = Workspace(Path(tmp), admin)
        for version in range(1, count + 1):
            space.add(version, *body(version))
        script = space.floor_script()
        print(f"{workload}: {count} migrations")
        results = compare(workload, measure_together([
            ("psql floor (BEGIN/\\i/COMMIT, one session)", space.fresh_settled_database,
             lambda: run(space.psql(), cwd=space.root, env=space.env(), stdin=script)),
            ("sqlmig migrate", space.fresh_settled_database,
             lambda: run([*SQLMIG, "migrate"], cwd=space.root, env=space.env())),
            ("dbmate up", space.fresh_settled_database,
             lambda: run([str(BIN / "dbmate"), "--no-dump-schema", "up"],
                         cwd=space.root, env=space.dbmate_env())),
        ]))["results"]
        if workload == "W1":  # rolling it all back, against psql running the downs
            downs = space.floor_script("down")

            def migrated() -> None:
                space.fresh_settled_database()
                run([*SQLMIG, "migrate"], cwd=space.root, env=space.env())

            results += compare(workload, measure_together([
                ("psql floor, downs (newest first)", migrated,
                 lambda: run(space.psql(), cwd=space.root, env=space.env(), stdin=downs)),
                ("sqlmig rollback --all", migrated,
                 lambda: run([*SQLMIG, "rollback", "--all"], cwd=space.root, env=space.env())),
            ]))["results"]
        if space.url:
            provision.drop_database(admin, space.url)
        return {"workload": workload, "results": results}


def w3(admin: str, count: int) -> dict:
    """A long history: everything applied, nothing to do."""
    with tempfile.TemporaryDirectory() as tmp:
        space = Workspace(Path(tmp), admin)
        for version in range(1, count + 1):
            space.add(version, f"CREATE TABLE t{version} (id int);", f"DROP TABLE t{version};")
        print(f"W3: {count} applied migrations (setting up...)", flush=True)
        space.fresh_database()
        run([str(BIN / "dbmate"), "--no-dump-schema", "up"], cwd=space.root,
            env=space.dbmate_env())
        dbmate_env = space.dbmate_env()
        dbmate_url, space.url = space.url, ""
        space.fresh_database()
        run([*SQLMIG, "migrate"], cwd=space.root, env=space.env())
        # Measured on a settled server, round-robin as W1 and W2 are: creating 20,000 tables
        # leaves checkpoints and autovacuum to come, which would otherwise fall on whichever
        # tool runs first
        settle(admin)
        nothing = lambda: None  # noqa: E731
        results = measure_together([
            ("sqlmig migrate (nothing to do)", nothing,
             lambda: run([*SQLMIG, "migrate"], cwd=space.root, env=space.env())),
            ("sqlmig status", nothing,
             lambda: run([*SQLMIG, "status"], cwd=space.root, env=space.env())),
            ("dbmate up (nothing to do)", nothing,
             lambda: run([str(BIN / "dbmate"), "--no-dump-schema", "up"], cwd=space.root,
                         env=dbmate_env)),
            ("dbmate status", nothing,
             lambda: run([str(BIN / "dbmate"), "status"], cwd=space.root, env=dbmate_env)),
        ])
        provision.drop_database(admin, space.url)
        provision.drop_database(admin, dbmate_url)
        return compare("W3", results)


def w4(admin: str, rows: int) -> dict:
    """A CSV seed through COPY, against psql's \\copy of the same file."""
    with tempfile.TemporaryDirectory() as tmp:
        space = Workspace(Path(tmp), admin)
        space.add(1, "CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, "
                     "payload text, amount numeric(12,2), created_at timestamptz);",
                  "DROP TABLE events;")
        seeds = space.root / "seeds" / "development"
        seeds.mkdir(parents=True)
        csv_path = seeds / "01_events.csv"
        with csv_path.open("w") as handle:
            handle.write("id,kind,payload,amount,created_at\n")
            for i in range(rows):
                handle.write(f'{i},kind_{i % 17},"payload, number {i}",{i % 1000}.25,'
                             f"2026-01-01 00:00:{i % 60:02d}+00\n")
        print(f"W4: {rows:,}-row CSV ({csv_path.stat().st_size / 1e6:.0f} MB)")

        def migrated() -> None:
            space.fresh_database()
            run([*SQLMIG, "migrate"], cwd=space.root, env=space.env())

        copy = (f"\\copy events (id, kind, payload, amount, created_at) FROM '{csv_path}' "
                "WITH (FORMAT csv, HEADER true)")
        results = measure_together([
            ("psql \\copy (the floor)", migrated,
             lambda: run([*space.psql(), "-c", copy], cwd=space.root, env=space.env())),
            ("sqlmig seed", migrated,
             lambda: run([*SQLMIG, "seed"], cwd=space.root, env=space.env())),
        ])
        results.append(measure("sqlmig seed again (staged, nothing new)", lambda: None,
                               lambda: run([*SQLMIG, "seed"], cwd=space.root, env=space.env())))
        for result in results:
            result["rows_per_s"] = rows / result["median_s"]
            print(f"  {result['label']:<44} {result['rows_per_s']:,.0f} rows/s")
        provision.drop_database(admin, space.url)
        return compare("W4", results)


def w5(admin: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        space = Workspace(Path(tmp), admin)
        for version in range(1, 11):
            space.add(version, f"CREATE TABLE t{version} (id int);", f"DROP TABLE t{version};")
        space.fresh_database()
        run([*SQLMIG, "migrate"], cwd=space.root, env=space.env())
        # A project's files are older than the file cache's racy window: files written in
        # its last 2 s are read, not trusted, every time (they may change again unseen)
        time.sleep(file_cache.RACY_NS / 1e9)
        sqlmig_bin = str(BIN / "sqlmig")
        print("W5: cold starts")
        nothing = lambda: None  # noqa: E731
        results = [
            measure("sqlmig --help", nothing,
                    lambda: run([sqlmig_bin, "--help"], cwd=space.root, env=space.env()), 5),
            measure("sqlmig status (10 migrations)", nothing,
                    lambda: run([sqlmig_bin, "status"], cwd=space.root, env=space.env()), 5),
        ]
        provision.drop_database(admin, space.url)
        return compare("W5", results)


def lint_workload(_admin: str, count: int) -> dict:
    """`sqlmig lint` offline (issue 17's targets: 2,000 files under 1 s, as a directory or
    named one by one; one file under 150 ms with the start-up), and the same file on stdin."""
    with tempfile.TemporaryDirectory() as tmp:
        root, small = Path(tmp) / "big", Path(tmp) / "small"
        for project, pairs in ((root, count), (small, 10)):
            (project / "sql").mkdir(parents=True)
            for v in range(1, pairs + 1):
                stem = project / "sql" / f"{v:04d}_t{v}"
                Path(f"{stem}.up.sql").write_text(
                    f"-- sqlmig:lock-timeout 5s\nCREATE TABLE t{v} (id bigint PRIMARY KEY, "
                    f"name text);\nALTER TABLE t{max(v - 1, 1)} ADD COLUMN c{v} text;\n")
                Path(f"{stem}.down.sql").write_text(
                    f"-- sqlmig:lock-timeout 5s\nALTER TABLE t{max(v - 1, 1)} DROP COLUMN "
                    f"c{v};\nDROP TABLE t{v};\n")
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
        env.pop("DATABASE_URL", None)
        sqlmig_bin = str(BIN / "sqlmig")
        named = sorted(str(p.relative_to(root)) for p in (root / "sql").iterdir())
        last = named[-2]  # the newest up: judged with what every earlier up created
        one = (small / "sql" / "0010_t10.up.sql").read_text()
        files = len(named)
        print(f"lint: {files} files")
        nothing = lambda: None  # noqa: E731
        results = [
            measure(f"sqlmig lint ({files} files, directory)", nothing,
                    lambda: run([sqlmig_bin, "lint"], cwd=root, env=env)),
            measure(f"sqlmig lint ({files} files named)", nothing,
                    lambda: run([sqlmig_bin, "lint", *named], cwd=root, env=env)),
            measure(f"sqlmig lint (newest of {files} named)", nothing,
                    lambda: run([sqlmig_bin, "lint", last], cwd=root, env=env)),
            measure("sqlmig lint (one file of 20)", nothing,
                    lambda: run([sqlmig_bin, "lint", "sql/0010_t10.up.sql"], cwd=small,
                                env=env)),
            measure("sqlmig lint - (stdin, one file of 20)", nothing,
                    lambda: run([sqlmig_bin, "lint", "-", "--stdin-name",
                                 "sql/0010_t10.up.sql"], cwd=small, env=env, stdin=one)),
        ]
        return compare("lint", results)


def big_file(admin: str, megabytes: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        space = Workspace(Path(tmp), admin)
        row = "INSERT INTO big VALUES ({i}, 'a fairly ordinary row of text number {i}');\n"
        with (space.root / "sql" / "00001_big.up.sql").open("w") as handle:
            handle.write("CREATE TABLE big (id int, note text);\n")
            i, size = 0, 0
            while size < megabytes * 1_000_000:
                line = row.format(i=i)
                handle.write(line)
                size += len(line)
                i += 1
        (space.root / "sql" / "00001_big.down.sql").write_text("DROP TABLE big;\n")
        print(f"big file: {megabytes} MB, {i:,} statements")
        result = measure(f"sqlmig migrate ({megabytes} MB file)", space.fresh_database,
                         lambda: run([*SQLMIG, "migrate"], cwd=space.root, env=space.env()), 1)
        result["file_mb"] = megabytes
        provision.drop_database(admin, space.url)
        return {"workload": "big file", "results": [result]}


def markdown(report: list[dict]) -> str:
    lines = ["| workload | run | median s | min-max s | x psql floor | x dbmate | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for workload in report:
        for r in workload["results"]:
            floor = f"{r['vs_floor']:.2f}" if "vs_floor" in r else ""
            dbmate = f"{r['vs_dbmate']:.2f}" if "vs_dbmate" in r else ""
            label = r["label"] + (f" ({r['rows_per_s']:,.0f} rows/s)" if "rows_per_s" in r else "")
            lines.append(f"| {workload['workload']} | {label} | {r['median_s']:.3f} | "
                         f"{r['min_s']:.3f}-{r['max_s']:.3f} | {floor} | {dbmate} | "
                         f"{r['peak_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def w2_body(version: int) -> tuple[str, str]:
    t = f"w{version}"
    up = [f"CREATE TABLE {t}_a (id bigint PRIMARY KEY, v text, n int);",
          f"CREATE TABLE {t}_b (id bigint PRIMARY KEY, a_id bigint REFERENCES {t}_a (id));",
          f"CREATE INDEX {t}_a_v_idx ON {t}_a (v);",
          f"CREATE INDEX {t}_b_a_idx ON {t}_b (a_id);",
          f"INSERT INTO {t}_a SELECT g, 'row ' || g, g % 7 FROM generate_series(1, 100) g;",
          f"INSERT INTO {t}_b SELECT g, g FROM generate_series(1, 100) g;",
          f"ALTER TABLE {t}_a ADD COLUMN extra text DEFAULT 'x';",
          f"ALTER TABLE {t}_b ADD COLUMN note text;",
          f"COMMENT ON TABLE {t}_a IS 'bench table a';",
          f"COMMENT ON TABLE {t}_b IS 'bench table b';",
          f"CREATE VIEW {t}_v AS SELECT a.id, a.v, b.id AS b_id FROM {t}_a a "
          f"JOIN {t}_b b ON b.a_id = a.id;",
          f"UPDATE {t}_a SET n = n + 1 WHERE id % 2 = 0;",
          f"DELETE FROM {t}_b WHERE id > 90;",
          f"CREATE INDEX {t}_a_n_idx ON {t}_a (n) WHERE n > 3;",
          f"ALTER TABLE {t}_a ALTER COLUMN v SET NOT NULL;",
          f"ANALYZE {t}_a;",
          f"CREATE SEQUENCE {t}_seq;",
          f"SELECT setval('{t}_seq', 100);",
          f"COMMENT ON COLUMN {t}_a.v IS 'value';",
          f"INSERT INTO {t}_a (id, v, n) VALUES (1000, 'last', 0);"]
    down = [f"DROP VIEW {t}_v;", f"DROP SEQUENCE {t}_seq;", f"DROP TABLE {t}_b;",
            f"DROP TABLE {t}_a;"]
    return "\n".join(up) + "\n", "\n".join(down) + "\n"


def main() -> None:
    """BENCH_ONLY=W2 (or a list: "W1 W3") runs just those, and prints without writing the
    results files."""
    only = set(os.environ.get("BENCH_ONLY", "").split())
    scale = 10 if QUICK else 1
    workloads: list[tuple[str, Callable[[str], dict]]] = [
        ("W1", lambda admin: w1_w2(admin, "W1", 1000 // scale, lambda v: (
            f"CREATE TABLE t_{v} (id bigint PRIMARY KEY, v text);", f"DROP TABLE t_{v};"))),
        ("W2", lambda admin: w1_w2(admin, "W2", 200 // scale, w2_body)),
        ("W3", lambda admin: w3(admin, 10_000 // scale)),
        ("W4", lambda admin: w4(admin, 1_000_000 // scale)),
        ("W5", w5),
        ("lint", lambda admin: lint_workload(admin, 1000 // scale)),
        ("big", lambda admin: big_file(admin, 200 // scale)),
        ("fleet", lambda admin: fleet.workload(admin, run, SQLMIG, scale)),
    ]
    report = []
    with provision.server_url() as admin:
        for name, workload in workloads:
            if not only or name in only:
                report.append(workload(admin))
    print()
    print(markdown(report))
    if not only:
        (HERE / "results.json").write_text(json.dumps(report, indent=2) + "\n")
        (HERE / "results.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
