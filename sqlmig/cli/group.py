"""How the command line is read before a command runs: the output flags (--verbose, --quiet,
--no-color) and --json go wherever a user types them, before or after the command name; and
the names other migrators use for a command get a one-line pointer to sqlmig's (exit 2).

Parses nothing itself: it moves tokens and lets Click parse them.
"""

from typing import Any

from typer.core import TyperGroup

# The options of the app itself (all flags): also accepted after the command name.
OUTPUT_FLAGS = frozenset({"--verbose", "-v", "--quiet", "-q", "--no-color"})
# Each command's own: also accepted before the command name.
COMMAND_FLAGS = frozenset({"--json"})
# Flyway's and dbmate's names for what sqlmig calls otherwise.
OTHER_TOOLS = {"info": "status", "validate": "verify", "clean": "fresh", "undo": "down"}


def arrange(args: list[str]) -> list[str]:
    """`args` with the output flags before the command name and --json after it. The first
    word that is not an option is the command (every option before it is a flag); nothing
    after a `--` moves."""
    at = next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)
    if at is None:
        return args
    before, name, after = args[:at], args[at], args[at + 1:]
    end = after.index("--") if "--" in after else len(after)
    moved_back = [a for a in after[:end] if a in OUTPUT_FLAGS]
    moved_on = [a for a in before if a in COMMAND_FLAGS]
    return [
        *(a for a in before if a not in COMMAND_FLAGS), *moved_back, name, *moved_on,
        *(a for a in after[:end] if a not in OUTPUT_FLAGS), *after[end:],
    ]


class SqlmigGroup(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, arrange(args))

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in OTHER_TOOLS and args[0] not in self.commands:
            ctx.fail(f"sqlmig has no `{args[0]}`: use `sqlmig {OTHER_TOOLS[args[0]]}`")
        return super().resolve_command(ctx, args)
