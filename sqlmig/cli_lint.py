"""`sqlmig lint`: static checks of migration files, offline. Typer + rendering only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sqlmig.cli import DebugOption, app, reported, settings_for
from sqlmig.errors import EXIT_LINT

FORMATS = ("table", "json", "github")


@app.command()
def lint(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Migration files to check [default: every file in sql/].",
                       show_default=False),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table, json or github (workflow annotations).")
    ] = "table",
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    disable: Annotated[
        list[str] | None,
        typer.Option("--disable", help="Rule to skip (repeatable); adds to lint_disable."),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Check migrations for operations that lock or rewrite tables, lose data or cannot be
    rolled back, with the safer alternative for each. Offline: no database needed. Exits 5
    when a finding has severity error. Silence one statement with a comment line
    `-- sqlmig:lint-ignore RULE` just above it.

    Example: sqlmig lint --format github sql/0042_add_index.up.sql
    """
    from sqlmig import files
    from sqlmig import lint as linter
    from sqlmig import render_review as render
    from sqlmig.errors import ConfigError

    with reported(debug):
        fmt = "json" if json_ else output_format
        if fmt not in FORMATS:
            raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        settings = settings_for(None, None, require_url=False)
        disabled = frozenset(settings.lint_disable) | frozenset(disable or [])
        unknown = sorted(disabled - set(linter.RULES))
        if unknown:
            raise ConfigError(f"lint_disable/--disable: unknown rule(s) {', '.join(unknown)} "
                              f"(rules: {', '.join(sorted(linter.RULES))})")
        migrations = files.discover(settings.migrations_dir)
        findings = []
        if not paths:
            for migration in migrations:
                findings += linter.lint_migration(migration, disabled=disabled)
        else:
            by_path = {m.up.path.resolve(): m for m in migrations}
            downs = {m.down.path.resolve(): m for m in migrations if m.down}
            for path in paths:
                resolved = path.resolve()
                if resolved in by_path:
                    findings += linter.lint_migration(by_path[resolved], disabled=disabled)
                elif resolved in downs:
                    down = downs[resolved].down
                    assert down is not None
                    findings += linter.lint_file(
                        down.path, down.text, direction="down",
                        no_transaction="no-transaction" in down.directives, disabled=disabled,
                    )
                else:
                    sql_file = files.read_sql_file(path)
                    findings += linter.lint_file(
                        path, sql_file.text,
                        no_transaction="no-transaction" in sql_file.directives,
                        disabled=disabled,
                    )
        findings.sort(key=lambda f: (str(f.path), f.line, f.rule))
        if fmt == "json":
            render.print_json(render.lint_json(findings))
        elif fmt == "github":
            render.lint_github(findings)
        else:
            render.lint_table(findings)
        if any(f.severity == "error" for f in findings):
            raise typer.Exit(EXIT_LINT)
