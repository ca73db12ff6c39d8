"""`sqlmig lint`: static checks of migration files, offline. Typer + rendering only."""


from pathlib import Path
from typing import Annotated, Any

import typer

from sqlmig.cli.base import DebugOption, app, reported, settings_for
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
    from sqlmig.cli import render_review as render
    from sqlmig.core import files
    from sqlmig.errors import ConfigError
    from sqlmig.review import lint as linter

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
        options: dict[str, Any] = {
            "disabled": disabled, "lock_timeout": settings.lock_timeout is not None,
        }
        findings = []
        if not paths:
            for migration in files.discover(settings.migrations_dir):
                findings += linter.lint_migration(migration, **options)
        else:
            findings = _lint_paths(paths, settings.migrations_dir, options)
        findings.sort(key=lambda f: (str(f.path), f.line, f.rule))
        if fmt == "json":
            render.print_json(render.lint_json(findings))
        elif fmt == "github":
            render.lint_github(findings)
        else:
            render.lint_table(findings)
        if any(f.severity == "error" for f in findings):
            raise typer.Exit(EXIT_LINT)


def _lint_paths(paths: list[Path], migrations_dir: Path, options: dict[str, Any]) -> list[Any]:
    """Named files (e.g. what pre-commit passes): an up is checked with its down; a file outside
    the migrations directory on its own."""
    from sqlmig.core import files
    from sqlmig.errors import ConfigError
    from sqlmig.review import lint as linter

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"lint: no such file: {', '.join(missing)}")
    # scan, not discover: a problem elsewhere in sql/ is `verify --offline`'s to report
    ups = {m.up.path.resolve(): m for m in files.scan(migrations_dir).migrations}
    wanted = {p.resolve() for p in paths}
    findings = []
    for path in dict.fromkeys(p.resolve() for p in paths):
        if path in ups:
            findings += linter.lint_migration(ups[path], **options)
            continue
        pair = next((m for m in ups.values() if m.down and m.down.path.resolve() == path), None)
        if pair is not None and pair.up.path.resolve() in wanted:
            continue  # linted with its up
        sql_file = files.read_sql_file(path)
        if sql_file.big:
            continue  # bulk data: not linted (see lint_migration)
        direction = "down" if path.name.endswith(".down.sql") else "up"
        shown = next(p for p in paths if p.resolve() == path)
        findings += linter.lint_file(shown, sql_file.text, direction=direction, **options)
    return findings
