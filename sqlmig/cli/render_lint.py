"""Output of `sqlmig lint`: per file, each finding with the line of SQL it points at (a caret
under the offending part), the safer SQL and a link to the rule's README section; as a table
(Rich at a terminal, plain lines in a pipe, without loading Rich), JSON, GitHub annotations
or one Markdown pull-request comment. Decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlmig.errors import counted, display_path

if TYPE_CHECKING:
    from sqlmig.review.lint import Finding


def snippet(finding: Finding) -> list[str]:
    """`  12 | the line` and a caret line under the finding's column; [] without a line."""
    if not finding.source:
        return []
    number = str(finding.line)
    lines = [f"{number} | {finding.source}".rstrip()]
    if finding.column:
        # the source's own tabs kept, so the caret stays under the column in any tab width
        lead = "".join(c if c == "\t" else " " for c in finding.source[:finding.column - 1])
        lines.append(f"{' ' * len(number)} | {lead}^")
    return lines


def details(finding: Finding) -> list[str]:
    """What follows the message: the fix, the snippet, the safer SQL and the link."""
    lines = [f"safer: {finding.fix}", *snippet(finding)]
    if finding.suggestion:
        lines += ["instead:", *(f"  {line}".rstrip() for line in
                                finding.suggestion.rstrip("\n").split("\n"))]
    return [*lines, f"see {finding.docs}"]


def summary(findings: Sequence[Finding]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    notes = sum(f.severity == "info" for f in findings)
    text = f"{counted(errors, 'error')}, {counted(len(findings) - errors - notes, 'warning')}"
    return text + (f", {counted(notes, 'note')}" if notes else "")


def _by_file(findings: Sequence[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(display_path(f.path), []).append(f)
    return grouped


def lint_json(findings: Sequence[Finding]) -> dict[str, Any]:
    return {
        "ok": not any(f.severity == "error" for f in findings),
        "findings": [
            {"rule": f.rule, "severity": f.severity, "file": display_path(f.path),
             "line": f.line, "column": f.column, "message": f.message, "fix": f.fix,
             "suggestion": f.suggestion, "docs": f.docs}
            for f in findings
        ],
    }


def lint_github(findings: Sequence[Finding]) -> None:
    """GitHub Actions workflow commands: each finding becomes an annotation on the PR diff."""

    def escape(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    out = _stdout()
    for f in findings:
        level = {"error": "error", "info": "notice"}.get(f.severity, "warning")
        col = f",col={f.column}" if f.column else ""
        instead = f"\nInstead:\n{f.suggestion.rstrip()}" if f.suggestion else ""
        out.write(
            f"::{level} file={display_path(f.path)},line={f.line}{col},title=sqlmig {f.rule}::"
            f"{escape(f.message)} Safer: {escape(f.fix + instead)}%0A{f.docs}\n"
        )


def lint_table(findings: Sequence[Finding]) -> None:
    """One table per file (its path as the title), so a finding keeps most of the width."""
    from sqlmig.cli.render import plain

    if plain():
        _plain_table(findings)
        return
    from sqlmig.cli.render import console, escape, table

    out = console()
    if not findings:
        out.print("[green]ok[/]: no findings")
        return
    for path, found in _by_file(findings).items():
        grid = table(("line", "rule", "finding"), right=("line",), wrap=("finding",))
        grid.title, grid.title_justify, grid.title_style = escape(path), "left", "bold"
        for f in found:
            style = {"error": "red", "info": "blue"}.get(f.severity, "yellow")
            more = "\n".join(escape(line) for line in details(f))
            grid.add_row(str(f.line), f"[{style}]{f.rule}[/]",
                         f"{escape(f.message)}\n[dim]{more}[/]")
        out.print(grid)
    out.print(summary(findings), markup=False)


def _plain_table(findings: Sequence[Finding]) -> None:
    """A pipe or a log: whole lines, aligned like render.table's plain tables, no Rich."""
    out = _stdout()
    if not findings:
        out.write("ok: no findings\n")
        return
    for path, found in _by_file(findings).items():
        width = max(len("rule"), *(len(f.rule) for f in found))
        number = max(len("line"), *(len(str(f.line)) for f in found))
        indent = " " * (number + width + 4)
        lines = [path, f"{'line'.rjust(number)}  {'rule'.ljust(width)}  finding"]
        for f in found:
            lines.append(f"{str(f.line).rjust(number)}  {f.rule.ljust(width)}  {f.message}")
            lines += [f"{indent}{line}".rstrip() for line in details(f)]
        out.write("\n".join(lines) + "\n")
    out.write(summary(findings) + "\n")


def lint_markdown(findings: Sequence[Finding]) -> None:
    """One pull-request comment: a summary line, then each file's findings with their SQL."""
    out = _stdout()
    if not findings:
        out.write("### sqlmig lint\n\nNo findings.\n")
        return
    lines = ["### sqlmig lint", "", f"**{summary(findings)}**"]
    for path, found in _by_file(findings).items():
        lines += ["", f"#### `{path}`"]
        for f in found:
            lines += ["", f"- **{f.severity}** [`{f.rule}`]({f.docs}) "
                          f"line {f.line}: {f.message}"]
            shown = snippet(f)
            if shown:
                lines += _fenced("text", shown)
            lines.append(f"  Safer: {f.fix}")
            if f.suggestion:
                lines += _fenced("sql", f.suggestion.rstrip("\n").split("\n"))
    out.write("\n".join(lines) + "\n")


def _fenced(language: str, lines: list[str]) -> list[str]:
    """A fenced block inside a list item; a longer fence when the text holds one."""
    fence = "```"
    while any(fence in line for line in lines):
        fence += "`"
    return ["", f"  {fence}{language}", *(f"  {line}".rstrip() for line in lines), f"  {fence}"]


def _stdout() -> Any:
    from sqlmig.cli.render import HiddenFile

    return HiddenFile()
