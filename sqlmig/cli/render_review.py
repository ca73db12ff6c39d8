"""Output of the review commands (plan, dry-run, check, diff, snapshots, lint): Rich for
people, plain dicts for --json. Decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlmig.cli.render import console, escape, plain, print_json, table
from sqlmig.errors import counted

if TYPE_CHECKING:
    from sqlmig.commands.review import Planned, SchemaDiff, SnapshotFile
    from sqlmig.commands.run import DryRunReport
    from sqlmig.core.files import Migration
    from sqlmig.core.plan import Step
    from sqlmig.pg.catalog import Difference
    from sqlmig.review.check import CheckReport, MigrationCheck

__all__ = ["print_json"]


def _mode(step: Step) -> str:
    return "transaction" if step.transactional else "no-transaction"


def later_json(later: Sequence[Migration]) -> list[dict[str, Any]]:
    """The pending migrations `--to` leaves for later."""
    return [{"version": m.version, "name": m.name} for m in later]


def plan_json(planned: Planned, env: str) -> dict[str, Any]:
    steps = planned.steps
    return {
        "environment": env,
        "pending_after_target": later_json(planned.later),
        "migrations": [
            {
                "version": s.migration.version,
                "name": s.migration.name,
                "file": s.migration.up.path.name,
                "mode": _mode(s),
                "directives": dict(s.file.directives),
                "checksum": s.migration.checksum,
                "batch": s.batch,
                "sql": None if s.file.big else s.file.text,  # bulk data: not inlined
            }
            for s in steps
        ],
    }


def plan_listing(planned: Planned) -> None:
    from rich.rule import Rule
    from rich.syntax import Syntax

    out = console()
    steps = planned.steps
    if not steps:
        out.print(planned.nothing, markup=False)
        return
    for step in steps:
        m = step.migration
        directives = " ".join(
            f"{k}{' ' + v if v else ''}" for k, v in sorted(m.up.directives.items())
        ) or "none"
        heading = f"{m.id} · {_mode(step)}"
        if plain():
            out.print(heading, markup=False)
        else:
            out.print(Rule(heading, align="left"))
        out.print(f"checksum {m.checksum[:16]}  directives: {directives}  batch {step.batch}",
                  markup=False)
        if m.up.big:  # bulk data: highlighting it would take minutes and scroll for hours
            out.print(f"({len(m.up.sql()) / 1e6:.1f} MB of SQL, not shown)")
            continue
        sql_text = m.up.text.rstrip("\n")
        if plain():  # a log: the lines as written, numbered, never wrapped or padded
            width = len(str(sql_text.count("\n") + 1))
            for number, line in enumerate(sql_text.split("\n"), 1):
                out.print(f"{number:>{width}}  {line}".rstrip(), markup=False, emoji=False)
            continue
        out.print(Syntax(sql_text, "sql", line_numbers=True, word_wrap=True, theme="ansi_dark"))
    out.print(f"{counted(len(steps), 'migration')} would be applied as batch {steps[0].batch}"
              f"{_later(planned.later)}", markup=False)


def _later(later: Sequence[Migration]) -> str:
    return f"; {counted(len(later), 'more pending migration')} after --to" if later else ""


def dry_run_table(report: DryRunReport) -> None:
    out = console()
    results = report.results
    if not results:
        out.print(report.nothing, markup=False)
        return
    grid = table(("migration", "result", "time"), right=("time",), wrap=("result",))
    for r in results:
        if r.error is not None:
            result = f"[red]fails:[/] {escape(str(r.error))}"
        elif r.skipped:
            result = f"[yellow]{r.skipped}[/]"
        else:
            result = "[green]ok[/]"
        grid.add_row(r.step.migration.id, result, f"{r.ms} ms" if r.ms is not None else "")
    out.print(grid)
    failures = [r for r in results if r.error is not None]
    for r in failures:
        details: list[str] = getattr(r.error, "details", lambda: [])()
        for line in details:
            out.print(line, markup=False, highlight=False)
    out.print("dry run: everything was rolled back; history unchanged")


def dry_run_json(report: DryRunReport) -> dict[str, Any]:
    results = report.results
    return {
        "ok": all(r.error is None for r in results),
        "pending_after_target": later_json(report.later),
        "migrations": [
            {
                "version": r.step.migration.version,
                "name": r.step.migration.name,
                "result": "failed" if r.error else "skipped" if r.skipped else "ok",
                "error": str(r.error) if r.error else None,
                "skipped": r.skipped,
                "ms": r.ms,
            }
            for r in results
        ],
    }


def check_line(check: MigrationCheck, *, strict: bool = False) -> None:
    out = console()
    m = check.migration
    result = check.result
    if result == "irreversible":
        out.print(f"  [yellow]skip[/] {escape(m.id)}: irreversible, up only ({check.up_ms} ms)")
    elif result == "fails" and check.error is not None and not check.differences:
        out.print(f"  [red]FAIL[/] {escape(m.id)}: {escape(check.error)}")
    elif result == "fails":
        out.print(f"  [red]FAIL[/] {escape(m.id)}: its down does not reverse its up")
    elif result == "column order":
        label = "[red]FAIL[/]" if strict else "[yellow]warn[/]"
        out.print(f"  {label} {escape(m.id)}: its down changes the order of columns")
    else:
        out.print(f"  [green]ok[/]   {escape(m.id)} (up {check.up_ms} ms, "
                  f"down {check.down_ms} ms)")


def check_summary(report: CheckReport, *, keep_going: bool = False) -> None:
    """What differs for each failing (or column-order) migration; with --keep-going, a
    table of every migration's result; then how the whole chain went back down, and the
    verdict."""
    out = console()
    for check in report.checks:
        _check_details(check, report.strict)
        if check.migration.id in report.restarted:
            out.print("  the check went on from a new scratch database, with the migrations up "
                      "to this one applied")
    if keep_going:
        grid = table(("migration", "result", "what differs"), wrap=("what differs",))
        for check in report.checks:
            grid.add_row(escape(check.migration.id), _result_cell(check, report.strict),
                         escape(_in_short(check)))
        for migration in report.unchecked:
            grid.add_row(escape(migration.id), "[dim]not checked[/]", "")
        out.print(grid)
    if report.halted:
        out.print(f"[red]{escape(report.halted)}[/]")
    if report.leftovers:
        out.print("[red]all the way down, the schema is not back where it started:[/]")
        for difference in report.leftovers:
            out.print(f"  - {difference}", markup=False)
    elif report.rollback_error:
        out.print("[red]rolling back the whole chain failed:[/] "
                  f"{escape(report.rollback_error)}")
    _check_verdict(report, keep_going)


def _check_verdict(report: CheckReport, keep_going: bool) -> None:
    out = console()
    stopped = (f"rolling back the whole chain stopped at {report.stopped_at} (irreversible)"
               if report.stopped_at else None)
    failures = report.failures
    if failures:
        if stopped:
            out.print(stopped, markup=False)
        names = ", ".join(c.migration.id for c in failures)
        verb = "fails" if len(failures) == 1 else "fail"
        out.print(f"{counted(len(failures), 'migration')} of {len(report.checks)} checked "
                  f"{verb}: {names}", markup=False)
        if report.unchecked and not keep_going:
            out.print(f"stopped at the first failure; {counted(len(report.unchecked), 'migration')}"
                      " after it not checked (--keep-going checks every one)", markup=False)
    if not report.ok:
        return
    checked = len(report.checks)
    verb = "round-trips" if checked == 1 else "round-trip"
    warned = report.warnings
    warning = f" ({counted(len(warned), 'warning')}: column order, above)" if warned else ""
    back = f"; {stopped}" if stopped else (
        ", and the whole chain goes all the way down to an empty schema")
    out.print(f"[green]ok[/]: {counted(checked, 'migration')} {verb}{warning}{escape(back)}")


def _check_details(check: MigrationCheck, strict: bool) -> None:
    out = console()
    name = escape(check.migration.id)
    if check.differences:
        out.print(f"[red]{name}[/]: after up + down the schema differs:")
        for difference in check.differences + check.moved:
            out.print(f"  - {difference}", markup=False)
    if check.error is not None:
        out.print(f"[red]{name}[/]: {escape(check.error)}")
    if check.moved and not check.differences:
        if strict:
            out.print(f"[red]{name}[/]: after up + down the order of columns differs:")
        else:
            out.print(f"[yellow]{name}[/]: after up + down the order of columns differs "
                      "(a warning; --strict makes it fail):")
        for difference in check.moved:
            out.print(f"  - {difference}", markup=False)


def _result_cell(check: MigrationCheck, strict: bool) -> str:
    style = {"ok": "green", "fails": "red", "irreversible": "yellow",
             "column order": "red" if strict else "yellow"}[check.result]
    words = "column order only" if check.result == "column order" else check.result
    return f"[{style}]{words}[/]"


def _in_short(check: MigrationCheck) -> str:
    """What differs, on one line: the first difference and how many more."""
    if check.result == "irreversible":
        return "up only"
    found = [str(d) for d in check.differences] or (
        [check.error.splitlines()[0]] if check.error else []) or [str(d) for d in check.moved]
    if not found:
        return ""
    return found[0] + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")


def difference_json(difference: Difference) -> dict[str, Any]:
    return {
        "kind": difference.kind,
        "name": difference.name,
        "change": difference.change,
        "attribute": difference.attribute,
        "before": difference.before,
        "after": difference.after,
    }


def check_json(report: CheckReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "migrations": [
            {
                "version": c.migration.version,
                "name": c.migration.name,
                "result": c.result.replace(" ", "-"),
                "fails": c.fails(report.strict),
                "round_trip": None if c.result == "irreversible" else c.result != "fails",
                "up_ms": c.up_ms,
                "down_ms": c.down_ms,
                "differences": [difference_json(d) for d in c.differences],
                "column_order": [difference_json(d) for d in c.moved],
                "error": c.error,
            }
            for c in report.checks
        ],
        "not_checked": [{"version": m.version, "name": m.name} for m in report.unchecked],
        "halted": report.halted,
        "stopped_at": report.stopped_at,
        "rollback_error": report.rollback_error,
        "leftovers": [difference_json(d) for d in report.leftovers],
    }


def diff_json(compared: SchemaDiff) -> dict[str, Any]:
    return {
        "from": compared.source,
        "to": compared.target,
        "same": compared.same,
        "differences": [difference_json(d) for d in compared.differences],
    }


def differences_table(differences: Sequence[Difference], source: str, target: str) -> None:
    from rich.text import Text

    out = console()
    if not differences:
        out.print(Text.assemble(("same schema", "green"), f": {source} and {target}"))
        return
    grid = table(("change", "kind", "object", "detail"), wrap=("detail",))
    styles = {"added": "green", "removed": "red", "changed": "yellow"}
    for d in differences:
        detail = d.detail() if d.change == "changed" else ""
        grid.add_row(f"[{styles[d.change]}]{d.change}[/]", d.kind, escape(d.name), escape(detail))
    out.print(grid)
    out.print(f"{counted(len(differences), 'difference')} from {source} to {target}", markup=False)


def snapshots_json(found: Sequence[SnapshotFile]) -> dict[str, Any]:
    return {
        "snapshots": [
            {"file": s.file, "environment": s.environment, "bytes": s.size,
             "restore": s.restore}
            for s in found
        ],
    }


def snapshots_listing(found: Sequence[SnapshotFile]) -> None:
    import typer

    if not found:
        typer.echo("no snapshots yet (migrate --snapshot takes one)")
    for s in found:
        typer.echo(f"{s.file}  {s.size:,} bytes")


