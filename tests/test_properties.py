"""Property tests (hypothesis) for the file-name parser and the planner."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sqlmig.core import plan
from sqlmig.core.files import FILE_NAME, Migration
from sqlmig.core.sqlfile import SqlFile

names = st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True)
widths = st.integers(min_value=4, max_value=8)


@given(version=st.integers(min_value=0, max_value=10**8 - 1), name=names, width=widths,
       direction=st.sampled_from(["up", "down"]))
def test_generated_file_names_parse_back_to_their_parts(
    version: int, name: str, width: int, direction: str
) -> None:
    filename = f"{version:0{width}d}_{name}.{direction}.sql"
    match = FILE_NAME.match(filename)
    assert match is not None
    assert (int(match["version"]), match["name"], match["direction"]) == (version, name, direction)
    assert len(match["version"]) == max(width, len(str(version)))


@given(st.text(max_size=40))
def test_any_name_the_parser_accepts_is_canonical(text: str) -> None:
    match = FILE_NAME.match(text)
    if match is None:
        return
    version = match["version"]
    assert version.isascii() and version.isdigit()
    assert f"{version}_{match['name']}.{match['direction']}.sql" == text


def migration(version: int) -> Migration:
    def sql(direction: str) -> SqlFile:
        return SqlFile(Path(f"sql/{version:04d}_m{version}.{direction}.sql"), f"SELECT {version};")

    return Migration(version, f"m{version}", sql("up"), sql("down"))


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[Migration], list[plan.Applied]]:
    """Some migration files, and a history that applied a subset of them in a few batches."""
    versions = draw(st.lists(st.integers(1, 500), min_size=0, max_size=25, unique=True))
    files = [migration(v) for v in versions]
    done = draw(st.lists(st.sampled_from(versions), unique=True)) if versions else []
    batches = draw(st.lists(st.integers(1, 4), min_size=len(done), max_size=len(done)))
    applied = [
        plan.Applied(v, f"m{v}", migration(v).checksum, b)
        for v, b in zip(sorted(done), sorted(batches), strict=True)
    ]
    return files, applied


@settings(max_examples=200)
@given(worlds())
def test_migrate_plans_exactly_the_pending_versions_in_order_as_one_new_batch(
    world: tuple[list[Migration], list[plan.Applied]],
) -> None:
    files, applied = world
    steps = plan.plan_migrate(files, applied, allow_out_of_order=True)
    done = {a.version for a in applied}
    assert [s.migration.version for s in steps] == sorted(m.version for m in files
                                                          if m.version not in done)
    assert {s.batch for s in steps} <= {plan.next_batch(applied)}
    assert all(s.direction == "up" for s in steps)


@settings(max_examples=200)
@given(worlds(), st.integers(1, 30))
def test_up_n_is_a_prefix_of_migrate(
    world: tuple[list[Migration], list[plan.Applied]], count: int
) -> None:
    files, applied = world
    everything = plan.plan_migrate(files, applied, allow_out_of_order=True)
    assert plan.plan_up(files, applied, count, allow_out_of_order=True) == everything[:count]


@settings(max_examples=200)
@given(worlds(), st.integers(0, 500))
def test_rollback_to_undoes_exactly_the_versions_above_newest_first(
    world: tuple[list[Migration], list[plan.Applied]], target: int
) -> None:
    files, applied = world
    if target != 0 and target not in {m.version for m in files}:
        return
    steps = plan.plan_rollback(files, applied, to=target)
    expected = sorted((a.version for a in applied if a.version > target), reverse=True)
    assert [s.migration.version for s in steps] == expected
    assert all(s.direction == "down" for s in steps)


@settings(max_examples=200)
@given(worlds())
def test_default_rollback_undoes_the_whole_last_batch_and_nothing_else(
    world: tuple[list[Migration], list[plan.Applied]],
) -> None:
    files, applied = world
    steps = plan.plan_rollback(files, applied)
    last = max((a.batch for a in applied), default=None)
    assert sorted(s.migration.version for s in steps) == sorted(
        a.version for a in applied if a.batch == last
    )


@settings(max_examples=200)
@given(worlds())
def test_after_migrating_status_is_all_applied_and_verify_is_clean(
    world: tuple[list[Migration], list[plan.Applied]],
) -> None:
    files, applied = world
    steps = plan.plan_migrate(files, applied, allow_out_of_order=True)
    after = applied + [
        plan.Applied(s.migration.version, s.migration.name, s.migration.checksum, s.batch or 0)
        for s in steps
    ]
    assert all(row.state is plan.State.APPLIED for row in plan.status(files, after))
    assert plan.verify(files, after) == []
