"""`sqlmig migrate` with plain arguments starts here, without Typer: when commands/quick.py
can tell that there is nothing to do, it says so as `migrate` does and exits; otherwise (or
for --help, any other option, a typo) it returns and the Typer command runs as ever. The
same pattern as status_run.py and lint_run.py."""

from __future__ import annotations

from typing import Any

from sqlmig.cli import fast_args
from sqlmig.cli.fast_args import SETTINGS_OPTIONS

# Options that leave a run with nothing to do unchanged: flag -> (field, "value" if it takes one)
OPTIONS: dict[str, tuple[str, ...]] = {
    **SETTINGS_OPTIONS,
    "--quiet": ("quiet", "flag"),
    "-q": ("quiet", "flag"),
    "--no-color": ("no_color", "flag"),
}


def parse(args: list[str]) -> dict[str, Any] | None:
    """The options of `sqlmig migrate ARGS`, or None for anything the Typer command reads."""
    return fast_args.parse(args, OPTIONS)


def fast(args: list[str]) -> None:
    """Say "nothing to migrate" and exit when that is all `sqlmig migrate ARGS` would do;
    else return (nothing printed, nothing changed)."""
    options = parse(args)
    if options is None:
        return
    try:
        from sqlmig.commands.quick import up_to_date
        from sqlmig.core import config

        settings = config.resolve(
            env=_text(options.get("env")), database_url=_text(options.get("database_url")),
            overrides={"migrations_dir": _text(options.get("migrations_dir"))})
        target = up_to_date(settings)
    except KeyboardInterrupt:  # nothing was changed: said as every command says it
        from sqlmig.cli.common import failure_code

        raise SystemExit(failure_code(KeyboardInterrupt(), debug=False)) from None
    except Exception:  # a bad setting or anything else: the ordinary way says what is wrong
        return
    if target is None:
        return
    # what render.LineReporter prints (the target line is left out with --quiet), written
    # here: loading render would be a tenth of this path's time
    import sys

    from sqlmig.commands.quick import UP_TO_DATE
    from sqlmig.core.secrets import hide

    lines = [UP_TO_DATE] if options.get("quiet") else [f"{settings.env} · {target}", UP_TO_DATE]
    sys.stdout.write(hide("\n".join(lines)) + "\n")
    sys.stdout.flush()
    import gc

    gc.freeze()  # the interpreter's last collection would walk every object for nothing
    raise SystemExit(0)


def _text(value: str | bool | None) -> str | None:
    return value if isinstance(value, str) else None
