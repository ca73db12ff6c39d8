"""The PostgreSQL version matrix (`make test-matrix`): the database tests (`pytest -m pg`) on
each of PostgreSQL 13 to 18, one version after another, then a table version -> result.

    python tests/matrix.py              # all six versions
    python tests/matrix.py 13 18 -- -x  # some versions; arguments after -- go to pytest

Each version's servers come from tests/pg_builds.py (fetched once, then cached). The output
of each run is kept in .matrix/pgNN.log. Exits 1 when a version failed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pg_builds import BUILDS, VERSIONS, install  # noqa: E402

COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def run_version(major: int, pytest_args: list[str], logs: Path) -> tuple[dict[str, int], float]:
    install(major)  # fetch before the clock starts: the time is the tests'
    env = {**os.environ, "SQLMIG_TEST_PG_VERSION": str(major)}
    env.pop("SQLMIG_TEST_DATABASE_URL", None)
    log = logs / f"pg{major}.log"
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        # A temporary folder of its own: pytest's shared /tmp/pytest-of-USER keeps only the
        # three newest runs, so another pytest on the machine could delete this one's.
        basetemp = Path(tempfile.gettempdir()) / f"sqlmig-matrix-pg{major}"
        subprocess.run([sys.executable, "-m", "pytest", "-m", "pg", "-n", "2", "-q",
                        "-p", "no:cacheprovider", f"--basetemp={basetemp}", *pytest_args],
                       cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - started
    lines = log.read_text(encoding="utf-8").splitlines()
    summary = next((line for line in reversed(lines) if COUNTS.search(line)), "")
    counts = {kind.rstrip("s") if kind.startswith("error") else kind: int(n)
              for n, kind in COUNTS.findall(summary)}
    return counts, elapsed


def main(argv: list[str]) -> int:
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1:]
    else:
        pytest_args = []
    unknown = [a for a in argv if not a.isdigit() or int(a) not in BUILDS]
    if unknown:
        print(f"error: unknown version {unknown[0]!r}; expected some of "
              f"{' '.join(map(str, VERSIONS))}", file=sys.stderr)
        return 2
    versions = [int(a) for a in argv] or list(VERSIONS)
    # Started in the background by a shell, this process ignores SIGINT, and so would every
    # child: the tests that interrupt sqlmig with SIGINT need it delivered.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logs = REPO / ".matrix"
    logs.mkdir(exist_ok=True)
    rows = []
    for major in versions:
        print(f"PostgreSQL {major} ({BUILDS[major]}): running, log in .matrix/pg{major}.log",
              flush=True)
        counts, elapsed = run_version(major, pytest_args, logs)
        rows.append((major, counts, elapsed))
        print(f"PostgreSQL {major}: {counts or 'no result'} in {elapsed:.0f} s", flush=True)
    print("\n| version | build | passed | failed | errors | time |")
    print("|---|---|---|---|---|---|")
    for major, counts, elapsed in rows:
        print(f"| PostgreSQL {major} | {BUILDS[major]} | {counts.get('passed', 0)} | "
              f"{counts.get('failed', 0)} | {counts.get('error', 0)} | {elapsed:.0f} s |")
    bad = [m for m, c, _ in rows if c.get("failed") or c.get("error") or not c.get("passed")]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
