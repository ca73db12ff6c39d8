"""The catalog read as plain sorted data: every user object and its attributes (what `check`,
`diff` and `docs` compare and print). Not the pg_dump backups of `migrate --snapshot`: those
are dump.py's.

`take(conn)` reads it (catalog queries only; nothing is written); `compare(a, b)` says what
differs, object by object and attribute by attribute. `check`, `diff` and `docs` build on it.
Owners, grants and physical details (OIDs, attribute numbers, storage) are left out on purpose:
they differ between environments without the schema being different (`column_numbers` reads
attribute numbers apart, for `check`, which compares one database with itself).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

Snapshot = dict[str, dict[str, dict[str, Any]]]  # kind -> object name -> attributes

USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
"""
# Objects that belong to an extension are the extension's business, not the schema's.
NOT_EXTENSION_MEMBER = """
    NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = {catalog}::regclass
                AND d.objid = {oid} AND d.deptype = 'e')
"""

QUERIES: dict[str, str] = {
    "schema": f"""
        SELECT n.nspname, jsonb_build_object('comment', obj_description(n.oid, 'pg_namespace'))
          FROM pg_namespace n WHERE {USER_SCHEMAS}
    """,
    "extension": """
        SELECT e.extname, jsonb_build_object('schema', n.nspname, 'version', e.extversion)
          FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname <> 'plpgsql'
    """,
    "table": f"""
        SELECT n.nspname || '.' || c.relname,
               jsonb_build_object(
                 'kind', CASE c.relkind WHEN 'p' THEN 'partitioned table'
                         WHEN 'f' THEN 'foreign table' ELSE 'table' END,
                 'persistence', c.relpersistence,
                 'row_security', c.relrowsecurity,
                 'comment', obj_description(c.oid, 'pg_class'))
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'f') AND {USER_SCHEMAS}
           AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")}
    """,
    "column": f"""
        SELECT n.nspname || '.' || c.relname || '.' || a.attname,
               jsonb_build_object(
                 'position', row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
                 'type', format_type(a.atttypid, a.atttypmod),
                 'nullable', NOT a.attnotnull,
                 'default', pg_get_expr(ad.adbin, ad.adrelid),
                 'identity', nullif(a.attidentity, ''),
                 'generated', nullif(a.attgenerated, ''),
                 'collation', CASE WHEN a.attcollation <> t.typcollation
                                   THEN (SELECT collname FROM pg_collation
                                          WHERE oid = a.attcollation) END,
                 'comment', col_description(c.oid, a.attnum))
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_type t ON t.oid = a.atttypid
          LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
         WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
           AND {USER_SCHEMAS}
           AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")}
    """,
    "constraint": f"""
        SELECT n.nspname || '.' || c.relname || '.' || con.conname,
               jsonb_build_object(
                 'type', CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique'
                         WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check'
                         WHEN 'x' THEN 'exclusion' ELSE con.contype::text END,
                 'definition', pg_get_constraintdef(con.oid),
                 'validated', con.convalidated,
                 'comment', obj_description(con.oid, 'pg_constraint'))
          FROM pg_constraint con
          JOIN pg_class c ON c.oid = con.conrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND {USER_SCHEMAS}
    """,
    "index": f"""
        SELECT n.nspname || '.' || ic.relname,
               jsonb_build_object(
                 'table', n.nspname || '.' || tc.relname,
                 'definition', pg_get_indexdef(i.indexrelid),
                 'valid', i.indisvalid,
                 'comment', obj_description(ic.oid, 'pg_class'))
          FROM pg_index i
          JOIN pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_class tc ON tc.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = ic.relnamespace
         WHERE {USER_SCHEMAS}
           AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="tc.oid")}
    """,
    "view": f"""
        SELECT n.nspname || '.' || c.relname,
               jsonb_build_object(
                 'materialized', c.relkind = 'm',
                 'definition', pg_get_viewdef(c.oid),
                 'comment', obj_description(c.oid, 'pg_class'))
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('v', 'm') AND {USER_SCHEMAS}
           AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")}
    """,
    "function": f"""
        SELECT n.nspname || '.' || p.proname || '(' ||
                 pg_get_function_identity_arguments(p.oid) || ')',
               jsonb_build_object(
                 'kind', CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
                         WHEN 'w' THEN 'window' ELSE 'function' END,
                 'returns', pg_get_function_result(p.oid),
                 'language', l.lanname,
                 'volatility', p.provolatile,
                 'security_definer', p.prosecdef,
                 'body', md5(coalesce(p.prosrc, '')),
                 'comment', obj_description(p.oid, 'pg_proc'))
          FROM pg_proc p
          JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_language l ON l.oid = p.prolang
         WHERE {USER_SCHEMAS}
           AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_proc'", oid="p.oid")}
    """,
    "trigger": f"""
        SELECT n.nspname || '.' || c.relname || '.' || t.tgname,
               jsonb_build_object(
                 'definition', pg_get_triggerdef(t.oid),
                 'enabled', t.tgenabled,
                 'comment', obj_description(t.oid, 'pg_trigger'))
          FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE NOT t.tgisinternal AND {USER_SCHEMAS}
    """,
    "type": f"""
        SELECT n.nspname || '.' || t.typname,
               jsonb_build_object(
                 'kind', CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain'
                         WHEN 'r' THEN 'range' ELSE 'composite' END,
                 'labels', (SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder)
                              FROM pg_enum e WHERE e.enumtypid = t.oid),
                 'base', CASE WHEN t.typtype = 'd'
                              THEN format_type(t.typbasetype, t.typtypmod) END,
                 'nullable', CASE WHEN t.typtype = 'd' THEN NOT t.typnotnull END,
                 'default', t.typdefault,
                 'checks', (SELECT jsonb_agg(pg_get_constraintdef(con.oid) ORDER BY con.conname)
                              FROM pg_constraint con WHERE con.contypid = t.oid),
                 'attributes', CASE WHEN t.typtype = 'c' THEN
                     (SELECT jsonb_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                       ORDER BY a.attnum)
                        FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
                         AND NOT a.attisdropped) END,
                 'comment', obj_description(t.oid, 'pg_type'))
          FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE t.typtype IN ('e', 'd', 'r', 'c') AND {USER_SCHEMAS}
           AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
           AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_type'", oid="t.oid")}
    """,
    "sequence": f"""
        SELECT n.nspname || '.' || c.relname,
               jsonb_build_object(
                 'type', format_type(s.seqtypid, NULL),
                 'start', s.seqstart, 'increment', s.seqincrement,
                 'min', s.seqmin, 'max', s.seqmax, 'cycle', s.seqcycle,
                 'comment', obj_description(c.oid, 'pg_class'))
          FROM pg_sequence s
          JOIN pg_class c ON c.oid = s.seqrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE {USER_SCHEMAS}
           AND {NOT_EXTENSION_MEMBER.format(catalog="'pg_class'", oid="c.oid")}
    """,
}


def take(
    conn: psycopg.Connection, *, exclude: Sequence[tuple[str, str]] = ()
) -> Snapshot:
    """Every user object, sorted. `exclude` = [(schema, table)] leaves out sqlmig's own tables
    (history, metadata), which change with every migration without being part of the
    application's schema."""
    snapshot: Snapshot = {}
    hidden = {f"{schema}.{table}" for schema, table in exclude}
    for kind, query in QUERIES.items():
        objects = {}
        for name, attributes in conn.execute(query).fetchall():
            if name in hidden or any(name.startswith(h + ".") for h in hidden):
                continue
            if attributes.get("table") in hidden:
                continue
            objects[name] = {k: attributes[k] for k in sorted(attributes)}
        snapshot[kind] = dict(sorted(objects.items()))
    return snapshot


@dataclass(frozen=True)
class Difference:
    kind: str  # table, column, index, ...
    name: str
    change: str  # added | removed | changed
    attribute: str | None = None
    before: Any = None
    after: Any = None

    def __str__(self) -> str:
        if self.change == "changed":
            return f"{self.kind} {self.name}: {self.detail()}"
        return f"{self.kind} {self.name} {self.change}"

    def detail(self) -> str:
        """`default 'now()' -> no default`: what changed, in words, not Python values."""
        return f"{self.attribute}: {self.shown(self.before)} -> {self.shown(self.after)}"

    def shown(self, value: Any) -> str:
        if value is None:
            return f"no {self.attribute}"
        if isinstance(value, str):
            return repr(value)
        return json.dumps(value)


def compare(before: Snapshot, after: Snapshot) -> list[Difference]:
    """What changed from `before` to `after`, in kind order then name order."""
    differences = []
    for kind in QUERIES:
        old, new = before.get(kind, {}), after.get(kind, {})
        for name in sorted(old.keys() | new.keys()):
            if name not in new:
                differences.append(Difference(kind, name, "removed"))
            elif name not in old:
                differences.append(Difference(kind, name, "added"))
            else:
                for attribute in sorted(old[name].keys() | new[name].keys()):
                    a, b = old[name].get(attribute), new[name].get(attribute)
                    if a != b:
                        differences.append(Difference(kind, name, "changed", attribute, a, b))
    return differences


def is_empty(snapshot: Snapshot) -> bool:
    """No application objects left (schemas may remain; extensions are counted)."""
    return not any(objects for kind, objects in snapshot.items() if kind != "schema")


COLUMN_NUMBERS = f"""
    SELECT n.nspname || '.' || c.relname || '.' || a.attname, a.attnum
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
       AND {USER_SCHEMAS}
"""


def column_numbers(conn: psycopg.Connection) -> dict[str, int]:
    """Each column's attribute number. Physical, so `take` leaves it out; but within one
    database a new number tells a column dropped and added again from one that only moved up
    to fill the gap another left."""
    return {name: number for name, number in conn.execute(COLUMN_NUMBERS).fetchall()}
