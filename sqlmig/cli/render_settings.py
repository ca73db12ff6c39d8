"""`sqlmig config`: each resolved setting, its value and where it came from, as a table or
JSON. Decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlmig.cli.render import console, escape, table

if TYPE_CHECKING:
    from sqlmig.commands.history import ConfigValue


def config_json(env: str, values: Sequence[ConfigValue]) -> dict[str, Any]:
    return {"environment": env,
            "settings": {v.key: {"value": v.value, "source": v.source} for v in values}}


def config_table(values: Sequence[ConfigValue]) -> None:
    grid = table(("setting", "value", "source"), wrap=("value",))
    for key, value, source in values:
        grid.add_row(key, escape("" if value is None else str(value)), escape(source))
    console().print(grid)
