"""Running seeds: every seed of an environment in ONE transaction, all or nothing.

`.sql` seeds run as one simple query each, after their parameters are set with set_config (bind
parameters, never string interpolation). `.csv` seeds stream into COPY FROM STDIN in 1 MiB
chunks, so file size never becomes memory. Seeds are idempotent: a CSV goes straight into its
table the first time; when its rows are already there, it is staged in a temp table and only
the missing rows are added (INSERT ... ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from sqlmig.core.checks import check_file
from sqlmig.core.sqlfile import SqlFile
from sqlmig.errors import ConfigError, Interrupted, MigrationFailed, display_path
from sqlmig.pg.send import rollback_quietly, send
from sqlmig.pg.session import Session
from sqlmig.seeds import on_disk
from sqlmig.seeds.on_disk import Seed

CHUNK = 1 << 20
COPY_LINE = re.compile(r"COPY [^,]+, line (\d+)")


@dataclass(frozen=True)
class SeedResult:
    seed: Seed
    rows: int
    ms: int


def parameters(seeds: Sequence[Seed], environ: Mapping[str, str]) -> dict[Seed, dict[str, str]]:
    """Each seed's parameter values, or a ConfigError naming the unset variable (before
    anything runs)."""
    values: dict[Seed, dict[str, str]] = {}
    for seed in seeds:
        values[seed] = {}
        for name, variable in seed.params:
            if not environ.get(variable):
                raise ConfigError(
                    f"{variable}: not set; {display_path(seed.path)} needs it "
                    f"(sqlmig:param {name}={variable})"
                )
            values[seed][name] = environ[variable]
    return values


def run(session: Session, seeds: Sequence[Seed], environ: Mapping[str, str]) -> list[SeedResult]:
    """All seeds in one transaction; on any error everything is rolled back."""
    values = parameters(seeds, environ)
    texts = {}
    for seed in seeds:
        if seed.kind == "sql":
            file = SqlFile(seed.path, on_disk.read_sql(seed))
            check_file(file, transactional=True, noun="seed")
            texts[seed] = file
        else:
            on_disk.csv_header(seed)  # a broken header is a file error before anything runs
    conn = session.conn
    conn.execute("BEGIN")
    results = []
    secrets = [v for params in values.values() for v in params.values()]
    try:
        for seed in seeds:
            started = time.perf_counter()
            if seed.kind == "sql":
                for name, value in values[seed].items():
                    conn.execute("SELECT set_config(%s, %s, true)", (f"sqlmig.{name}", value))
                rows = send(session.link, texts[seed], texts[seed].text)
            else:
                rows = _load_csv(conn, seed)
            results.append(SeedResult(seed, rows, round((time.perf_counter() - started) * 1000)))
        conn.execute("COMMIT")
    except MigrationFailed as failure:
        rollback_quietly(session.link)
        raise _scrubbed(failure, secrets) from None
    except (KeyboardInterrupt, SystemExit):
        rollback_quietly(session.link)
        raise Interrupted("seeding interrupted; everything was rolled back") from None
    except BaseException:
        rollback_quietly(session.link)
        raise
    return results


def _scrubbed(failure: MigrationFailed, secrets: list[str]) -> MigrationFailed:
    """Parameter values (passwords) never reach the terminal, even inside a server message."""
    for secret in secrets:
        failure.args = tuple(str(a).replace(secret, "***") for a in failure.args)
        if failure.detail:
            failure.detail = failure.detail.replace(secret, "***")
    return failure


def _copy(conn: psycopg.Connection, statement: sql.Composed, seed: Seed) -> int:
    with conn.cursor() as cur:
        with cur.copy(statement) as copy, on_disk.open_csv(seed.path) as handle:
            while chunk := handle.read(CHUNK):
                copy.write(chunk)
        return max(cur.rowcount, 0)


def _load_csv(conn: psycopg.Connection, seed: Seed) -> int:
    columns = on_disk.csv_header(seed)
    target = sql.Identifier(*seed.table)
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')")
    try:
        conn.execute("SAVEPOINT sqlmig_seed")
        try:
            rows = _copy(conn, copy.format(target, names), seed)
            conn.execute("RELEASE SAVEPOINT sqlmig_seed")
            return rows
        except psycopg.errors.UniqueViolation:
            conn.execute("ROLLBACK TO SAVEPOINT sqlmig_seed")
        # a re-run: stage the file, then add only the rows that are missing
        staging = sql.Identifier("sqlmig_seed_staging")
        conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA")
            .format(staging, names, target)
        )
        _copy(conn, copy.format(staging, names), seed)
        inserted = conn.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING")
            .format(target, names, names, staging)
        ).rowcount
        conn.execute(sql.SQL("DROP TABLE {}").format(staging))
        return max(inserted, 0)
    except psycopg.Error as err:
        raise _csv_failure(seed, err) from None


def _csv_failure(seed: Seed, err: psycopg.Error) -> MigrationFailed:
    """file:line of the bad row: COPY's "line N" counts physical lines, as the file does."""
    diag = err.diag
    match = COPY_LINE.search(diag.context or "")
    line = int(match[1]) if match else None
    message = (diag.message_primary or str(err)).strip()
    if diag.sqlstate == "42P01":  # undefined_table
        message += f" (the table is named by the file: {seed.path.name})"
    return MigrationFailed(
        seed.path, message, line=line, detail=diag.message_detail, hint=diag.message_hint,
        context=diag.context if match is None else None, sqlstate=diag.sqlstate,
    )
