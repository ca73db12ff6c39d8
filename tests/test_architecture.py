"""The package's shape, checked from the source (ast, no imports run): the layers depend one
way, and no module grows past what a newcomer reads in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sqlmig"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:` (names for annotations only)."""
    found: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def imported(path: Path, *, typing: bool = True) -> set[str]:
    """Every module `path` imports, at the top or inside a function (a lazy import is still
    a dependency), and with `typing` those imported for annotations only: sqlmig modules by
    their full name, others by their top-level package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree) if typing else _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                names.add(candidate if candidate in MODULES else node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name if name.startswith("sqlmig") else name.split(".")[0] for name in names}


GRAPH = {name: {m for m in imported(path) if m in MODULES} - {name}
         for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_inside_the_package() -> None:
    assert cycles(GRAPH) == []


def test_the_commands_layer_imports_neither_typer_nor_rich_nor_the_cli() -> None:
    for name, path in MODULES.items():
        if name.startswith("sqlmig.commands"):
            wrong = {m for m in imported(path) if m in {"typer", "rich", "click"}
                     or m.startswith("sqlmig.cli")}
            assert not wrong, f"{name} imports {sorted(wrong)}"


def test_the_cli_reaches_the_database_only_through_the_commands_layer() -> None:
    """No psycopg, no engine, no pg module at run time (their types in annotations are fine)."""
    for name, path in MODULES.items():
        if name.startswith("sqlmig.cli"):
            wrong = {m for m in imported(path, typing=False) if m == "psycopg"
                     or m.startswith(("sqlmig.engine", "sqlmig.pg", "sqlmig.review",
                                      "sqlmig.seeds"))}
            assert not wrong, f"{name} imports {sorted(wrong)}"


def test_the_pure_core_opens_no_socket_and_prints_nothing() -> None:
    for name, path in MODULES.items():
        if name.startswith("sqlmig.core"):
            wrong = {m for m in imported(path) if m in {"psycopg", "typer", "rich"}
                     or m.startswith(("sqlmig.pg", "sqlmig.engine", "sqlmig.cli",
                                      "sqlmig.commands"))}
            assert not wrong, f"{name} imports {sorted(wrong)}"


def test_no_module_is_longer_than_a_newcomer_reads_in_one_sitting() -> None:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines())
               for name, path in MODULES.items()}
    too_long = {name: lines for name, lines in lengths.items() if lines > MAX_LINES}
    assert too_long == {}, f"over {MAX_LINES} lines: {too_long}"


def test_every_api_name_is_exported_and_found_where_the_package_says() -> None:
    from sqlmig import commands

    assert sorted(commands.__all__) == sorted(commands._HOME)
    for name in commands.__all__:
        assert callable(getattr(commands, name)), name
    submodules = {m.rsplit(".", 1)[1] for m in MODULES if m.startswith("sqlmig.commands.")}
    assert not submodules & set(commands.__all__), "a submodule would shadow a function"


def test_the_lint_api_loads_no_database_driver() -> None:
    """`sqlmig lint` runs as a pre-commit hook on every commit: no psycopg, no engine."""
    import subprocess
    import sys

    probe = ("import sys; from sqlmig import commands; commands.lint; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg' "
             "or m in ('sqlmig.engine', 'sqlmig.pg.db')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
