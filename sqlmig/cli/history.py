"""Commands that read or mend the history rather than run migrations: status, verify, repair,
baseline. Registered on the app from cli.py; Typer + rendering only, as there.
"""


from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    LockWaitOption,
    OutOfOrderOption,
    UrlOption,
    WaitOption,
    YesOption,
    app,
    database_url,
    guard_destructive,
    reported,
    settings_for,
)
from sqlmig.errors import EXIT_ERROR, EXIT_PENDING, invalid_index_problem

if TYPE_CHECKING:
    from sqlmig.core.config import Settings

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _read(settings, *, scan: bool = False, scripts: bool = False):
    """Files, then history and INVALID indexes, without taking the lock or creating anything:
    read commands must work on a database sqlmig has never touched, and while a migration
    runs. Returns (found, applied, invalid indexes, url)."""
    from sqlmig.core import files
    from sqlmig.pg import db

    # status reads no down file: a broken one is for verify and rollback to report
    found = (files.scan(settings.migrations_dir) if scan
             else files.discover(settings.migrations_dir, defer_downs=True))
    url = database_url(settings)
    with db.connect(url, settings=settings) as conn:
        applied = db.History(settings.schema, settings.table).read(conn, scripts=scripts)
        invalid = db.invalid_indexes(conn)
    return found, applied, invalid, url


@app.command()
def status(
    json_: JsonOption = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help=f"Exit {EXIT_PENDING} when anything is pending, "
                           "changed, missing or failed, or an index is INVALID (for CI).")
    ] = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Show every migration: applied, pending, changed (checksum differs), missing (file gone)
    or failed (stopped halfway); and warn of INVALID indexes (an interrupted CONCURRENTLY).

    Example: sqlmig status --exit-code   # in CI: fails when migrations are pending
    """
    from sqlmig.cli import render
    from sqlmig.core import plan
    from sqlmig.pg import db

    with reported(debug):
        settings = settings_for(env, database_url_, connect_wait=wait)
        migrations, applied, invalid, url = _read(settings)
        rows = plan.status(migrations, applied)
        if json_:
            render.print_json(render.status_json(rows, settings.env, invalid))
        else:
            render.status_table(rows, settings.env, db.describe_target(url))
            for index in invalid:
                render.notice(f"warning: {invalid_index_problem(index.name, index.table)}")
        if settings.dump_schema:
            warn_if_schema_file_stale(settings, url)
        if exit_code and (invalid or any(row.state != plan.State.APPLIED for row in rows)):
            raise typer.Exit(EXIT_PENDING)


def warn_if_schema_file_stale(settings: "Settings", url: str) -> None:
    from sqlmig.cli import render
    from sqlmig.commands.common import current_schema_text
    from sqlmig.pg import db

    path = settings.root / settings.schema_file
    with db.connect(url, settings=settings) as conn:
        current = current_schema_text(settings, url, conn)
    if not path.is_file() or path.read_text(encoding="utf-8") != current:
        render.notice(f"warning: {settings.schema_file} is stale (it does not match the "
                      "database); run `sqlmig dump` and commit it")


@app.command()
def verify(
    json_: JsonOption = False,
    show_diff: Annotated[
        bool, typer.Option("--diff", help="Show what changed in edited applied migrations.")
    ] = False,
    allow_out_of_order: OutOfOrderOption = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Files only, no database: names, pairs, "
                           "duplicate versions, directives and syntax (for pre-commit).")
    ] = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Check files against history: edited applied migrations (checksum drift), missing files,
    duplicates, out-of-order pending migrations, missing down files, failed migrations; and
    the database for INVALID indexes (an interrupted CREATE INDEX CONCURRENTLY).
    Exits 1 when anything is wrong; migrate/up/rollback run the same checks first.

    Example: sqlmig verify --diff
    """
    from sqlmig.cli import render
    from sqlmig.core import files, plan

    with reported(debug):
        settings = settings_for(env, database_url_, connect_wait=wait, require_url=not offline,
                                allow_out_of_order=allow_out_of_order or None)
        if offline:
            scan, applied, invalid = files.scan(settings.migrations_dir), [], []
            scan.problems.extend(files.syntax_problems(scan.migrations))
        else:
            scan, applied, invalid, _ = _read(settings, scan=True, scripts=True)
        problems = plan.verify(
            scan.migrations, applied, file_problems=scan.problems,
            allow_out_of_order=settings.allow_out_of_order,
        ) + [plan.Problem("invalid_index", invalid_index_problem(i.name, i.table))
             for i in invalid]
        scripts = {a.version: a.script for a in applied}
        texts = {m.version: (m.id, m.up.text) for m in scan.migrations}
        if json_:
            render.print_json({
                "ok": not problems,
                "problems": [
                    {
                        "kind": p.kind, "version": p.version, "message": p.message,
                        "recorded_checksum": p.recorded, "current_checksum": p.current,
                        "diff": _diff_text(scripts.get(p.version), texts.get(p.version))
                        if show_diff and p.kind == "changed" and p.version is not None else None,
                    }
                    for p in problems
                ],
            })
        else:
            render.problems_table(problems)
            for problem in problems:
                if show_diff and problem.kind == "changed" and problem.version is not None:
                    old, (name, new) = scripts.get(problem.version), texts[problem.version]
                    if old is None:
                        render.notice(f"{name}: the applied text was not kept; no diff")
                    else:
                        render.diff(old, new, name)
        if problems:
            raise typer.Exit(EXIT_ERROR)


def _diff_text(old: str | None, current: tuple[str, str] | None) -> str | None:
    from sqlmig.cli import render

    if old is None or current is None:
        return None
    name, new = current
    return render.diff_text(old, new, name)


@app.command()
def repair(
    accept: Annotated[
        list[int] | None,
        typer.Option("--accept", help="Record the current checksum of this edited applied "
                     "migration (repeatable)."),
    ] = None,
    all_changed: Annotated[
        bool, typer.Option("--all-changed", help="Accept every edited applied migration.")
    ] = False,
    yes: YesOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Mend the history after a manual fix: remove failed records (so the migration is pending
    again) and, only when asked, accept edited files' checksums. Prints every change.

    Example: sqlmig repair --accept 7
    """
    from sqlmig import engine
    from sqlmig.cli import render
    from sqlmig.core import plan
    from sqlmig.pg import db

    with reported(debug):
        settings = settings_for(env, database_url_, lock_wait=lock_wait, connect_wait=wait)
        reporter = render.LineReporter()
        url = database_url(settings)
        with engine.locked_session(settings, url, reporter) as session:
            fixes = plan.plan_repair(
                session.migrations, session.applied, accept=accept or [], all_changed=all_changed
            )
            count = len(fixes.remove) + len(fixes.accept) + len(fixes.restore)
            if count:
                guard_destructive(settings, url, session, yes, "repair",
                                  f"rewrites {count} history record{'s' * (count != 1)}")
            changes = engine.repair(session, fixes)
            invalid = db.invalid_indexes(session.conn)
        render.changes(changes, "nothing to repair: no failed records, no checksums to accept")
        for index in invalid:  # a rerun with IF NOT EXISTS would skip it
            render.notice(f"warning: {invalid_index_problem(index.name, index.table)}")


@app.command()
def baseline(
    version: Annotated[int, typer.Option("--version", help="Record every migration up to and "
                                         "including this one as applied.")],
    yes: YesOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    lock_wait: LockWaitOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Adopt an existing database: record migrations up to VERSION as applied (batch 0,
    flagged baseline) without running them. Refuses unless the history is empty.

    Example: sqlmig baseline --version 12 --env production --yes
    """
    from sqlmig import engine
    from sqlmig.cli import render
    from sqlmig.core import plan

    with reported(debug):
        settings = settings_for(env, database_url_, lock_wait=lock_wait, connect_wait=wait)
        reporter = render.LineReporter()
        url = database_url(settings)
        with engine.locked_session(settings, url, reporter) as session:
            chosen = plan.plan_baseline(session.migrations, session.applied, version)
            if chosen:
                guard_destructive(settings, url, session, yes, "baseline",
                                  f"records {len(chosen)} migration{'s' * (len(chosen) != 1)} "
                                  "as applied without running them")
            changes = engine.baseline(session, chosen)
        render.changes(changes, "nothing to baseline")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Project folder.")] = Path("."),
    debug: DebugOption = False,
) -> None:
    """Scaffold a project: sql/, seeds/development/, seeds/production/, sqlmig.toml with every
    key commented, .env.example. Refuses to overwrite anything.

    Example: sqlmig init my-service
    """
    from sqlmig.core import scaffold
    from sqlmig.errors import PlanError

    with reported(debug):
        existing = [name for name in scaffold.FILES if (directory / name).exists()]
        if existing:
            raise PlanError(f"{directory / existing[0]} already exists; init never overwrites")
        for name, text in scaffold.FILES.items():
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
            typer.echo(f"created {path}")
        typer.echo("next: sqlmig new create_users -t create_table --table users, then sqlmig "
                   "migrate")


@app.command("config")
def show_config(
    json_: JsonOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Print the resolved configuration of an environment and where each value came from
    (flag, environment variable, .env, config file, default). Passwords are redacted.

    Example: sqlmig config --env production --json
    """
    from sqlmig.cli import render
    from sqlmig.core import config

    with reported(debug):
        settings = settings_for(env, database_url_, require_url=False)
        rows = config.explain(settings)
        if json_:
            render.print_json({"environment": settings.env,
                               "settings": {k: {"value": v, "source": s} for k, v, s in rows}})
        else:
            escape = render.escape
            grid = render.table(("setting", "value", "source"), wrap=("value",))
            for key, value, source in rows:
                grid.add_row(key, escape("" if value is None else str(value)), escape(source))
            render.console().print(grid)
