"""`new`: the next-numbered pair of migration files, from a template."""

from __future__ import annotations

from pathlib import Path

from sqlmig.core import files, templates
from sqlmig.core.config import Settings
from sqlmig.errors import PlanError


def new(settings: Settings, name: str, template: str = "raw", table: str | None = None,
        columns: list[str] | None = None) -> list[Path]:
    """Write NNNN_name.up.sql and .down.sql (never overwriting); returns their paths.
    `columns` are specs like `body:text:notnull`."""
    slug = templates.slug(name)
    typed = template != "create_index"
    parsed = [templates.parse_column(spec, typed=typed) for spec in columns or []]
    up_sql, down_sql = templates.render(template, slug, table, parsed)
    directory = settings.migrations_dir
    directory.mkdir(parents=True, exist_ok=True)
    matches = [m for m in (files.FILE_NAME.match(p.name) for p in directory.glob("*.sql")) if m]
    if any(m["name"] == slug for m in matches):
        raise PlanError(f"a migration named '{slug}' already exists in {directory}")
    digits = templates.next_version([m["version"] for m in matches])
    written = []
    for direction, text in (("up", up_sql), ("down", down_sql)):
        path = directory / f"{digits}_{slug}.{direction}.sql"
        with path.open("x", encoding="utf-8") as handle:  # "x": never overwrite
            handle.write(text)
        written.append(path)
    return written
