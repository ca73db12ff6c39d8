"""`-- sqlmig:lint-ignore RULE[, RULE]` (the next statement) and `-- sqlmig:lint-ignore-file
RULE[, RULE]` (the whole file) comments: reading them, remembering which ones silenced a
finding, and reporting the ones that name no rule, an unknown rule, or silence nothing.
Pure: reads text, never raises for a bad comment (each is a finding)."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from sqlmig.review.lint.rules import RULES, Finding, finding

# A comment line of its own: a trailing `-- sqlmig:lint-ignore` after a statement does not count
IGNORE = re.compile(r"^[ \t]*--\s*sqlmig:lint-ignore(?P<file>-file)?(?![\w-])(?P<rules>[^\n]*)",
                    re.MULTILINE)
FILE = -1  # the `statement` of a file-level ignore


@dataclass(frozen=True)
class Ignore:
    offset: int  # where the comment starts
    line: int
    rules: frozenset[str]  # the known rules it names
    whole_file: bool


@dataclass
class Ignores:
    """Every ignore comment of one file, and which (statement, rule) pairs they silenced."""

    comments: list[Ignore] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)  # bad-ignore findings
    file_rules: frozenset[str] = frozenset()
    silenced: set[tuple[int, str]] = field(default_factory=set)

    @classmethod
    def read(cls, path: Path, text: str) -> Ignores:
        ignores = cls()
        if "lint-ignore" not in text:
            return ignores
        whole: set[str] = set()
        for match in IGNORE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            names = [n for n in re.split(r"[\s,]+", match["rules"].strip()) if n]
            directive = f"sqlmig:lint-ignore{match['file'] or ''}"
            if not names:
                ignores.problems.append(finding(
                    "bad-ignore", path, line, None,
                    f"{directive} names no rule: it silences nothing (e.g. -- {directive} "
                    "drop-column)", text=text))
            unknown = [n for n in names if n not in RULES]
            if unknown:
                ignores.problems.append(finding(
                    "bad-ignore", path, line, None,
                    f"{directive}: unknown rule {', '.join(unknown)} (rules: "
                    f"{', '.join(sorted(RULES))})", text=text))
            known = frozenset(n for n in names if n in RULES)
            ignores.comments.append(Ignore(match.start(), line, known, bool(match["file"])))
            if match["file"]:
                whole |= known
        ignores.file_rules = frozenset(whole)
        return ignores

    def between(self, start: int, end: int) -> frozenset[str]:
        """The rules the statement-level comments in text[start:end] name."""
        rules: set[str] = set()
        for ignore in self.comments:
            if start <= ignore.offset < end and not ignore.whole_file:
                rules |= ignore.rules
        return frozenset(rules)

    def silences(self, rule: str, statement: int, statement_rules: frozenset[str]) -> bool:
        """Whether `rule` is ignored for the statement starting at offset `statement` (or for
        the file); remembers that the comment was of use."""
        if rule in statement_rules:
            self.silenced.add((statement, rule))
            return True
        if rule in self.file_rules:
            self.silenced.add((FILE, rule))
            return True
        return False

    def unused(self, path: Path, text: str, statements: list[int],
               active: frozenset[str]) -> list[Finding]:
        """`unused-ignore` for each rule a comment names that silenced nothing. `statements`:
        the start offsets of the file's statements, in order; `active`: the rules that ran."""
        found = []
        for ignore in self.comments:
            after = bisect_right(statements, ignore.offset)
            target = FILE if ignore.whole_file else (
                statements[after] if after < len(statements) else None)
            idle = sorted(r for r in ignore.rules & active if (target, r) not in self.silenced)
            if idle:
                where = "this file" if ignore.whole_file else (
                    "the statement below it" if target is not None else "any statement")
                found.append(finding(
                    "unused-ignore", path, ignore.line, None,
                    f"lint-ignore {', '.join(idle)}: no such finding in {where}; remove it "
                    "(or the rule name), so a new hazard here is not silenced by accident",
                    text=text))
        return found
