"""Resolved settings for one environment: files first (`sqlmig.toml` or `[tool.sqlmig]` in
`pyproject.toml`), then environment variables (a project `.env` fills gaps, the real environment
wins), then command-line flags. Every invalid value is a ConfigError naming its key.

Reads files and the environment; never connects to a database.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlmig.core.lock_retries import RetryPolicy, seconds
from sqlmig.core.secrets import hide, remember, remember_secret
from sqlmig.errors import ConfigError

ENVIRONMENTS = ("development", "test", "staging", "production")
# The variable names deployments already set (one URL per environment; production shares
# DATABASE_URL with development, which is why destructive commands check the database too).
URL_VARIABLES = {
    "development": "DATABASE_URL",
    "test": "DATABASE_URL_TEST",
    "staging": "DATABASE_URL_STAGING",
    "production": "DATABASE_URL",
}
# Test data mirrors development, staging mirrors production.
DEFAULT_SEED_SETS = {
    "development": "development",
    "test": "development",
    "staging": "production",
    "production": "production",
}
# Environments where a missing URL means "use the embedded server" rather than an error.
EMBEDDED_ALLOWED = ("development", "test")
PROTECTED = ("staging", "production")

# sqlmig's own table beside the history table (see db.METADATA_DDL); like the history table,
# never part of the application's schema in dumps, diffs, docs or round-trip checks.
METADATA_TABLE = "sqlmig_metadata"

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
DURATION = re.compile(r"^\d+\s*(us|ms|s|min|h|d)?$")

DEFAULTS: dict[str, Any] = {
    "migrations_dir": "sql",
    "seeds_dir": "seeds",
    "seed_set": None,
    "schema": "public",
    "table": "schema_migrations",
    "lock_timeout": None,
    "statement_timeout": None,
    "lock_wait": 60.0,
    "connect_wait": 0.0,
    "allow_out_of_order": False,
    "database_url": None,
    "dump_schema": False,
    "schema_file": "schema.sql",
    "snapshot_before_migrate": None,  # default: on for production only
    "snapshot_dir": ".sqlmig/snapshots",
    "lint_disable": [],
    "lint_enable": [],
    # lint: paths to skip, the target PostgreSQL, the size below which a lock is harmless
    "lint_exclude": [],
    "pg_version": None,  # default: the server's with --against, else the newest
    "lint_small_table_rows": 10000,
    # plan --locks: the dry run's own timeouts, so inspecting production never queues traffic
    "dry_run_lock_timeout": "2s",
    "dry_run_statement_timeout": "15s",
    # lock-timeout retries (core/lock_retries.py): a statement that gave up waiting for a
    # lock is tried again after lock_retry_delay, doubling up to lock_retry_max_delay
    "lock_retries": 5,
    "lock_retry_delay": "2s",
    "lock_retry_max_delay": "30s",
}
KEY_TYPES: dict[str, tuple[type, ...]] = {
    "migrations_dir": (str,),
    "seeds_dir": (str,),
    "seed_set": (str,),
    "schema": (str,),
    "table": (str,),
    "lock_timeout": (str,),
    "statement_timeout": (str,),
    "lock_wait": (int, float),
    "connect_wait": (int, float),
    "allow_out_of_order": (bool,),
    "database_url": (str,),
    "dump_schema": (bool,),
    "schema_file": (str,),
    "snapshot_before_migrate": (bool,),
    "snapshot_dir": (str,),
    "lint_disable": (list,),
    "lint_enable": (list,),
    "lint_exclude": (list,),
    "pg_version": (int,),
    "lint_small_table_rows": (int,),
    "dry_run_lock_timeout": (str,),
    "dry_run_statement_timeout": (str,),
    "lock_retries": (int,),
    "lock_retry_delay": (str,),
    "lock_retry_max_delay": (str,),
}
# What a key's type is called in an error, in the words of the config file (TOML).
WANTED: dict[tuple[type, ...], str] = {
    (str,): "a string", (int, float): "a number", (bool,): "true or false",
    (list,): "a list of rule ids", (int,): "a whole number",
}
ENV_OVERRIDES = {
    "MIGRATION_DIRECTORY": "migrations_dir",
    "MIGRATION_TABLE_NAME": "table",
    "SQLMIG_SCHEMA": "schema",
    "SQLMIG_LOCK_TIMEOUT": "lock_timeout",
    "SQLMIG_STATEMENT_TIMEOUT": "statement_timeout",
    "SQLMIG_SNAPSHOT_DIR": "snapshot_dir",
    "SQLMIG_LOCK_RETRIES": "lock_retries",
    "SQLMIG_LOCK_RETRY_DELAY": "lock_retry_delay",
    "SQLMIG_LOCK_RETRY_MAX_DELAY": "lock_retry_max_delay",
}


class Settings(NamedTuple):
    """One environment's settings, resolved (resolve()). A NamedTuple, as every record the
    quick paths load: a dataclass costs a start-up a millisecond to make, and importing
    dataclasses (and inspect) ten more (tests/test_start_up.py)."""

    env: str
    root: Path
    migrations_dir: Path
    seeds_dir: Path  # the seed files of this environment: <seeds_dir>/<seed_set>
    seed_set: str
    schema: str
    table: str
    lock_timeout: str | None
    statement_timeout: str | None
    lock_wait: float
    connect_wait: float
    allow_out_of_order: bool
    database_url: str | None  # None: use the embedded server (development/test only)
    config_file: Path | None
    dump_schema: bool = False
    schema_file: str = "schema.sql"
    snapshot_before_migrate: bool = False
    snapshot_dir: Path = Path(".sqlmig/snapshots")  # resolve() makes it absolute
    lint_disable: tuple[str, ...] = ()
    lint_enable: tuple[str, ...] = ()  # opt-in lint rules to run too ("style": all)
    lint_exclude: tuple[str, ...] = ()  # globs of files lint does not report on
    pg_version: int | None = None  # the major version lint judges for (None: newest/server's)
    lint_small_table_rows: int = 10000  # lint: a lock on a smaller table is only a note
    dry_run_lock_timeout: str = "2s"  # plan --locks (see DEFAULTS)
    dry_run_statement_timeout: str = "15s"
    lock_retries: RetryPolicy = RetryPolicy()
    # a fleet's --schemas target: SET search_path to this schema alone (None: the server's)
    search_path: str | None = None
    sources: Mapping[str, str] = MappingProxyType({})  # key -> origin

    @property
    def own_tables(self) -> tuple[tuple[str, str], ...]:
        """(schema, table) of sqlmig's own tables: the history and the metadata."""
        return ((self.schema, self.table), (self.schema, METADATA_TABLE))

    @property
    def cache_dir(self) -> Path:
        """Where the file cache lives (core/file_cache.py): never committed, safe to delete."""
        return self.root / ".sqlmig" / "cache"

    @property
    def protected(self) -> bool:
        """Environments where destructive commands need an explicit --yes."""
        return self.env in PROTECTED


def find_config_file(root: Path) -> tuple[Path | None, dict[str, Any]]:
    """`sqlmig.toml` wins over `[tool.sqlmig]` in `pyproject.toml`; neither is fine."""
    candidates = [(root / "sqlmig.toml", ()), (root / "pyproject.toml", ("tool", "sqlmig"))]
    for path, keys in candidates:
        if not path.is_file():
            continue
        import tomllib  # only when there is a file to read (every command starts here)

        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path.name}: invalid TOML: {err}") from None
        for key in keys:
            data = data.get(key)
            if data is None:
                break
        if data is not None:
            if not isinstance(data, dict):
                raise ConfigError(f"{path.name}: [{'.'.join(keys)}] must be a table")
            return path, data
    return None, {}


def _checked(section: Mapping[str, Any], where: str) -> dict[str, Any]:
    values = {}
    for key, value in section.items():
        if key in ENVIRONMENTS:
            continue
        if key not in KEY_TYPES:
            known = ", ".join(sorted(KEY_TYPES))
            raise ConfigError(f"{where}: unknown key '{key}' (known keys: {known})")
        types = KEY_TYPES[key]
        if not isinstance(value, types) or (int in types and isinstance(value, bool)):
            raise ConfigError(f"{where}: '{key}' must be {WANTED[types]}, got {_toml(value)}")
        values[key] = value
    return values


def _toml(value: object) -> str:
    """A value as the config file spells it (`true`, not Python's `True`)."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _validate(values: dict[str, Any], sources: dict[str, str]) -> None:
    seed_set = values["seed_set"]
    if seed_set is not None and not re.match(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$", seed_set):
        where = sources.get("seed_set", "seed_set")
        raise ConfigError(f"{where}: 'seed_set' = {seed_set!r} must be a folder name")
    for key in ("schema", "table"):
        if not IDENTIFIER.match(values[key]):
            raise ConfigError(
                f"{sources.get(key, key)}: '{key}' = {values[key]!r} is not a plain SQL identifier "
                "(letters, digits, _ and $, starting with a letter or _, at most 63 characters)"
            )
    for key in ("lock_timeout", "statement_timeout", "dry_run_lock_timeout",
                "dry_run_statement_timeout"):
        timeout = values[key]
        if timeout is not None and not DURATION.match(str(timeout).strip()):
            raise ConfigError(
                f"{sources.get(key, key)}: '{key}' = {timeout!r} is not a duration like '5s', "
                "'500ms' or '2min'"
            )
    for key in ("dry_run_lock_timeout", "dry_run_statement_timeout"):
        if re.match(r"^0+\s*[a-z]*$", str(values[key]).strip()):
            raise ConfigError(f"{sources.get(key, key)}: '{key}' must be more than 0 (0 would let "
                              "the dry run wait without end behind the traffic)")
    for key in ("lock_wait", "connect_wait"):
        if not math.isfinite(values[key]):  # nan would wait forever, as inf says
            raise ConfigError(f"{sources.get(key, key)}: '{key}' = {values[key]!r} must be a "
                              "finite number of seconds")
        if values[key] < 0:
            raise ConfigError(f"{sources.get(key, key)}: '{key}' must be >= 0")
    check_pg_version(values["pg_version"], sources.get("pg_version", "pg_version"))
    if values["lint_small_table_rows"] < 0:
        raise ConfigError(f"{sources.get('lint_small_table_rows', 'config')}: "
                          "'lint_small_table_rows' must be >= 0")
    _retry_policy(values, sources)


# The PostgreSQL major versions lint knows the behaviour of
PG_VERSIONS = range(13, 19)


def check_pg_version(version: int | None, where: str) -> None:
    if version is not None and version not in PG_VERSIONS:
        raise ConfigError(f"{where}: 'pg_version' = {version!r} must be a PostgreSQL major "
                          f"version from {PG_VERSIONS[0]} to {PG_VERSIONS[-1]}")


def _retry_policy(values: dict[str, Any], sources: dict[str, str]) -> RetryPolicy:
    """lock_retries (a whole number, from the environment a string of digits) and its
    delays (durations with a unit), as a RetryPolicy."""
    retries = values["lock_retries"]
    where = sources.get("lock_retries", "lock_retries")
    if isinstance(retries, str) and re.fullmatch(r"\s*\d+\s*", retries):
        retries = int(retries)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ConfigError(f"{where}: 'lock_retries' = {retries!r} must be a whole number >= 0")
    delay, most = (
        seconds(str(values[key]), f"{sources.get(key, key)}: '{key}'")
        for key in ("lock_retry_delay", "lock_retry_max_delay")
    )
    return RetryPolicy(retries, delay, max(delay, most))


def _check_other_environments(
    data: Mapping[str, Any], env: str, where: str, values: Mapping[str, Any],
    sources: Mapping[str, str],
) -> None:
    """Every environment's section is checked, not only the current one's: a mistake in
    [production] must fail on a laptop, not on the deploy."""
    for other in ENVIRONMENTS:
        if other == env or other not in data:
            continue
        section = data[other]
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: [{other}] must be a table")
        checked = _checked(section, f"{where} [{other}]")
        _validate({**values, **checked},
                  {**sources, **dict.fromkeys(checked, f"{where} [{other}]")})


def load_environ(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment over the project's `.env` (real variables win)."""
    merged: dict[str, str] = {}
    dotenv_path = root / ".env"
    if dotenv_path.is_file():
        from dotenv import dotenv_values

        merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def resolve(
    *,
    root: Path | None = None,
    env: str | None = None,
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    require_url: bool = True,
) -> Settings:
    """Settings for one environment. `overrides` are command-line flags (None = not given)."""
    root = (root or Path.cwd()).resolve()
    variables = load_environ(root, environ)
    real = os.environ if environ is None else environ

    def origin(variable: str) -> str:
        return variable if variable in real else f"{variable} (.env)"

    sources: dict[str, str] = {"env": "--env" if env else "default"}
    if not env and variables.get("SQLMIG_ENV"):
        sources["env"] = origin("SQLMIG_ENV")
    env = env or variables.get("SQLMIG_ENV") or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"--env/SQLMIG_ENV: unknown environment '{env}' "
                          f"(one of {', '.join(ENVIRONMENTS)})")

    config_file, data = find_config_file(root)
    where = config_file.name if config_file else "config"
    values = dict(DEFAULTS)
    for key, value in _checked(data, where).items():
        values[key], sources[key] = value, where
    _check_other_environments(data, env, where, values, sources)
    env_section = data.get(env, {})
    if not isinstance(env_section, dict):
        raise ConfigError(f"{where}: [{env}] must be a table")
    for key, value in _checked(env_section, f"{where} [{env}]").items():
        values[key], sources[key] = value, f"{where} [{env}]"
    for variable, key in ENV_OVERRIDES.items():
        if variables.get(variable):
            values[key], sources[key] = variables[variable], origin(variable)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key], sources[key] = value, f"--{key.replace('_', '-')}"
    _validate(values, sources)

    # every URL and password the environment holds, not only this one's: any may be quoted
    sections = [data, *(data.get(name) for name in ENVIRONMENTS)]
    for secret in (database_url, *(variables.get(name) for name in URL_VARIABLES.values()),
                   *(s.get("database_url") for s in sections if isinstance(s, dict))):
        remember(secret if isinstance(secret, str) else None)
    remember_secret(variables.get("PGPASSWORD", ""))
    url = database_url or variables.get(URL_VARIABLES[env]) or values["database_url"]
    if database_url:
        sources["database_url"] = "--database-url"
    elif variables.get(URL_VARIABLES[env]):
        sources["database_url"] = origin(URL_VARIABLES[env])
    if not url and env not in EMBEDDED_ALLOWED and require_url:
        raise ConfigError(
            f"{URL_VARIABLES[env]}: no database URL for the {env} environment; set "
            f"{URL_VARIABLES[env]}, 'database_url' under [{env}] in the config, or --database-url"
        )
    return Settings(
        env=env,
        root=root,
        migrations_dir=(root / values["migrations_dir"]),
        seeds_dir=root / values["seeds_dir"] / (values["seed_set"] or DEFAULT_SEED_SETS[env]),
        seed_set=values["seed_set"] or DEFAULT_SEED_SETS[env],
        schema=values["schema"],
        table=values["table"],
        lock_timeout=values["lock_timeout"],
        statement_timeout=values["statement_timeout"],
        lock_wait=float(values["lock_wait"]),
        connect_wait=float(values["connect_wait"]),
        allow_out_of_order=values["allow_out_of_order"],
        database_url=url or None,
        config_file=config_file,
        dump_schema=values["dump_schema"],
        schema_file=values["schema_file"],
        lint_disable=tuple(str(rule) for rule in values["lint_disable"]),
        lint_enable=tuple(str(rule) for rule in values["lint_enable"]),
        lint_exclude=tuple(str(glob) for glob in values["lint_exclude"]),
        pg_version=values["pg_version"],
        lint_small_table_rows=values["lint_small_table_rows"],
        lock_retries=_retry_policy(values, sources),
        snapshot_dir=root / values["snapshot_dir"],
        dry_run_lock_timeout=values["dry_run_lock_timeout"],
        dry_run_statement_timeout=values["dry_run_statement_timeout"],
        snapshot_before_migrate=(
            env == "production" if values["snapshot_before_migrate"] is None
            else values["snapshot_before_migrate"]
        ),
        sources=sources,
    )


def explain(settings: Settings) -> list[tuple[str, Any, str]]:
    """(setting, value, where it came from) for `sqlmig config`; passwords hidden."""
    url = hide(settings.database_url) if settings.database_url else None
    values: dict[str, Any] = {
        "env": settings.env,
        "database_url": url or (
            "embedded PostgreSQL (.sqlmig/)" if settings.env in EMBEDDED_ALLOWED else None
        ),
        "migrations_dir": _within(settings.migrations_dir, settings.root),
        "seeds_dir": _within(settings.seeds_dir, settings.root),
        "seed_set": settings.seed_set,
        "schema": settings.schema,
        "table": settings.table,
        "lock_timeout": settings.lock_timeout,
        "statement_timeout": settings.statement_timeout,
        "lock_wait": settings.lock_wait,
        "connect_wait": settings.connect_wait,
        "allow_out_of_order": settings.allow_out_of_order,
        "dump_schema": settings.dump_schema,
        "schema_file": settings.schema_file,
        "snapshot_before_migrate": settings.snapshot_before_migrate,
        "snapshot_dir": str(settings.snapshot_dir),
        "lint_disable": list(settings.lint_disable),
        "lint_enable": list(settings.lint_enable),
        "lint_exclude": list(settings.lint_exclude),
        "pg_version": settings.pg_version,
        "lint_small_table_rows": settings.lint_small_table_rows,
        "dry_run_lock_timeout": settings.dry_run_lock_timeout,
        "dry_run_statement_timeout": settings.dry_run_statement_timeout,
        "lock_retries": settings.lock_retries.retries,
        "lock_retry_delay": f"{settings.lock_retries.delay:g}s",
        "lock_retry_max_delay": f"{settings.lock_retries.max_delay:g}s",
    }
    return [(key, value, settings.sources.get(key, "default")) for key, value in values.items()]


def _within(path: Path, root: Path) -> str:
    """`path` relative to the project root, or as given when it lies elsewhere."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
