"""Reading options the way Click does, for the commands that start without Typer when their
arguments are plain (lint_run.py, status_run.py, migrate_run.py, change_run.py); anything
Click would word an error for is left to it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

# What a value must look like to be read here, and what it is read as: a value Click would
# refuse, or read otherwise (`+3`, `1e3`, `-1` against a minimum of 0), is left to Click.
_DIGITS = re.compile(r"[0-9]+")
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")
KINDS: dict[str, tuple[re.Pattern[str], Any]] = {
    "seconds": (_SECONDS, float),  # a float option with min=0
    "count": (_DIGITS, int),  # an int option with min=0
    "positive": (re.compile(r"0*[1-9][0-9]*"), int),  # an int option with min=1
    "version": (_DIGITS, int),  # an int option (a version: never negative)
}


def option(arg: str, rest: Iterator[str], known: Mapping[str, tuple[str, ...]]
           ) -> tuple[str, str | None, tuple[str, ...]] | None:
    """(field, value, the rest of its spec) of the option `arg` (its value from
    `--name=value` or the next of `rest`; None for a flag), or None when Typer must read it:
    an unknown option (--help, a typo, bundled short flags), a flag given a value, a value
    missing. `known`: flag -> (field, "value" if it takes one, ...)."""
    flag, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
    spec = known.get(flag)
    if spec is None:
        return None
    if spec[1] != "value":
        return None if equals else (spec[0], None, spec[2:])
    if not equals:
        following = next(rest, None)
        if following is None:
            return None
        value = following
    return spec[0], value, spec[2:]


def parse(args: list[str], known: Mapping[str, tuple[str, ...]]) -> dict[str, Any] | None:
    """field -> value of every option in `args` (True for a flag; the last of a repeated
    one, as Click reads it), or None when Typer must read them. `known`: flag -> (field,
    "value" or "flag", and for a value not read as text, its KINDS)."""
    options: dict[str, Any] = {}
    values = iter(args)
    for arg in values:
        read = option(arg, values, known)
        if read is None:
            return None  # --help, a typo, an argument: Typer's help or usage error
        name, value, kind = read
        if value is None:
            options[name] = True
            continue
        if kind:
            pattern, read_as = KINDS[kind[0]]
            if not pattern.fullmatch(value):
                return None
            options[name] = read_as(value)
        else:
            options[name] = value
    return options


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
# The app's output flags, which may also follow the command name (cli/group.py), and --debug
OUTPUT_OPTIONS: dict[str, tuple[str, ...]] = {
    "--debug": ("debug", "flag"),
    "--quiet": ("quiet", "flag"),
    "-q": ("quiet", "flag"),
    "--verbose": ("verbose", "flag"),
    "-v": ("verbose", "flag"),
    "--no-color": ("no_color", "flag"),
}
