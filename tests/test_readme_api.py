"""The README's Python API example, run as written against a real database."""

from __future__ import annotations

import re

import pytest

from tests.conftest import EXAMPLES, README, Project


def test_the_readme_api_example_migrates_a_database(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    [example] = re.findall(r"## Python API.*?```python\n(.*?)```", README, re.S)
    project.copy_examples()
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    namespace["migrate_test_database"](project.url)
    ups = sorted(path.name.split("_")[0] for path in EXAMPLES.glob("*.up.sql"))
    assert [f"{v:04d}" for v, *_ in project.history()] == ups
    assert re.fullmatch(rf"applied {len(ups)} migrations as batch 1 in \d+ ms\n",
                        capsys.readouterr().out)
