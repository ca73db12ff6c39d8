"""`sqlmig lint` without Typer: the command's body (the Typer command in lint.py calls it), and
the start-up path `sqlmig lint ...` takes when its arguments are plain (an editor or
pre-commit runs lint on every save: Typer and Click are a third of a one-file run). Help, an
unknown option or a malformed value go to Typer, which words those errors."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from sqlmig.cli.fast_args import option
from sqlmig.errors import EXIT_LINT, ConfigError, SqlmigError

FORMATS = ("table", "json", "github", "markdown")
STDIN = "-"


@dataclass
class LintOptions:
    paths: list[Path] = field(default_factory=list)
    output_format: str = "table"
    json: bool = False
    disable: list[str] = field(default_factory=list)
    enable: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    stdin_name: str = "stdin.up.sql"
    pg_version: int | None = None
    against: str | None = None
    migrations_dir: str | None = None
    debug: bool = False


def run(options: LintOptions) -> int:
    """Lint, print the findings; the exit code (5 when a finding is an error)."""
    from sqlmig import commands
    from sqlmig.cli import render_lint
    from sqlmig.core import config

    fmt = "json" if options.json else options.output_format
    if fmt not in FORMATS:
        raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    settings = config.resolve(env=None, database_url=None, require_url=False,
                              overrides={"migrations_dir": options.migrations_dir})
    named, texts = list(options.paths), {}
    if any(str(p) == STDIN for p in named):  # stdin: what an editor has not saved yet
        stdin = Path(options.stdin_name)
        texts[stdin] = sys.stdin.read()
        named = [stdin if str(p) == STDIN else p for p in named]
    findings = commands.lint(settings, named, disable=options.disable, enable=options.enable,
                             exclude=options.exclude, texts=texts,
                             pg_version=options.pg_version, against=options.against)
    if fmt == "json":
        from sqlmig.cli.render import print_json

        print_json(render_lint.lint_json(findings))
    elif fmt == "github":
        render_lint.lint_github(findings)
    elif fmt == "markdown":
        render_lint.lint_markdown(findings)
    else:
        render_lint.lint_table(findings)
    return EXIT_LINT if any(f.severity == "error" for f in findings) else 0


# Options the fast path reads: flag -> (field, "value" if it takes one, "list" if repeatable)
OPTIONS: dict[str, tuple[str, ...]] = {
    "--format": ("output_format", "value"),
    "--json": ("json", "flag"),
    "--disable": ("disable", "value", "list"),
    "--enable": ("enable", "value", "list"),
    "--exclude": ("exclude", "value", "list"),
    "--stdin-name": ("stdin_name", "value"),
    "--pg-version": ("pg_version", "value"),
    "--against": ("against", "value"),
    "--migrations-dir": ("migrations_dir", "value"),
    "-d": ("migrations_dir", "value"),
    "--debug": ("debug", "flag"),
}


def parse(args: list[str]) -> LintOptions | None:
    """The options of `sqlmig lint ARGS`, or None for anything Typer should handle."""
    options = LintOptions()
    values = iter(args)
    only_paths = False
    for arg in values:
        if only_paths or arg == STDIN or not arg.startswith("-"):
            options.paths.append(Path(arg))
            continue
        if arg == "--":
            only_paths = True
            continue
        read = option(arg, values, OPTIONS)
        if read is None:
            return None  # --help, a typo: Typer's help or usage error
        name, value, kind = read
        if value is None:
            setattr(options, name, True)
        elif name == "pg_version":
            if not value.lstrip("-").isdigit():
                return None
            options.pg_version = int(value)
        elif kind == ("list",):
            getattr(options, name).append(value)
        else:
            setattr(options, name, value)
    return options


def fast(args: list[str]) -> None:
    """Run `sqlmig lint ARGS` and exit, or return when Typer must parse the arguments."""
    options = parse(args)
    if options is None:
        return
    try:
        code = run(options)
    except (SqlmigError, KeyboardInterrupt) as err:
        from sqlmig.cli import render
        from sqlmig.errors import EXIT_INTERRUPTED, Interrupted

        if options.debug:
            render.traceback(err)
        if isinstance(err, KeyboardInterrupt):
            render.error(Interrupted("interrupted; nothing was left half-done"))
            code = EXIT_INTERRUPTED
        else:
            render.error(err)
            code = err.exit_code
    raise SystemExit(code)
