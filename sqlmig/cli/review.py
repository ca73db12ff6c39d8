"""Commands for reviewing migrations and schemas before they reach production: plan, check,
diff, docs, dump, snapshots. Each parses its options, calls one commands function and renders
what it returns.
"""


from pathlib import Path
from typing import Annotated

import typer

from sqlmig.cli.base import (
    DebugOption,
    EnvOption,
    MigrationsDirOption,
    UrlOption,
    WaitOption,
    app,
    reported,
)
from sqlmig.cli.common import line_reporter, settings_for
from sqlmig.cli.locks import LocksOption, show_lock_plan
from sqlmig.errors import EXIT_ERROR, EXIT_PENDING

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
OutOfOrderOption = Annotated[
    bool,
    typer.Option("--allow-out-of-order", help="Include pending migrations older than the "
                 "newest applied one, as migrate --allow-out-of-order would apply them."),
]


@app.command("plan", short_help="What migrate would run, with its SQL; runs nothing.")
def plan_command(
    to: Annotated[int | None, typer.Option("--to", metavar="VERSION",
                                           help="Stop after this version.")] = None,
    json_: JsonOption = False,
    locks: LocksOption = False,
    allow_out_of_order: OutOfOrderOption = False,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    wait: WaitOption = None,
    debug: DebugOption = False,
) -> None:
    """Show what `migrate` would run: each pending migration with its transaction mode,
    directives, checksum and SQL. Runs nothing (--locks: runs them in a transaction that is
    rolled back, to report the locks each statement takes).

    Example: sqlmig plan --to 12
    """
    from sqlmig import commands
    from sqlmig.cli import render_review

    with reported(debug):
        settings = settings_for(env, database_url_, connect_wait=wait,
                                allow_out_of_order=allow_out_of_order or None,
                                migrations_dir=migrations_dir)
        if locks:
            show_lock_plan(settings, to, json_)
            return
        planned = commands.plan(settings, line_reporter(), to=to)
        if json_:
            render_review.print_json(render_review.plan_json(planned, settings.env))
        else:
            render_review.plan_listing(planned)


@app.command(short_help="Prove every down reverses its up, on a scratch database.")
def check(
    scratch_url: Annotated[
        str | None,
        typer.Option("--scratch-url", metavar="URL",
                     help="An empty database to use instead of creating "
                     "sqlmig_check_<random> beside the target.", show_default=False),
    ] = None,
    keep_going: Annotated[
        bool, typer.Option("--keep-going", help="Check every migration, not only up to the "
                           "first that fails, and end with a table of every result."),
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="A down that changes the order of columns fails "
                           "(by default a warning)."),
    ] = False,
    json_: JsonOption = False,
    env: EnvOption = None,
    migrations_dir: MigrationsDirOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Prove every down reverses its up: on a scratch database, apply each migration, roll it
    back, compare schema snapshots, apply it again; then roll everything back to the start.
    Exits 1 naming the first migration whose down does not reverse its up, and what differs
    (--keep-going: every such migration). A down that only changes the order of columns (a
    dropped column added again comes last) is a warning, unless --strict.

    Example: sqlmig check --keep-going
    """
    from functools import partial

    from sqlmig import commands
    from sqlmig.cli import render_review

    with reported(debug):
        settings = settings_for(env, database_url_, migrations_dir=migrations_dir)
        on_result = None if json_ else partial(render_review.check_line, strict=strict)
        report = commands.check(settings, line_reporter(), scratch_url=scratch_url,
                                on_result=on_result, keep_going=keep_going, strict=strict)
        if json_:
            render_review.print_json(render_review.check_json(report))
        else:
            render_review.check_summary(report, keep_going=keep_going)
        if not report.ok:
            raise typer.Exit(EXIT_ERROR)


@app.command(short_help="Compare two databases' schemas.")
def diff(
    source: Annotated[str, typer.Option("--from", metavar="ENV_OR_URL",
                                        help="Environment name or database URL.")],
    target: Annotated[str, typer.Option("--to", metavar="ENV_OR_URL",
                                        help="Environment name or database URL.")],
    json_: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Compare two databases' schemas (tables, columns, constraints, indexes, views,
    functions, triggers, types, sequences, extensions). Exits 3 when they differ.

    Example: sqlmig diff --from staging --to production
    """
    from sqlmig import commands
    from sqlmig.cli import render_review

    with reported(debug):
        compared = commands.diff(settings_for(None, None), line_reporter(), source, target)
        if json_:
            render_review.print_json(render_review.diff_json(compared))
        else:
            render_review.differences_table(compared.differences, compared.source, compared.target)
        if not compared.same:
            raise typer.Exit(EXIT_PENDING)


@app.command(short_help="Markdown documentation of the current schema.")
def docs(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE",
                                  help="Write here instead of stdout.")
    ] = None,
    env: EnvOption = None,
    database_url_: UrlOption = None,
    debug: DebugOption = False,
) -> None:
    """Markdown documentation of the current schema: tables, columns, types, defaults,
    comments, foreign keys, indexes; views with their definition; functions; enums.

    Example: sqlmig docs --output docs/schema.md
    """
    from sqlmig import commands

    with reported(debug):
        text = commands.docs(settings_for(env, database_url_), line_reporter())
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {output}")


@app.command(short_help="Write the schema as a deterministic SQL file.")
def dump(
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE",
                     help="File to write, or - for stdout [default: "
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
    from sqlmig import commands

    with reported(debug):
        settings = settings_for(env, database_url_)
        text = commands.dump(settings, line_reporter())
        if output == "-":
            typer.echo(text, nl=False)
            return
        path = Path(output) if output else settings.root / settings.schema_file
        path.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {path}")


@app.command(short_help="List the backups migrate --snapshot took.")
def snapshots(
    json_: JsonOption = False,
    env: EnvOption = None,
    debug: DebugOption = False,
) -> None:
    """List the backups `migrate --snapshot` took (in .sqlmig/snapshots/), newest last, with
    the command that restores each.

    Example: sqlmig snapshots --json
    """
    from sqlmig import commands
    from sqlmig.cli import render_review

    with reported(debug):
        # without --env: every environment's backups, and no configuration needed
        found = commands.snapshots(settings_for(env, None) if env else None)
        if json_:
            render_review.print_json(render_review.snapshots_json(found))
        else:
            render_review.snapshots_listing(found)
