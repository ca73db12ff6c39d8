"""Commands for reviewing migrations before they reach production: plan, check, diff, docs.
Typer + rendering only, registered from cli.py.
"""


from pathlib import Path
from typing import Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    OutOfOrderOption,
    UrlOption,
    WaitOption,
    app,
    database_url,
    reported,
    settings_for,
)
from sqlmig.errors import EXIT_ERROR, EXIT_PENDING, PlanError

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("plan")
def plan_command(
    to: Annotated[int | None, typer.Option("--to", help="Stop after this version.")] = None,
    json_: JsonOption = False,
    allow_out_of_order: OutOfOrderOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Show what `migrate` would run: each pending migration with its transaction mode,
    directives, checksum and SQL. Runs nothing.

    Example: sqlmig plan --to 12
    """
    from sqlmig.cli import render_review as render
    from sqlmig.core import files, plan
    from sqlmig.pg import db

    with reported(debug):
        settings = settings_for(env, database_url_, connect_wait=wait,
                                allow_out_of_order=allow_out_of_order or None)
        migrations = files.discover(settings.migrations_dir, defer_downs=True)
        with db.connect(database_url(settings), settings=settings) as conn:
            applied = db.History(settings.schema, settings.table).read(conn)
        steps = plan.plan_migrate(
            migrations, applied, to=to, allow_out_of_order=settings.allow_out_of_order
        )
        if json_:
            render.print_json(render.plan_json(steps, settings.env))
        else:
            render.plan_listing(steps)


@app.command()
def check(
    scratch_url: Annotated[
        str | None,
        typer.Option("--scratch-url", help="An empty database to use instead of creating "
                     "sqlmig_check_<random> beside the target.", show_default=False),
    ] = None,
    json_: JsonOption = False,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Prove every down reverses its up: on a scratch database, apply each migration, roll it
    back, compare schema snapshots, apply it again; then roll everything back to the start.
    Exits 1 naming the first migration whose down does not reverse its up, and what differs.

    Example: sqlmig check
    """
    from sqlmig.cli import render_review as render
    from sqlmig.cli.render import notice
    from sqlmig.core import files
    from sqlmig.pg import db, snapshot
    from sqlmig.review import roundtrip

    with reported(debug):
        settings = settings_for(env, database_url_)
        migrations = files.discover(settings.migrations_dir)
        on_result = (lambda check: None) if json_ else render.check_line
        if scratch_url:
            with db.connect(scratch_url) as conn:
                if not snapshot.is_empty(snapshot.take(conn)):
                    raise PlanError("--scratch-url: that database is not empty; give an empty one")
            report = roundtrip.run_check(settings, migrations, scratch_url, on_result)
        else:
            with roundtrip.scratch_database(database_url(settings), notice) as url:
                report = roundtrip.run_check(settings, migrations, url, on_result)
        if json_:
            render.print_json(render.check_json(report))
        else:
            render.check_summary(report)
        if not report.ok:
            raise typer.Exit(EXIT_ERROR)


def _resolve(target: str) -> str:
    """An environment name, or a URL."""
    from sqlmig.core import config, secrets

    if target in config.ENVIRONMENTS:
        return database_url(settings_for(target, None))
    secrets.remember(target)
    return target


def _label(target: str) -> str:
    """How diff names a side: the environment, or user@host:port/db for a URL."""
    from sqlmig.core import config
    from sqlmig.pg import db

    return target if target in config.ENVIRONMENTS else db.describe_target(target)


@app.command()
def diff(
    source: Annotated[str, typer.Option("--from", help="Environment name or database URL.")],
    target: Annotated[str, typer.Option("--to", help="Environment name or database URL.")],
    json_: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Compare two databases' schemas (tables, columns, constraints, indexes, views,
    functions, triggers, types, sequences, extensions). Exits 3 when they differ.

    Example: sqlmig diff --from staging --to production
    """
    from sqlmig.cli import render_review as render
    from sqlmig.pg import db, snapshot

    with reported(debug):
        settings = settings_for(None, None)
        exclude = settings.own_tables
        source_label, target_label = _label(source), _label(target)
        snapshots = []
        for where in (source, target):
            with db.connect(_resolve(where)) as conn:
                snapshots.append(snapshot.take(conn, exclude=exclude))
        differences = snapshot.compare(*snapshots)
        if json_:
            render.print_json({
                "from": source_label,
                "to": target_label,
                "same": not differences,
                "differences": [render.difference_json(d) for d in differences],
            })
        else:
            render.differences_table(differences, source_label, target_label)
        if differences:
            raise typer.Exit(EXIT_PENDING)


@app.command()
def docs(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Markdown documentation of the current schema: tables, columns, types, defaults,
    comments, foreign keys, indexes, enums.

    Example: sqlmig docs --output docs/schema.md
    """
    from sqlmig.cli import render_review as render
    from sqlmig.pg import db, snapshot

    with reported(debug):
        settings = settings_for(env, database_url_)
        with db.connect(database_url(settings), settings=settings) as conn:
            taken = snapshot.take(conn, exclude=settings.own_tables)
        text = render.schema_markdown(taken, settings.env)
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {output}")


@app.command()
def dump(
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="File to write, or - for stdout [default: "
                     "schema_file, schema.sql].", show_default=False),
    ] = None,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Write the schema as a deterministic SQL file (pg_dump --schema-only --no-owner, its
    version lines removed; the catalog snapshot when no suitable pg_dump exists), so pull
    requests show schema changes. With `dump_schema = true`, migrate and rollback do this too.

    Example: sqlmig dump --output schema.sql
    """
    from sqlmig.commands.common import current_schema_text
    from sqlmig.pg import db

    with reported(debug):
        settings = settings_for(env, database_url_)
        url = database_url(settings)
        with db.connect(url, settings=settings) as conn:
            text = current_schema_text(settings, url, conn)
        if output == "-":
            typer.echo(text, nl=False)
            return
        path = Path(output) if output else settings.root / settings.schema_file
        path.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {path}")


@app.command()
def snapshots(
    json_: JsonOption = False,
    env: EnvOption = None,
    debug: DebugOption = False,
) -> None:
    """List the backups `migrate --snapshot` took (in .sqlmig/snapshots/), newest last, with
    the command that restores each.

    Example: sqlmig snapshots --json
    """
    from sqlmig.cli import render_review as render
    from sqlmig.pg import dump as dumps

    with reported(debug):
        settings = settings_for(env, None) if env else None
        root = settings.root if settings else Path.cwd()
        found = dumps.list_snapshots(root / dumps.SNAPSHOT_DIR)
        if env:
            found = [p for p in found if p.name.startswith(f"{env}-")]
        rows = [
            {"file": str(p.relative_to(root)), "environment": p.name.split("-", 1)[0],
             "bytes": p.stat().st_size,
             "restore": f"pg_restore --clean --if-exists --no-owner --dbname URL {p}"}
            for p in found
        ]
        if json_:
            render.print_json({"snapshots": rows})
        elif not rows:
            typer.echo("no snapshots yet (migrate --snapshot takes one)")
        else:
            for row in rows:
                typer.echo(f"{row['file']}  {row['bytes']:,} bytes")
