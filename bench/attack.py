"""`make attack`: the adversarial run of issue 13, repeatable. Prints figures; asserts nothing.

On its own PostgreSQL 15 (Debian's, TCP on 127.0.0.1 with scram passwords, so a password is
really needed), with sqlmig run as a separate process each time:
- kills: kill -9 at a random moment of `migrate` / `rollback --all`; after each, is the lock
  freed, and does the history equal the schema (each recorded table exists, no other)?
- concurrency: RUNNERS `migrate` processes started together, ROUNDS times; each migration
  must be applied exactly once, by one batch, and every runner must exit 0;
- bad inputs: malformed files and settings; each should be one `error:` line naming the file
  or setting, exit non-zero, no traceback, the database as it was;
- secrets: a password with every awkward character, in every form a URL can carry it, through
  every command; any output holding it is a leak.
Sizes: ATTACK_KILLS (50), ATTACK_ROUNDS (20), ATTACK_RUNNERS (16); ATTACK_ONLY=kills,secrets
runs only those (inputs, secrets, kills, concurrency).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

HERE = Path(__file__).resolve().parent
SQLMIG = [sys.executable, "-m", "sqlmig"]
KILLS = int(os.environ.get("ATTACK_KILLS", "50"))
ROUNDS = int(os.environ.get("ATTACK_ROUNDS", "20"))
RUNNERS = int(os.environ.get("ATTACK_RUNNERS", "16"))
ONLY = [name for name in os.environ.get("ATTACK_ONLY", "").split(",") if name]
PG_BIN = "/usr/lib/postgresql/15/bin"
ADMIN_PASSWORD = "attack-admin"


@contextlib.contextmanager
def server() -> Iterator[tuple[str, int]]:
    """Debian's PostgreSQL 15 on 127.0.0.1:<free port>, password auth; yields (dir, port)."""
    directory = tempfile.mkdtemp(prefix="sqlmig-attack-")
    account = pwd.getpwnam("postgres")
    os.chown(directory, account.pw_uid, account.pw_gid)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = Path(directory, "pw")
    secret.write_text(ADMIN_PASSWORD)
    os.chown(secret, account.pw_uid, account.pw_gid)
    data = f"{directory}/data"
    subprocess.run([*as_postgres, f"{PG_BIN}/initdb", "-D", data, "-U", "postgres",
                    "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={secret}",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    subprocess.run([*as_postgres, f"{PG_BIN}/pg_ctl", "-D", data, "-l", f"{directory}/log",
                    "-w", "-o", f"-k {directory} -h 127.0.0.1 -p {port} -F "
                    "-c max_connections=100", "start"], check=True, capture_output=True)
    try:
        yield directory, port
    finally:
        subprocess.run([*as_postgres, f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Target:
    port: int

    def url(self, db: str, user: str = "postgres", password: str = ADMIN_PASSWORD) -> str:
        quoted = urllib.parse.quote(password, safe="")
        return f"postgresql://{user}:{quoted}@127.0.0.1:{self.port}/{db}"

    def fresh_db(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


def environment(url: str | None) -> dict[str, str]:
    """This process's environment without any database setting of its own, plain output, and
    `url` as DATABASE_URL (None: none)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "PG"))}
    environ |= {"NO_COLOR": "1", "COLUMNS": "200"}
    if url is not None:
        environ["DATABASE_URL"] = url
    return environ


def sqlmig(root: Path, url: str | None, *args: str, timeout: float = 120,
           env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
           ) -> subprocess.CompletedProcess[str]:
    environ = environment(url) | (env or {})
    try:
        return subprocess.run([*prefix, *SQLMIG, *args], cwd=root, env=environ, text=True,
                              capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        return subprocess.CompletedProcess(expired.cmd, -1, str(expired.stdout or ""),
                                           f"timed out after {timeout} s")


def write_pairs(root: Path, count: int, nap: float = 0.0, no_tx_every: int = 0) -> None:
    folder = root / "sql"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        name = f"{n:04d}_t{n}"
        if no_tx_every and n % no_tx_every == 0:
            # written to be re-run, as the README asks of no-transaction files
            up = (f"-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "
                  f"t{n - 1}_id ON t{n - 1} (id);\nCREATE TABLE IF NOT EXISTS t{n} (id int);\n")
            down = (f"-- sqlmig:no-transaction\nDROP TABLE IF EXISTS t{n};\n"
                    f"DROP INDEX CONCURRENTLY IF EXISTS t{n - 1}_id;\n")
        else:
            up = (f"CREATE TABLE t{n} (id int);\nINSERT INTO t{n} SELECT generate_series(1, 2000);"
                  f"\nSELECT pg_sleep({nap});\n")
            down = f"SELECT pg_sleep({nap});\nDROP TABLE t{n};\n"
        (folder / f"{name}.up.sql").write_text(up)
        (folder / f"{name}.down.sql").write_text(down)


def history_vs_schema(url: str) -> tuple[list[str], int]:
    """(mismatches, rows still running or failed) between schema_migrations and tables t<N>."""
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
        rows = (conn.execute("SELECT version, state FROM schema_migrations").fetchall()
                if exists and exists[0] else [])
        tables = {int(r[0][1:]) for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ '^t[0-9]+$'")}
    applied = {v for v, state in rows if state == "applied"}
    unsettled = sum(1 for _, state in rows if state != "applied")
    settled_tables = tables - {v for v, state in rows if state != "applied"}
    wrong = sorted(applied ^ settled_tables)
    return [f"t{v}" for v in wrong], unsettled


def lock_free_after(url: str, limit: float = 15.0) -> float | None:
    """Seconds until no advisory lock is held in the database (None: still held)."""
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() - started < limit:
            held = conn.execute("SELECT count(*) FROM pg_locks l JOIN pg_database d "
                                "ON d.oid = l.database WHERE l.locktype = 'advisory' AND "
                                "d.datname = current_database()").fetchone()
            if held and held[0] == 0:
                return time.monotonic() - started
            time.sleep(0.1)
    return None


def attack_kills(target: Target, work: Path) -> dict:
    root = work / "kills"
    write_pairs(root, 40, nap=0.03, no_tx_every=7)
    url = target.fresh_db("attack_kills")
    figures: dict[str, Any] = {
        "kills": 0, "lock_freed": 0, "max_free_s": 0.0, "history_equals_schema": 0,
        "unsettled_after_kill": 0, "recovered": 0, "problems": []}
    rng = random.Random(13)
    for attempt in range(KILLS):
        command = ["migrate"] if attempt % 2 == 0 else ["rollback", "--all"]
        process = subprocess.Popen([*SQLMIG, *command], cwd=root, env=environment(url),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.4, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        figures["kills"] += 1
        freed = lock_free_after(url)
        if freed is not None:
            figures["lock_freed"] += 1
            figures["max_free_s"] = max(figures["max_free_s"], round(freed, 2))
        wrong, unsettled = history_vs_schema(url)
        figures["unsettled_after_kill"] += bool(unsettled)
        if not wrong:
            figures["history_equals_schema"] += 1
        else:
            figures["problems"].append(f"kill {attempt} ({command[0]}): {wrong}")
        if unsettled:  # a killed no-transaction migration: the documented way back
            sqlmig(root, url, "repair")
            _drop_invalid_indexes(url)
        again = sqlmig(root, url, *command)
        if again.returncode == 0:
            figures["recovered"] += 1
        else:
            figures["problems"].append(f"after kill {attempt}: {again.stderr.strip()[:300]}")
            sqlmig(root, url, "repair")
    return figures


def _drop_invalid_indexes(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for (name,) in conn.execute("SELECT indexrelid::regclass::text FROM pg_index "
                                    "WHERE NOT indisvalid").fetchall():
            conn.execute(sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                sql.Identifier(name)))


def attack_concurrency(target: Target, work: Path) -> dict:
    root = work / "concurrent"
    write_pairs(root, 20)
    url = target.fresh_db("attack_concurrent")
    figures: dict[str, Any] = {
        "rounds": 0, "runners": RUNNERS, "clean_rounds": 0, "runner_failures": 0,
        "problems": []}
    environ = environment(url)
    for round_ in range(ROUNDS):
        sqlmig(root, url, "rollback", "--all")
        processes = [subprocess.Popen([*SQLMIG, "migrate", "--lock-wait", "300"], cwd=root,
                                      env=environ, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
                     for _ in range(RUNNERS)]
        failures = [p for p in processes if p.wait() != 0]
        figures["rounds"] += 1
        figures["runner_failures"] += len(failures)
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute("SELECT count(*), count(DISTINCT batch), "
                                "count(*) FILTER (WHERE state <> 'applied') "
                                "FROM schema_migrations").fetchone()
        wrong, _ = history_vs_schema(url)
        if rows == (20, 1, 0) and not wrong and not failures:
            figures["clean_rounds"] += 1
        else:
            errors = [p.stderr.read().strip()[:200] for p in failures if p.stderr]
            figures["problems"].append(f"round {round_}: {rows} {wrong} {errors[:2]}")
    return figures


@dataclass
class Case:
    name: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    args: tuple[str, ...] = ("migrate",)
    before: tuple[tuple[str, ...], ...] = ()
    names: str = ""  # what the error must mention (file or setting)
    setup: Callable[[Path], object] | None = None
    unprivileged: bool = False  # run without CAP_DAC_OVERRIDE (we are root here)
    expect_code: int | None = None


GOOD = {"sql/0001_a.up.sql": "CREATE TABLE t1 (id int);\n",
        "sql/0001_a.down.sql": "DROP TABLE t1;\n"}


def _cases() -> list[Case]:
    def link(name: str, to: str) -> Callable[[Path], None]:
        return lambda root: os.symlink(to, root / "sql" / name)

    def mkdir(name: str) -> Callable[[Path], None]:
        return lambda root: (root / "sql" / name).mkdir()

    def fifo(root: Path) -> None:
        os.mkfifo(root / "sql" / "0002_b.up.sql")

    def chmod(name: str, mode: int) -> Callable[[Path], None]:
        return lambda root: os.chmod(root / name, mode)

    def settings(name: str, toml: str, names: str) -> Case:
        """A bad sqlmig.toml: a configuration error, exit 2 (README's exit codes)."""
        return Case(name, {"sqlmig.toml": toml}, names=names, expect_code=2)

    def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
        def run(root: Path) -> None:
            for step in steps:
                step(root)
        return run

    return [
        Case("dangling symlink pair", setup=both(link("0002_b.up.sql", "nowhere.sql"),
                                                  link("0002_b.down.sql", "nowhere2.sql")),
             names="0002_b"),
        Case("directory named like an up file", setup=mkdir("0002_b.up.sql"), names="0002_b"),
        Case("wrong-case extension .SQL", {"sql/0002_b.up.SQL": "CREATE TABLE t2 (id int);"},
             names="0002_b"),
        Case("symlink loop", setup=both(link("0002_b.up.sql", "0002_b.up.sql")),
             names="0002_b"),
        Case("named pipe as a migration", setup=fifo, names="0002_b"),
        Case("unreadable up file", {"sql/0002_b.up.sql": "SELECT 1;"},
             setup=chmod("sql/0002_b.up.sql", 0), unprivileged=True, names="0002_b"),
        Case("unlistable sql folder", setup=chmod("sql", 0), unprivileged=True, names="sql"),
        Case("NUL byte", {"sql/0002_b.up.sql": b"SELECT 1;\x00\n"}, names="0002_b"),
        Case("version above bigint", {"sql/99999999999999999999_b.up.sql": "SELECT 1;"},
             names="99999999999999999999_b"),
        Case("UTF-16 file", {"sql/0002_b.up.sql": "SELECT 1;\n".encode("utf-16")},
             names="0002_b"),
        Case("UTF-32 file", {"sql/0002_b.up.sql": "SELECT 1;\n".encode("utf-32")},
             names="0002_b"),
        Case("Latin-1 bytes", {"sql/0002_b.up.sql": "SELECT 'café';".encode("latin-1")},
             names="0002_b"),
        Case("duplicate version", {"sql/0001_b.up.sql": "SELECT 1;"}, names="0001"),
        Case("down without up", {"sql/0002_b.down.sql": "SELECT 1;"}, names="0002_b"),
        Case("syntax error", {"sql/0002_b.up.sql": "CREAT TABLE t2 (id int);"},
             names="0002_b"),
        Case("unterminated dollar quote", {"sql/0002_b.up.sql": "DO $$ BEGIN"}, names="0002_b"),
        Case("markup [/x] in a failing statement",
             {"sql/0002_b.up.sql": "SELECT '[/x]' FROM nowhere_[/x];"}, names="0002_b"),
        Case("empty down file", {"sql/0001_a.down.sql": ""}, args=("rollback",),
             before=(("migrate",),), names="0001_a"),
        Case("unreadable down during rollback", setup=chmod("sql/0001_a.down.sql", 0),
             args=("rollback",), before=(("migrate",),), unprivileged=True, names="0001_a"),
        Case("single-transaction with a no-transaction file",
             {"sql/0002_b.up.sql": "-- sqlmig:no-transaction\nCREATE INDEX CONCURRENTLY "
              "t1_id ON t1 (id);"}, args=("migrate", "--single-transaction"),
             names="0002_b"),
        Case("unknown directive", {"sql/0002_b.up.sql": "-- sqlmig:no-transactoin\nSELECT 1;"},
             names="0002_b"),
        Case("bad lock-timeout directive",
             {"sql/0002_b.up.sql": "-- sqlmig:lock-timeout soon\nSELECT 1;"}, names="0002_b"),
        settings("lock_wait = nan", "lock_wait = nan\n", "lock_wait"),
        settings("lock_wait = inf", "lock_wait = inf\n", "lock_wait"),
        settings("invalid [production] section", "[production]\nlock_wait = 'x'\n",
                 "production"),
        settings("unknown config key", "lock_wiat = 3\n", "lock_wiat"),
        settings("config TOML syntax", "lock_wait = \n", "sqlmig.toml"),
        settings("bad schema identifier", "schema = 'a; DROP'\n", "schema"),
        settings("statement_timeout nonsense", "statement_timeout = 'soon'\n",
                 "statement_timeout"),
        Case("look-alike history table", names="schema_migrations", expect_code=2),
        Case("edited applied migration", before=(("migrate",),), names="0001_a",
             setup=lambda root: (root / "sql/0001_a.up.sql").write_text("SELECT 2;")),
        Case("--to not a number", args=("migrate", "--to", "abc"), names="--to",
             expect_code=2),
        Case("bad port in URL", args=("migrate", "--database-url",
                                      "postgresql://u@127.0.0.1:notaport/x"), names="port"),
    ]


def _state(url: str) -> tuple:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND "
                              "relnamespace = 'public'::regnamespace ORDER BY 1").fetchall()
        history = []
        if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() != (None,):
            with contextlib.suppress(psycopg.Error):
                history = conn.execute("SELECT version, state, checksum FROM "
                                       "schema_migrations ORDER BY 1").fetchall()
    return tuple(tables), tuple(history)


UNPRIVILEGED = ("setpriv", "--inh-caps=-dac_override,-dac_read_search",
                "--bounding-set=-dac_override,-dac_read_search")


def attack_inputs(target: Target, work: Path) -> dict:
    figures: dict[str, Any] = {
        "tried": 0, "clear_errors": 0, "tracebacks": 0, "database_touched": 0,
        "exit_0": 0, "problems": []}
    for number, case in enumerate(_cases()):
        root = work / f"input{number}"
        (root / "sql").mkdir(parents=True)
        for name, text in (GOOD | case.files).items():
            path = root / name
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text)
        url = target.fresh_db(f"attack_input_{number}")
        if case.name == "look-alike history table":
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE TABLE schema_migrations (id int, note text)")
        for args in case.before:
            sqlmig(root, url, *args)
        if case.setup:
            case.setup(root)
        before = _state(url)
        result = sqlmig(root, url, *case.args, timeout=30,
                        prefix=UNPRIVILEGED if case.unprivileged else ())
        after = _state(url)
        figures["tried"] += 1
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        traceback = "Traceback" in result.stderr + result.stdout
        errors = [line for line in lines if line.startswith(("error:", "Error:"))]
        expected = case.expect_code or 1
        clear = (result.returncode == expected and len(errors) == 1 and not traceback
                 and case.names.lower() in result.stderr.lower())
        figures["clear_errors"] += clear
        figures["tracebacks"] += traceback
        figures["exit_0"] += result.returncode == 0
        figures["database_touched"] += before != after
        if not clear or before != after:
            figures["problems"].append(
                f"{case.name}: exit {result.returncode}, touched={before != after}, "
                f"stderr={result.stderr.strip()[:240]!r}")
    return figures


PASSWORDS = ["Ab#PW?x", "p@ss/w rd", "a:b@c%41", "q'u\"o\\te", "[sec]&=;+,!$*()~"]


def _forms(target: Target, password: str) -> list[tuple[str, dict[str, str]]]:
    """(DATABASE_URL, extra environment) carrying the password every way a user might."""
    encoded = urllib.parse.quote(password, safe="")
    port = target.port
    quoted = password.replace("\\", "\\\\").replace("'", "\\'")
    return [
        (f"postgresql://attacker:{encoded}@127.0.0.1:{port}/attack_pw", {}),
        (f"postgresql://attacker:{password}@127.0.0.1:{port}/attack_pw", {}),
        (f"postgresql://attacker@127.0.0.1:{port}/attack_pw?password={encoded}", {}),
        (f"host=127.0.0.1 port={port} user=attacker dbname=attack_pw password='{quoted}'", {}),
        (f"postgresql://attacker@127.0.0.1:{port}/attack_pw", {"PGPASSWORD": password}),
    ]


def attack_secrets(target: Target, work: Path) -> dict:
    root = work / "secrets"
    write_pairs(root, 2)
    (root / "sql" / "0003_fails.up.sql").write_text("SELECT * FROM nowhere;\n")
    (root / "sql" / "0003_fails.down.sql").write_text("SELECT 1;\n")
    figures: dict[str, Any] = {
        "passwords": len(PASSWORDS), "forms_accepted": 0, "runs": 0, "leaks": 0,
        "problems": []}
    for password in PASSWORDS:
        with psycopg.connect(target.url("postgres"), autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS attack_pw WITH (FORCE)")
            conn.execute("DROP ROLE IF EXISTS attacker")
            conn.execute(sql.SQL("CREATE ROLE attacker LOGIN CREATEDB PASSWORD {}").format(
                sql.Literal(password)))
            conn.execute("CREATE DATABASE attack_pw OWNER attacker")
        secrets = {password, urllib.parse.quote(password, safe=""),
                   urllib.parse.quote(password)}
        for url, extra in _forms(target, password):
            try:
                psycopg.connect(url, password=extra.get("PGPASSWORD"), connect_timeout=5).close()
            except psycopg.Error:
                continue  # a form libpq itself refuses is no form a user can use
            figures["forms_accepted"] += 1
            wrong_port = url.replace(str(target.port), "1")
            commands: list[tuple[str | None, tuple[str, ...]]] = [
                (url, ("config",)), (url, ("config", "--json")), (url, ("status",)),
                (url, ("status", "--json")), (url, ("migrate", "--snapshot")),
                (url, ("plan", "--json")), (url, ("verify", "--json")),
                (url, ("diff", "--from", url, "--to", url)), (url, ("diff", "--json",
                                                                     "--from", url)),
                (url, ("--debug", "migrate")), (url, ("docs",)), (url, ("rollback", "--all")),
                (wrong_port, ("status",)), (wrong_port, ("--debug", "migrate")),
                (None, ("migrate", "--database-url", wrong_port)),
                (url, ("plan", "--locks", "--json")), (url, ("locks", "--json")),
                (None, ("lint", "--against", url)), (None, ("lint", "--against", wrong_port)),
            ]
            if url.startswith("postgresql://"):  # a targets file holds URLs, one a line
                fleet = root / "targets.txt"
                fleet.write_text(f"{url}\n{wrong_port}\n")
                commands += [(None, ("fleet", "status", "--targets", str(fleet))),
                             (None, ("fleet", "migrate", "--targets", str(fleet), "--json"))]
            for database_url, args in commands:
                result = sqlmig(root, database_url, *args, env=extra, timeout=60)
                figures["runs"] += 1
                output = result.stdout + result.stderr
                if any(secret in output for secret in secrets if len(secret) > 3):
                    figures["leaks"] += 1
                    figures["problems"].append(f"{password!r} via {url[:60]!r}: sqlmig "
                                               f"{' '.join(args)[:60]}")
    return figures


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="sqlmig-attack-work-"))
    report: dict[str, dict] = {}
    with server() as (_, port):
        target = Target(port)
        for name, attack in [("inputs", attack_inputs), ("secrets", attack_secrets),
                             ("kills", attack_kills), ("concurrency", attack_concurrency)]:
            if ONLY and name not in ONLY:
                continue
            started = time.monotonic()
            figures = attack(target, work)
            figures["seconds"] = round(time.monotonic() - started, 1)
            report[name] = figures
            problems = figures.pop("problems")
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in figures.items()), flush=True)
            for problem in problems:
                print(f"  - {problem}", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
