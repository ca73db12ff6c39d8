"""A fleet's targets and its report: reading `--targets FILE` (one URL or environment name a
line, or TOML names and URLs) and `--schemas a,b,c`, naming each target without its password,
and the report a fleet run returns (one row per target, the exit code, the JSON that
`--only-failed` reads back).

Pure: no socket, no Rich. A bad line is a ConfigError naming the file and line, raised before
any target is touched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from sqlmig.core.config import ENVIRONMENTS, IDENTIFIER
from sqlmig.core.secrets import hide, remember
from sqlmig.errors import EXIT_ERROR, EXIT_INTERRUPTED, ConfigError, counted, display_path

SCHEMES = ("postgres", "postgresql")
# A comment starts a line, or follows a space: a password may hold a `#`, never ` #`.
_COMMENT = re.compile(r"(?:^|\s)#.*$")


@dataclass(frozen=True)
class Target:
    """One database (its URL, or an environment's URL) or one schema of the fleet's database.
    `name` is how every report line calls it: never a password."""

    name: str
    url: str | None = None
    env: str | None = None  # the environment whose URL this is
    schema: str | None = None  # --schemas mode: the schema in the one database


def _parts(url: str) -> tuple[str, str, str, dict[str, str]]:
    """(userinfo, host[:port], dbname, query) of a URL, read as libpq does where a password
    holds an unencoded `#`, `?` or `/`: the user information runs to the last `@` before the
    host."""
    userinfo, _, location = url.partition("://")[2].rpartition("@")
    location, _, query = location.partition("?")
    hostport, _, dbname = location.partition("/")
    return userinfo, hostport, unquote(dbname), {k: v[-1] for k, v in parse_qs(query).items()}


def target_name(url: str) -> str:
    """`user@host:port/dbname` (`socket /dir` for a Unix socket given as `?host=`), without
    the password however the URL quotes it."""
    remember(url)
    userinfo, hostport, dbname, query = _parts(url)
    user = unquote(userinfo.partition(":")[0]) or query.get("user", "")
    host, _, port = hostport.rpartition(":") if re.search(r":\d+$", hostport) \
        else (hostport, "", "")
    host = unquote(host) or query.get("host", "localhost")
    host = f"socket {host}" if host.startswith("/") else host
    port = port or query.get("port", "5432")
    return hide(f"{user}@{host}:{port}/{dbname or query.get('dbname', '')}".lstrip("@"))


def _url_problem(url: str) -> str | None:
    """Why `url` is no database URL a fleet can use; None when it is one."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in SCHEMES:
        return (f"{hide(url)!r} is neither a postgresql:// URL nor an environment name "
                f"({', '.join(ENVIRONMENTS)})")
    if any(c.isspace() for c in url):
        return "a URL holds no spaces (encode them as %20)"
    _, _, dbname, query = _parts(url)
    if not dbname and not query.get("dbname"):
        return "the URL names no database (.../dbname)"
    return None


def _target(value: str, name: str | None, where: str) -> Target:
    remember(value)
    if value in ENVIRONMENTS:
        return Target(name or value, env=value)
    problem = _url_problem(value)
    if problem:
        raise ConfigError(f"{where}: {problem}")
    return Target(name or target_name(value), url=value)


def parse_targets(text: str, path: Path | str) -> list[Target]:
    """The targets a file names: TOML (`[targets]` name = URL or environment) when it ends in
    .toml, otherwise one URL or environment name a line, `#` comments and blank lines
    skipped. Refuses duplicates and an empty list."""
    where = display_path(path)
    if str(path).endswith(".toml"):
        targets = _parse_toml(text, where)
    else:
        targets = []
        for number, raw in enumerate(text.splitlines(), 1):
            value = _COMMENT.sub("", raw).strip()
            if value:
                targets.append((_target(value, None, f"{where}:{number}"), f"{where}:{number}"))
    return _unique(targets, where)


def _parse_toml(text: str, where: str) -> list[tuple[Target, str]]:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: invalid TOML: {hide(str(err))}") from None
    table = data.get("targets")
    if not isinstance(table, dict) or set(data) != {"targets"}:
        raise ConfigError(f"{where}: expected one [targets] table of name = \"URL or "
                          "environment\" lines")
    lines = text.splitlines()
    found = []
    for name, value in table.items():
        line = next((i for i, raw in enumerate(lines, 1)
                     if re.match(rf"\s*[\"']?{re.escape(name)}[\"']?\s*=", raw)), None)
        at = f"{where}:{line}" if line else f"{where}: targets.{name}"
        if not isinstance(value, str):
            raise ConfigError(f"{at}: {name} must be a URL or environment name string")
        found.append((_target(value, name, at), at))
    return found


def _unique(targets: list[tuple[Target, str]], where: str) -> list[Target]:
    seen: dict[str, str] = {}
    for target, at in targets:
        key = target.url or target.env or target.name
        if key in seen:
            raise ConfigError(f"{at}: {target.name} is listed twice (first at {seen[key]})"
                              if at != where else f"{where}: {target.name} is listed twice")
        seen[key] = at
    if not targets:
        raise ConfigError(f"{where}: names no targets")
    return [target for target, _ in targets]


def parse_schemas(text: str, where: str = "--schemas") -> list[Target]:
    """`a,b,c` (or one name a line): each a plain SQL identifier, each once."""
    names = [n for n in re.split(r"[,\s]+", text) if n]
    for name in names:
        if not IDENTIFIER.match(name):
            raise ConfigError(f"{where}: {name!r} is not a plain SQL identifier (letters, "
                              "digits, _ and $, starting with a letter or _, at most 63 "
                              "characters)")
    return _unique([(Target(n, schema=n), where) for n in names], where)


def parse_schema_file(text: str, path: Path) -> list[Target]:
    """`--schemas @FILE`: schema names a line (or comma-separated), `#` comments; an error
    names the file and line."""
    found: list[tuple[Target, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        names = line.split("#", 1)[0]
        if names.strip():
            at = f"{display_path(path)}:{number}"
            found += [(target, at) for target in parse_schemas(names, at)]
    return _unique(found, f"--schemas @{display_path(path)}")


def targets_from_rows(values: Sequence[object], where: str = "--targets-query") -> list[Target]:
    """The targets a query returned, its first column a row: postgresql:// URLs (databases)
    or plain identifiers (schemas of the database it ran on)."""
    found = []
    for number, value in enumerate(values, 1):
        at = f"{where}: row {number}"
        if isinstance(value, str) and IDENTIFIER.match(value):
            found.append((Target(value, schema=value), at))
        elif isinstance(value, str) and value.startswith(tuple(f"{s}://" for s in SCHEMES)):
            found.append((_target(value, None, at), at))
        else:
            shown = hide(value) if isinstance(value, str) else value
            raise ConfigError(f"{at}: {shown!r} is neither a postgresql:// URL nor a schema "
                              "name (a plain SQL identifier)")
    return _unique(found, where)


def split_canary(targets: Sequence[Target], canary: int) -> list[list[Target]]:
    """The waves a run goes in: the first `canary` targets alone, then the rest."""
    if canary <= 0 or canary >= len(targets):
        return [list(targets)]
    return [list(targets[:canary]), list(targets[canary:])]


class State(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # interrupted while it ran: as a single run's Ctrl-C
    SKIPPED = "skipped"  # never started (--fail-fast, --canary, an interrupt)


@dataclass(frozen=True)
class TargetResult:
    """One target's row: its versions before and after (None: never read), the migrations
    this run applied, the ones still pending (status), its time and its error."""

    target: str
    state: State
    from_version: int | None = None
    to_version: int | None = None
    applied: int = 0
    pending: int | None = None
    ms: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["state"] = str(self.state)
        row["error"] = hide(self.error) if self.error else None
        return row


@dataclass
class FleetReport:
    """Every target's row, in the order the targets were given."""

    command: str
    results: list[TargetResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counts = {str(state): 0 for state in State}
        for row in self.results:
            counts[row.state] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """130 after an interrupt, 1 when any target did not succeed, else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 0 if all(r.state == State.SUCCEEDED for r in self.results) else EXIT_ERROR

    def summary(self) -> str:
        counts = self.counts
        parts = [f"{n} {state}" for state, n in counts.items() if n]
        return f"{self.command}: {counted(len(self.results), 'target')}: " \
            f"{', '.join(parts) or 'none'}"

    def as_json(self) -> dict[str, Any]:
        return {"command": self.command, "interrupted": self.interrupted,
                "counts": self.counts, "targets": [r.as_json() for r in self.results]}

    def json_chunks(self) -> Iterator[str]:
        """as_json() as json.dumps(indent=2) writes it, a target at a time: a report of
        10,000 targets is written without being built whole in memory."""
        head = json.dumps({"command": self.command, "interrupted": self.interrupted,
                           "counts": self.counts, "targets": []}, indent=2)
        if not self.results:
            yield head + "\n"
            return
        yield head.removesuffix("[]\n}") + "["
        for i, row in enumerate(self.results):
            text = json.dumps(row.as_json(), indent=2).replace("\n", "\n    ")
            yield ("," if i else "") + "\n    " + text
        yield "\n  ]\n}\n"


def unfinished(report_text: str, path: Path | str) -> set[str]:
    """The targets a previous run's `--json` report did not finish (failed, cancelled or
    skipped), by name, for `--only-failed`."""
    where = display_path(path)
    try:
        data = json.loads(report_text)
        rows = data["targets"]
        return {str(row["target"]) for row in rows if row["state"] != State.SUCCEEDED}
    except (ValueError, TypeError, KeyError):
        raise ConfigError(f"{where}: not a fleet report (the --json output of a fleet run)") \
            from None


def only(targets: Iterable[Target], names: set[str]) -> list[Target]:
    return [t for t in targets if t.name in names]
