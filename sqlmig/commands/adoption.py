"""`adopt`: switch a project from another migrator in one command. The other tool's folder is
converted into sql/ pairs, its history table is read (never changed) and sqlmig history rows
are written for what it applied, under sqlmig's lock and in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmig.commands.common import Confirm, guard
from sqlmig.core import adoption
from sqlmig.core.adoption import ADOPTED_TABLE, Adopted, AdoptionError, Conversion
from sqlmig.core.config import Settings
from sqlmig.core.files import FILE_NAME
from sqlmig.errors import counted, display_path
from sqlmig.pg import adoption as tool_history
from sqlmig.pg import connection, db
from sqlmig.pg.session import Session, record_environment
from sqlmig.reporting import Reporter, SilentReporter


@dataclass(frozen=True)
class Adoption:
    """What adopt wrote (or, with dry_run, would write): files, sqlmig's history rows, the
    config change; and how to drop the other tool's table once the team is happy."""

    tool: str
    dry_run: bool
    files: list[str]  # paths as the user names them
    rows: list[str]  # one line per history row
    table: str  # sqlmig's history table
    config: str | None  # the config file given a `table` setting, if any
    notes: list[str]
    cleanup: str | None  # the SQL that drops the other tool's table (adopt never runs it)


def adopt(settings: Settings, reporter: Reporter, tool: str, *, directory: Path | None = None,
          dry_run: bool = False, yes: bool = False, confirm: Confirm = None) -> Adoption:
    """Convert `tool`'s migrations in `directory` (default: where the tool keeps them) into
    sql/ pairs and, when a database URL is configured, record every migration the tool
    applied as applied in sqlmig's history (flagged adopted, with the tool's time and batch
    where it kept them). Refuses, changing nothing, on anything unsafe."""
    folder = settings.root / (directory or Path(adoption.TOOLS.get(tool, ("", "."))[1]))
    if tool != "knex" and folder.resolve() == settings.migrations_dir.resolve():
        raise AdoptionError(f"--dir {display_path(folder)} is sqlmig's own migrations folder; "
                            f"move the {tool} migrations elsewhere first (e.g. `git mv`)")
    conversion = adoption.convert(tool, folder, settings.migrations_dir)
    config_path, config_text = _config_change(settings, tool)
    if config_text is not None:
        settings = settings._replace(table=ADOPTED_TABLE)
    files = _planned_files(settings, conversion)
    if config_text is not None:
        files[config_path] = config_text
    rows: list[Adopted] = []
    written: dict[Path, str | None] = {}
    try:
        if settings.database_url:
            rows = _adopt_history(settings, reporter, conversion, files, dry_run=dry_run,
                                  yes=yes, confirm=confirm, written=written)
        elif not dry_run:
            _write(files, written)
    except BaseException:
        # the history was not recorded: leave no half-adopted project
        for path, previous in written.items():
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(previous, encoding="utf-8")
        raise
    files.pop(config_path, None)
    return Adoption(
        tool, dry_run, [display_path(p) for p in files],
        [f"{r.migration.stem}: applied"
         f"{f' at {r.applied_at:%Y-%m-%d %H:%M:%S}' if r.applied_at else ''}, batch {r.batch}"
         for r in rows],
        settings.table, display_path(config_path) if config_text is not None else None,
        conversion.notes,
        tool_history.DROP[tool].format(schema=settings.schema) if rows else None,
    )


def _config_change(settings: Settings, tool: str) -> tuple[Path, str | None]:
    """The config file and its new text when sqlmig's history table would share the other
    tool's name (golang-migrate's and dbmate's schema_migrations); else None for the text."""
    path = settings.config_file or settings.root / "sqlmig.toml"
    if settings.table != tool_history.TABLES[tool]:
        return path, None
    section = "[tool.sqlmig]" if path.name == "pyproject.toml" else None
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    why = f"{settings.table} is {tool}'s history table"
    return path, adoption.with_table(current, ADOPTED_TABLE, section, why)


def _planned_files(settings: Settings, conversion: Conversion) -> dict[Path, str]:
    """Every file to write into sql/; refuses one that exists with other content (an
    identical one, from an earlier run or written by the team, is left out)."""
    planned: dict[Path, str] = {}
    taken = _versions_in(settings.migrations_dir)
    for migration in conversion.migrations:
        other = taken.get(migration.version)
        if other is not None and other != migration.stem:
            raise AdoptionError(
                f"{display_path(settings.migrations_dir / other)}.up.sql already has version "
                f"{migration.version}, which {migration.source} would take; sqlmig needs one "
                "migration per version: move the existing one away first")
        for name, text in migration.files.items():
            path = settings.migrations_dir / name
            if not path.exists():
                planned[path] = text
            elif adoption.read_text(path) != text:
                raise AdoptionError(f"{display_path(path)} already exists (with other "
                                    f"content); adopt never overwrites: move it away first")
    return planned


def _versions_in(directory: Path) -> dict[int, str]:
    """The migrations already in sql/: version -> file stem."""
    if not directory.is_dir():
        return {}
    found = (FILE_NAME.match(path.name) for path in directory.iterdir())
    return {int(m["version"]): f"{m['version']}_{m['name']}" for m in found if m}


def _write(files: dict[Path, str], written: dict[Path, str | None]) -> None:
    """Write the files, noting in `written` what each held before (None: it is new), to put
    back if the history cannot be recorded."""
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        written[path] = path.read_text(encoding="utf-8") if path.exists() else None
        path.write_text(text, encoding="utf-8")


def _adopt_history(settings: Settings, reporter: Reporter, conversion: Conversion,
                   files: dict[Path, str], *, dry_run: bool, yes: bool, confirm: Confirm,
                   written: dict[Path, str | None]) -> list[Adopted]:
    url = settings.database_url
    assert url is not None
    history = db.History(settings.schema, settings.table)
    with connection.open_link(url, settings=settings, on_retry=reporter.notice) as link:
        conn = link.conn
        reporter.target(f"{settings.env} · {connection.describe_connection(link)}")
        db.acquire_lock(link, db.lock_key(settings.schema, settings.table), settings.lock_wait,
                        reporter.waiting)
        records = tool_history.read_records(conn, conversion.tool, settings.schema, conversion)
        rows = adoption.adopted_rows(conversion, records,
                                     f"{settings.schema}.{tool_history.TABLES[conversion.tool]}")
        versions = {r.migration.version for r in rows}
        recorded = [a.version for a in history.read(link) if a.version in versions]
        if recorded:
            raise AdoptionError(
                f"{settings.schema}.{settings.table} already records "
                f"{counted(len(recorded), 'version')} of them "
                f"({', '.join(map(str, recorded))}): this database was adopted already")
        if dry_run:
            return rows
        session = Session(link, history, [], env=settings.env, url=url, settings=settings)
        if rows:
            guard(session, reporter, "adopt",
                  f"records {counted(len(rows), 'migration')} {conversion.tool} applied as "
                  "applied", yes=yes, confirm=confirm)
        _write(files, written)
        with conn.transaction():
            history.ensure(link)
            record_environment(session, SilentReporter())
            tool_history.record_adopted(conn, history, conversion.tool, rows)
    return rows
