"""Seed throughput: rows/s for a 1M-row CSV loaded by `sqlmig seed` (COPY FROM STDIN, streamed),
first load (straight COPY) and re-run (staged, ON CONFLICT DO NOTHING), with peak RSS.

Run with `make bench-seed`. A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import provision

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))


def main() -> None:
    with provision.server_url() as admin, tempfile.TemporaryDirectory() as work:
        root = Path(work)
        url = provision.create_database(admin, prefix="sqlmig_bench")
        (root / "sql").mkdir()
        (root / "sql" / "0001_events.up.sql").write_text(
            "CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, "
            "payload text, amount numeric(12,2), created_at timestamptz);\n"
        )
        (root / "sql" / "0001_events.down.sql").write_text("DROP TABLE events;\n")
        seeds = root / "seeds" / "development"
        seeds.mkdir(parents=True)
        csv_path = seeds / "01_events.csv"
        with csv_path.open("w") as handle:
            handle.write("id,kind,payload,amount,created_at\n")
            for i in range(ROWS):
                handle.write(f'{i},kind_{i % 17},"payload, number {i}",{i % 1000}.25,'
                             f"2026-01-01 00:00:{i % 60:02d}+00\n")
        size_mb = csv_path.stat().st_size / 1e6
        env = {**os.environ, "DATABASE_URL": url}
        run = [sys.executable, "-m", "sqlmig"]
        subprocess.run([*run, "migrate"], cwd=root, env=env, check=True, capture_output=True)
        for label in ("first load (COPY)", "re-run (staged, nothing new)"):
            started = time.perf_counter()
            subprocess.run([*run, "seed"], cwd=root, env=env, check=True, capture_output=True)
            seconds = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"{label}: {ROWS:,} rows ({size_mb:.0f} MB) in {seconds:.2f} s = "
                  f"{ROWS / seconds:,.0f} rows/s, peak RSS {peak_mb:.0f} MB")
        provision.drop_database(admin, url)


if __name__ == "__main__":
    main()
