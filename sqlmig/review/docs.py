"""`sqlmig docs`: a schema snapshot as Markdown, deterministic so it can live in a repository.

Pure: formats a snapshot it is given; never connects, never prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmig.pg.catalog import Snapshot


def _cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _columns(columns: dict[str, Any], relation: str) -> list[str]:
    """The table of a table's or view's columns, in their order."""
    lines = ["| column | type | nullable | default | comment |", "|---|---|---|---|---|"]
    own = sorted(
        ((name, c) for name, c in columns.items() if name.rsplit(".", 1)[0] == relation),
        key=lambda item: item[1]["position"],
    )
    for name, c in own:
        lines.append(
            f"| {name.rsplit('.', 1)[1]} | {_cell(c['type'])} | "
            f"{'yes' if c['nullable'] else 'no'} | {_cell(c['default'])} | "
            f"{_cell(c['comment'])} |"
        )
    return lines


def schema_markdown(snapshot: Snapshot, env: str) -> str:
    """Tables with columns, constraints and indexes, then views, functions and enums;
    deterministic."""
    lines = [f"# Database schema ({env})", ""]
    columns = snapshot.get("column", {})
    constraints = snapshot.get("constraint", {})
    indexes = snapshot.get("index", {})
    for relation, attributes in snapshot.get("table", {}).items():
        lines += [f"## {relation}", ""]
        if attributes.get("comment"):
            lines += [attributes["comment"], ""]
        lines += _columns(columns, relation)
        keys = [(n.rsplit(".", 1)[1], c) for n, c in constraints.items()
                if n.rsplit(".", 1)[0] == relation]
        if keys:
            lines += ["", "Constraints:", ""]
            lines += [f"- `{name}` ({c['type']}): `{c['definition']}`" for name, c in keys]
        own_indexes = [(n, i) for n, i in indexes.items() if i["table"] == relation]
        if own_indexes:
            lines += ["", "Indexes:", ""]
            lines += [f"- `{i['definition']}`" for _, i in own_indexes]
        lines.append("")
    for view, attributes in snapshot.get("view", {}).items():
        kind = "materialized view" if attributes["materialized"] else "view"
        lines += [f"## {view} ({kind})", ""]
        if attributes.get("comment"):
            lines += [attributes["comment"], ""]
        lines += _columns(columns, view)
        definition = str(attributes["definition"]).strip()
        lines += ["", "```sql", definition, "```", ""]
    functions = snapshot.get("function", {})
    if functions:
        lines += ["## Functions", "", "| function | kind | returns | language | comment |",
                  "|---|---|---|---|---|"]
        lines += [f"| `{_cell(name)}` | {f['kind']} | {_cell(f['returns'])} | "
                  f"{_cell(f['language'])} | {_cell(f['comment'])} |"
                  for name, f in functions.items()]
        lines.append("")
    enums = {n: t for n, t in snapshot.get("type", {}).items() if t["kind"] == "enum"}
    if enums:
        lines += ["## Enums", ""]
        lines += [f"- `{n}`: {', '.join(t['labels'] or [])}" for n, t in enums.items()]
        lines.append("")
    return "\n".join(lines)
