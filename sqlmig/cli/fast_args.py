"""Reading one option the way Click does, for the commands that start without Typer when
their arguments are plain (lint_run.py, status_run.py); anything Click would word an error
for is left to it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


def option(arg: str, rest: Iterator[str], known: Mapping[str, tuple[str, ...]]
           ) -> tuple[str, str | None] | None:
    """(field, value) of the option `arg` (its value from `--name=value` or the next of
    `rest`; None for a flag), or None when Typer must read it: an unknown option (--help, a
    typo, bundled short flags), a flag given a value, a value missing. `known`: flag ->
    (field, "value" if it takes one, ...)."""
    flag, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
    spec = known.get(flag)
    if spec is None:
        return None
    if spec[1] != "value":
        return None if equals else (spec[0], None)
    if not equals:
        following = next(rest, None)
        if following is None:
            return None
        value = following
    return spec[0], value


# The options that choose the database and the files, as every command spells them:
# flag -> (field, "value")
SETTINGS_OPTIONS: dict[str, tuple[str, ...]] = {
    "--env": ("env", "value"),
    "-e": ("env", "value"),
    "--migrations-dir": ("migrations_dir", "value"),
    "-d": ("migrations_dir", "value"),
    "--database-url": ("database_url", "value"),
    "--url": ("database_url", "value"),
    "-u": ("database_url", "value"),
}
