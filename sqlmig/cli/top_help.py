"""`sqlmig --help`, `sqlmig` alone and `sqlmig --version` without Typer: the top-level help as
Typer prints it on a terminal of 80 columns or more (and to pipes), kept equal to it by
tests/test_command_line.py. Building Typer's app is most of a bare `--help`'s start-up; a
narrower terminal, where Click wraps the text otherwise, still goes to Typer."""

import os
import sys

from sqlmig import __version__

EXIT_USAGE = 2  # errors.EXIT_USAGE (errors.py imports pathlib and re: a third of this path)

# Click wraps help at min(columns, 80) - 2: from 80 columns on, the text is this one.
WIDTH = 80

HELP = """\
Usage: sqlmig [OPTIONS] COMMAND [ARGS]...

  Plain-SQL migrations for PostgreSQL.

  Example: sqlmig migrate --env development

Options:
  --version             Print the version.
  --no-color            No colours or styles (also: NO_COLOR=1).
  -q, --quiet           Only results and errors: no progress, no per-migration
                        lines, no notices.
  -v, --verbose         Also say where sqlmig connected and what it found.
  --install-completion  Install completion for the current shell.
  --show-completion     Show completion for the current shell, to copy it or
                        customize the installation.
  -h, --help            Show this message and exit.

Commands:
  locks      Who holds or waits for locks on the tables pending migrations
             lock.
  migrate    Apply every pending migration as one new batch.
  up         Apply the next COUNT pending migrations (default 1).
  rollback   Undo the last batch (or --steps, --to, --all).
  down       Undo exactly one migration, the newest.
  redo       Roll back the newest migration and apply it again.
  new        Write the next-numbered up/down pair from a template.
  fresh      Drop everything in the schema, then migrate.
  reset      Roll back every migration, then migrate again.
  status     Every migration's state, time and batch.
  verify     Check files against history and report every problem.
  repair     Mend the history after a manual fix.
  baseline   Adopt an existing database: record migrations as applied.
  init       Scaffold a project: sql/, seeds/, sqlmig.toml.
  config     The resolved configuration and where each value came from.
  create     Create the database the URL names.
  drop       Drop the database the URL names, and everything in it.
  wait       Wait until the database server accepts connections.
  load       Load schema.sql into an empty database and record its migrations.
  lint       Offline checks for unsafe operations, each with the safer way.
  plan       What migrate would run, with its SQL; runs nothing.
  check      Prove every down reverses its up, on a scratch database.
  diff       Compare two databases' schemas.
  docs       Markdown documentation of the current schema.
  dump       Write the schema as a deterministic SQL file.
  snapshots  List the backups migrate --snapshot took.
  seed       Load the environment's seeds in one transaction.
  setup      Migrate, then seed.
  adopt      Switch from another migrator: its files and its history.
  fleet      Migrate (or check) many databases or schemas at once.
  server     The project's embedded development PostgreSQL (.sqlmig/pgdata).
"""


def columns() -> int:
    """The terminal's width as Click reads it (shutil.get_terminal_size, without importing
    shutil): $COLUMNS, else the terminal of stdout, else 80."""
    try:
        width = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        width = 0
    if width > 0:
        return width
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or WIDTH  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return WIDTH


def fast(args: list[str]) -> None:
    """Print the top-level help (exit 0; `sqlmig` alone: on stderr, exit 2 as Click does) or
    the version, and exit; return when Typer must answer."""
    if os.path.basename(sys.argv[0]) != "sqlmig":
        return  # `python -m sqlmig`: Click names the program otherwise
    if args == ["--version"]:
        print(f"sqlmig {__version__}")
        raise SystemExit(0)
    if args not in ([], ["--help"], ["-h"]) or columns() < WIDTH:
        return
    if args:
        sys.stdout.write(HELP)
        raise SystemExit(0)
    sys.stderr.write(HELP)
    raise SystemExit(EXIT_USAGE)
