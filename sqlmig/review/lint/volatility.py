"""Is a function volatile? PostgreSQL evaluates a stable or immutable DEFAULT once when a column
is added, and a volatile one for every existing row, rewriting the table. Built-ins are looked
up in pg_functions.txt (generated from pg_proc by tools/pg_functions.py); functions created by
the migrations are known by what they declare; anything else may be volatile."""

from __future__ import annotations

from functools import cache
from pathlib import Path

# Extension functions seen in defaults, not in pg_catalog (uuid-ossp's, most of all).
EXTENSION_VOLATILE = frozenset({"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4"})


@cache
def builtins() -> dict[str, bool]:
    """Built-in function name -> whether any of its overloads is volatile."""
    # beside this module in a wheel and a checkout alike (importlib.resources: +8 ms a start)
    text = (Path(__file__).parent / "pg_functions.txt").read_text("utf-8")
    return {line[2:]: line[0] == "v" for line in text.splitlines() if line[:1] in ("v", "s")}


def volatile(name: str, created: dict[str, bool]) -> bool | None:
    """True or False when known, None for a function lint has never seen."""
    if name in created:
        return created[name]
    if name in EXTENSION_VOLATILE:
        return True
    return builtins().get(name)
