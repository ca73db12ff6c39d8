"""`-- sqlmig:NAME [ARGS]` header directives: which exist, what each means, and reading them
from a file's header so a typo is an error rather than a silently ignored comment. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from sqlmig.core.config import DURATION
from sqlmig.errors import MigrationFileError

# Any word after `sqlmig:` is taken as the name, so `sqlmig:No-Transaction` is reported as
# unknown instead of passing as a plain comment.
DIRECTIVE = re.compile(r"^--\s*sqlmig:(?P<name>\S*)\s*(?P<args>.*?)\s*$")


# Header directives a file may carry, and what each means to the engine.
KNOWN_DIRECTIVES = {
    "no-transaction": "run outside a transaction, statement by statement",
    "irreversible": "the migration has no down file; rollback stops here",
    "requires": "versions that must be applied first (and rolled back after this one)",
    "lock-timeout": "SET lock_timeout while this file runs, e.g. 5s",
    "statement-timeout": "SET statement_timeout while this file runs, e.g. 10min",
    "lint-ignore": "lint rules not to report for the next statement",
    "lint-ignore-file": "lint rules not to report anywhere in this file",
}


FLAG_DIRECTIVES = ("no-transaction", "irreversible")


VERSION_LIST = re.compile(r"^[0-9]+([\s,]+[0-9]+)*$")


def parse_directives(
    text: str, path: Path | str, known: Mapping[str, str] = KNOWN_DIRECTIVES
) -> dict[str, str]:
    """`-- sqlmig:NAME [ARGS]` lines in the header (the comments and blank lines before the
    first SQL), checked so a typo is an error rather than a silently ignored comment."""
    found: dict[str, str] = {}
    if "sqlmig:" not in text:
        return found
    for number, line in enumerate(lines(text), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        match = DIRECTIVE.match(stripped)
        if match is None:
            continue
        name = match["name"]
        if name not in known:
            names = ", ".join(f"sqlmig:{d}" for d in known)
            message = f"unknown directive 'sqlmig:{name}' (known: {names})"
            raise MigrationFileError(path, message, number)
        args = match["args"]
        if name in FLAG_DIRECTIVES and args:
            message = f"sqlmig:{name} takes no arguments, got {args!r}"
            raise MigrationFileError(path, message, number)
        if name == "requires" and not VERSION_LIST.match(args):
            raise MigrationFileError(
                path, f"sqlmig:requires needs one or more versions, e.g. 0003, got {args!r}", number
            )
        if name in ("lock-timeout", "statement-timeout") and not DURATION.match(args):
            raise MigrationFileError(
                path, f"sqlmig:{name} needs a duration like 5s, 500ms or 10min, got {args!r}",
                number,
            )
        if name == "requires" and name in found:
            args = f"{found[name]} {args}"
        found[name] = args
    return found


def lines(text: str) -> Iterator[str]:
    """The lines of `text`, one at a time: header scans stop early, so a 200 MB file is never
    split into a list."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        if end == -1:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1
