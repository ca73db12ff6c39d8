"""Regenerate sqlmig/review/lint/pg_functions.txt from a PostgreSQL server's catalog: every
built-in function name, marked `v` when any of its overloads is volatile, else `s` (stable or
immutable). Lint reads it to tell a DEFAULT that rewrites the table from one that does not.

Usage: python tools/pg_functions.py postgresql://localhost/postgres  (use the newest server)
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg

TARGET = Path(__file__).resolve().parent.parent / "sqlmig/review/lint/pg_functions.txt"
QUERY = """
SELECT proname, bool_or(provolatile = 'v') FROM pg_proc
WHERE pronamespace = 'pg_catalog'::regnamespace GROUP BY proname ORDER BY proname
"""


def main(url: str) -> None:
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        rows = conn.execute(QUERY).fetchall()
    shown = version[0] if version else "?"
    header = f"# pg_catalog functions of PostgreSQL {shown}: v volatile, s not\n"
    TARGET.write_text(header + "".join(f"{'v' if volatile else 's'} {name}\n"
                                       for name, volatile in rows))
    print(f"{TARGET}: {len(rows)} names")


if __name__ == "__main__":
    main(sys.argv[1])
