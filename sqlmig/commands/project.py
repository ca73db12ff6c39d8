"""The project on disk rather than a database: `init` (the scaffold and the .gitignore
lines) and the project's embedded development server (`server status`, `server stop`).
Never connects to a database."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from sqlmig.core import deploy_templates, scaffold
from sqlmig.core.config import Settings, resolve
from sqlmig.errors import ConfigError, PlanError
from sqlmig.pg import embedded
from sqlmig.pg.embedded import ServerState


class Written(NamedTuple):
    """A file `init` wrote: `created`, or `updated` (lines added to an existing .gitignore)."""

    path: Path
    action: str


def init(root: Path, *, ci: str | None = None, compose: bool = False) -> list[Written]:
    """Scaffold a project in `root`: sql/, seeds/development/, seeds/production/, sqlmig.toml
    with every key commented, .env.example, and the .gitignore lines sqlmig needs (added to
    an existing .gitignore); with `ci="github"` the review and migrate workflows, with
    `compose` an image of the project's migrations and a compose init-step service. Never
    overwrites: files already there are kept, and a project with every file already there
    is refused. Returns what was written."""
    if ci not in (None, "github"):
        raise ConfigError(f"--ci: {ci!r} is not supported (supported: github)")
    written = _write_missing(root, scaffold.FILES)
    if ci or compose:
        settings = resolve(root=root, require_url=False)
        migrations = _relative(settings.migrations_dir, root, "sql")
        seeds = _relative(settings.seeds_dir.parent, root, "seeds")
        if ci:
            written += _write_missing(root, deploy_templates.ci_files(migrations))
        if compose:
            written += _write_missing(root, deploy_templates.compose_files(migrations, seeds))
    ignore = root / ".gitignore"
    existing = ignore.read_text(encoding="utf-8") if ignore.is_file() else None
    merged = scaffold.gitignore(existing)
    if merged is not None:
        root.mkdir(parents=True, exist_ok=True)
        ignore.write_text(merged, encoding="utf-8")
        written.append(Written(ignore, "created" if existing is None else "updated"))
    if not written:
        raise PlanError(f"{root / 'sqlmig.toml'} already exists; init never overwrites")
    return written


def _write_missing(root: Path, texts: dict[str, str]) -> list[Written]:
    written = []
    for name, text in texts.items():
        path = root / name
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite
            handle.write(text)
        written.append(Written(path, "created"))
    return written


def _relative(path: Path, root: Path, default: str) -> str:
    """A configured folder as the templates write it: relative to the project."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return default


def server_status(settings: Settings) -> ServerState:
    """The project's embedded server: whether its data folder holds a cluster, and whether
    (with which pid, since when, where) it runs. Starts nothing."""
    return embedded.server_state(settings.root / embedded.DATA_DIR)


def server_stop(settings: Settings) -> ServerState:
    """Stop the project's embedded server, keeping its data (the next command that needs it
    starts it again); returns the state it had: `running` False when there was nothing to
    stop."""
    return embedded.stop_server(settings.root / embedded.DATA_DIR)
