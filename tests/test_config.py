"""Settings from files, `.env`, the environment and flags, without a database.

Every test passes `root=tmp_path` and an explicit `environ`, so the machine's own environment
and working directory never leak in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sqlmig.core.config import resolve
from sqlmig.errors import ConfigError

URL = "postgresql://app:s3cret@db.example.com:5432/app"


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(root: Path, environ: dict[str, str] | None = None, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as raised:
        resolve(root=root, environ=environ or {}, **kwargs)
    return str(raised.value)


# --- defaults and environments -------------------------------------------------------------


def test_without_config_development_uses_the_defaults_and_the_embedded_server(
    tmp_path: Path,
) -> None:
    settings = resolve(root=tmp_path, environ={})
    root = tmp_path.resolve()
    assert settings.env == "development"
    assert settings.root == root
    assert settings.migrations_dir == root / "sql"
    assert settings.seeds_dir == root / "seeds" / "development"
    assert (settings.schema, settings.table) == ("public", "schema_migrations")
    assert (settings.lock_timeout, settings.statement_timeout) == (None, None)
    assert (settings.lock_wait, settings.allow_out_of_order) == (60.0, False)
    assert settings.database_url is None
    assert settings.config_file is None
    assert not settings.protected


def test_the_environment_comes_from_sqlmig_env(tmp_path: Path) -> None:
    assert resolve(root=tmp_path, environ={"SQLMIG_ENV": "test"}).env == "test"


def test_an_explicit_environment_wins_over_sqlmig_env(tmp_path: Path) -> None:
    settings = resolve(root=tmp_path, env="test", environ={"SQLMIG_ENV": "production"})
    assert settings.env == "test"


@pytest.mark.parametrize(
    ("how", "environ"),
    [({"env": "prod"}, {}), ({}, {"SQLMIG_ENV": "qa"})],
    ids=["--env", "SQLMIG_ENV"],
)
def test_an_unknown_environment_is_refused_naming_the_setting(
    tmp_path: Path, how: dict[str, str], environ: dict[str, str]
) -> None:
    message = config_error(tmp_path, environ, **how)
    assert message.startswith("--env/SQLMIG_ENV: unknown environment")
    assert "development, test, staging, production" in message


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ("development", "DATABASE_URL"),
        ("test", "DATABASE_URL_TEST"),
        ("staging", "DATABASE_URL_STAGING"),
        ("production", "DATABASE_URL"),
    ],
)
def test_each_environment_reads_its_own_url_variable(
    tmp_path: Path, env: str, variable: str
) -> None:
    assert resolve(root=tmp_path, env=env, environ={variable: URL}).database_url == URL


def test_the_test_environment_never_takes_the_development_url(tmp_path: Path) -> None:
    settings = resolve(root=tmp_path, env="test", environ={"DATABASE_URL": URL})
    assert settings.database_url is None


@pytest.mark.parametrize("env", ["development", "test"])
def test_a_missing_url_in_development_or_test_means_the_embedded_server(
    tmp_path: Path, env: str
) -> None:
    assert resolve(root=tmp_path, env=env, environ={}).database_url is None


@pytest.mark.parametrize(
    ("env", "variable"), [("staging", "DATABASE_URL_STAGING"), ("production", "DATABASE_URL")]
)
def test_a_missing_url_in_staging_or_production_is_an_error_naming_the_variable(
    tmp_path: Path, env: str, variable: str
) -> None:
    message = config_error(tmp_path, env=env)
    assert message.startswith(f"{variable}: no database URL for the {env} environment")
    assert f"'database_url' under [{env}]" in message


def test_staging_does_not_fall_back_to_the_production_url(tmp_path: Path) -> None:
    config_error(tmp_path, {"DATABASE_URL": URL}, env="staging")


@pytest.mark.parametrize("env", ["staging", "production"])
def test_staging_and_production_are_protected(tmp_path: Path, env: str) -> None:
    assert resolve(root=tmp_path, env=env, environ={"DATABASE_URL_STAGING": URL,
                                                    "DATABASE_URL": URL}).protected


def test_the_url_flag_wins_over_the_variable_and_the_variable_over_the_config(
    tmp_path: Path,
) -> None:
    write(tmp_path, "sqlmig.toml", "database_url = 'postgresql://from-config/app'\n")
    environ = {"DATABASE_URL": "postgresql://from-env/app"}
    assert resolve(root=tmp_path, environ=environ).database_url == "postgresql://from-env/app"
    flag = resolve(root=tmp_path, environ=environ, database_url="postgresql://from-flag/app")
    assert flag.database_url == "postgresql://from-flag/app"
    assert resolve(root=tmp_path, environ={}).database_url == "postgresql://from-config/app"


# --- .env ----------------------------------------------------------------------------------


def test_a_dotenv_file_in_the_root_supplies_variables(tmp_path: Path) -> None:
    write(tmp_path, ".env", f"DATABASE_URL={URL}\nMIGRATION_TABLE_NAME=knex_migrations\n")
    settings = resolve(root=tmp_path, environ={})
    assert settings.database_url == URL
    assert settings.table == "knex_migrations"


def test_real_environment_variables_win_over_the_dotenv_file(tmp_path: Path) -> None:
    write(tmp_path, ".env", "DATABASE_URL=postgresql://from-dotenv/app\nSQLMIG_ENV=test\n")
    settings = resolve(root=tmp_path, environ={"DATABASE_URL": URL, "SQLMIG_ENV": "development"})
    assert (settings.env, settings.database_url) == ("development", URL)


def test_the_dotenv_file_can_choose_the_environment(tmp_path: Path) -> None:
    write(tmp_path, ".env", f"SQLMIG_ENV=staging\nDATABASE_URL_STAGING={URL}\n")
    settings = resolve(root=tmp_path, environ={})
    assert (settings.env, settings.database_url) == ("staging", URL)


def test_a_dotenv_file_outside_the_root_is_not_read(tmp_path: Path) -> None:
    write(tmp_path, ".env", f"DATABASE_URL={URL}\n")
    project = tmp_path / "project"
    project.mkdir()
    assert resolve(root=project, environ={}).database_url is None


# --- config files --------------------------------------------------------------------------


def test_pyproject_tool_sqlmig_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, "pyproject.toml",
        "[project]\nname = 'app'\n\n[tool.sqlmig]\nmigrations_dir = 'db/migrations'\n"
        "schema = 'app'\ntable = 'migrations'\nlock_timeout = '5s'\n",
    )
    settings = resolve(root=tmp_path, environ={})
    assert settings.config_file == path.resolve()
    assert settings.migrations_dir == tmp_path.resolve() / "db" / "migrations"
    assert (settings.schema, settings.table, settings.lock_timeout) == ("app", "migrations", "5s")


def test_a_pyproject_without_tool_sqlmig_is_not_a_config_file(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname = 'app'\n\n[tool.ruff]\nline-length = 99\n")
    settings = resolve(root=tmp_path, environ={})
    assert (settings.config_file, settings.schema) == (None, "public")


def test_sqlmig_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.sqlmig]\ntable = 'from_pyproject'\n")
    path = write(tmp_path, "sqlmig.toml", "table = 'from_sqlmig_toml'\n")
    settings = resolve(root=tmp_path, environ={})
    assert (settings.table, settings.config_file) == ("from_sqlmig_toml", path.resolve())


def test_an_environment_section_overrides_the_top_level_for_that_environment_only(
    tmp_path: Path,
) -> None:
    write(
        tmp_path, "sqlmig.toml",
        "lock_timeout = '10s'\nlock_wait = 30\n\n"
        "[production]\nlock_timeout = '2s'\ndatabase_url = 'postgresql://prod/app'\n",
    )
    production = resolve(root=tmp_path, env="production", environ={})
    development = resolve(root=tmp_path, env="development", environ={})
    assert (production.lock_timeout, production.lock_wait) == ("2s", 30.0)
    assert production.database_url == "postgresql://prod/app"
    assert (development.lock_timeout, development.database_url) == ("10s", None)


def test_environment_sections_work_inside_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path, "pyproject.toml",
        "[tool.sqlmig]\nschema = 'app'\n\n[tool.sqlmig.staging]\nschema = 'app_staging'\n",
    )
    staging = resolve(root=tmp_path, env="staging", environ={"DATABASE_URL_STAGING": URL})
    assert staging.schema == "app_staging"
    assert resolve(root=tmp_path, environ={}).schema == "app"


def test_migration_directory_and_table_name_variables_override_the_config(
    tmp_path: Path,
) -> None:
    write(tmp_path, "sqlmig.toml", "migrations_dir = 'sql'\ntable = 'from_config'\n")
    environ = {"MIGRATION_DIRECTORY": "migrations", "MIGRATION_TABLE_NAME": "knex_migrations"}
    settings = resolve(root=tmp_path, environ=environ)
    assert settings.migrations_dir == tmp_path.resolve() / "migrations"
    assert settings.table == "knex_migrations"


def test_empty_override_variables_are_ignored(tmp_path: Path) -> None:
    settings = resolve(root=tmp_path, environ={"MIGRATION_DIRECTORY": "", "SQLMIG_SCHEMA": ""})
    assert (settings.migrations_dir.name, settings.schema) == ("sql", "public")


def test_command_line_flags_win_over_variables_and_config(tmp_path: Path) -> None:
    write(tmp_path, "sqlmig.toml", "table = 'from_config'\nlock_wait = 5\n")
    settings = resolve(
        root=tmp_path,
        environ={"MIGRATION_TABLE_NAME": "from_env"},
        overrides={"table": "from_flag", "lock_wait": None},
    )
    assert (settings.table, settings.lock_wait) == ("from_flag", 5.0)


def test_a_seed_set_defaults_by_environment_and_can_be_chosen(tmp_path: Path) -> None:
    environ = {"DATABASE_URL_STAGING": URL}
    assert resolve(root=tmp_path, env="staging", environ=environ).seed_set == "production"
    write(tmp_path, "sqlmig.toml", "seeds_dir = 'db/seeds'\n[staging]\nseed_set = 'demo'\n")
    staging = resolve(root=tmp_path, env="staging", environ=environ)
    assert staging.seeds_dir == tmp_path.resolve() / "db" / "seeds" / "demo"


# --- invalid config: one error naming the key ----------------------------------------------


def test_an_unknown_key_is_refused_naming_it_and_the_file(tmp_path: Path) -> None:
    write(tmp_path, "sqlmig.toml", "migration_dir = 'sql'\n")
    message = config_error(tmp_path)
    assert message.startswith("sqlmig.toml: unknown key 'migration_dir'")
    assert "migrations_dir" in message


def test_an_unknown_key_in_an_environment_section_names_the_section(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.sqlmig.production]\ndatabse_url = 'x'\n")
    message = config_error(tmp_path, env="production")
    assert message.startswith("pyproject.toml [production]: unknown key 'databse_url'")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("schema = 5", "'schema' must be a string, got 5"),
        ("lock_timeout = 5", "'lock_timeout' must be a string, got 5"),
        ("lock_wait = '60'", "'lock_wait' must be a number, got '60'"),
        ("lock_wait = true", "'lock_wait' must be a number, got true"),
        ("allow_out_of_order = 'yes'", "'allow_out_of_order' must be true or false, got 'yes'"),
        ("migrations_dir = ['sql']", "'migrations_dir' must be a string, got ['sql']"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(
    tmp_path: Path, line: str, message: str
) -> None:
    write(tmp_path, "sqlmig.toml", f"{line}\n")
    assert config_error(tmp_path) == f"sqlmig.toml: {message}"


@pytest.mark.parametrize("key", ["schema", "table"])
@pytest.mark.parametrize(
    "value", ["my-schema", "1st", "", "a b", 'x"; DROP TABLE users; --', "a" * 64, "app.users"]
)
def test_a_schema_or_table_that_is_not_a_plain_identifier_is_refused(
    tmp_path: Path, key: str, value: str
) -> None:
    write(tmp_path, "sqlmig.toml", f"{key} = '''{value}'''\n")
    message = config_error(tmp_path)
    assert message.startswith(f"sqlmig.toml: '{key}' = {value!r} is not a plain SQL identifier")


@pytest.mark.parametrize("value", ["a" * 63, "_private", "Mixed_Case", "with$dollar"])
def test_plain_identifiers_up_to_63_characters_are_accepted(tmp_path: Path, value: str) -> None:
    assert resolve(root=tmp_path, environ={}, overrides={"table": value}).table == value


def test_a_bad_table_name_from_a_variable_names_the_variable(tmp_path: Path) -> None:
    message = config_error(tmp_path, {"MIGRATION_TABLE_NAME": "schema migrations"})
    assert message.startswith("MIGRATION_TABLE_NAME: 'table' = 'schema migrations' is not")


@pytest.mark.parametrize("value", ["soon", "5 seconds", "-1s", "5m", "1.5s"])
def test_a_lock_timeout_that_is_not_a_duration_is_refused_naming_the_key(
    tmp_path: Path, value: str
) -> None:
    write(tmp_path, "sqlmig.toml", f"[development]\nlock_timeout = '{value}'\n")
    message = config_error(tmp_path)
    assert message.startswith(f"sqlmig.toml [development]: 'lock_timeout' = {value!r}")
    assert "is not a duration like '5s'" in message


@pytest.mark.parametrize("value", ["5s", "500ms", "2min", "1h", "100", "10 s"])
def test_durations_postgres_understands_are_accepted(tmp_path: Path, value: str) -> None:
    settings = resolve(root=tmp_path, environ={"SQLMIG_LOCK_TIMEOUT": value})
    assert settings.lock_timeout == value


def test_a_negative_lock_wait_flag_is_refused_naming_the_flag(tmp_path: Path) -> None:
    message = config_error(tmp_path, overrides={"lock_wait": -1})
    assert message == "--lock-wait: 'lock_wait' must be >= 0"


@pytest.mark.parametrize("value", ["nan", "inf", "+inf"])
@pytest.mark.parametrize("key", ["lock_wait", "connect_wait"])
def test_a_wait_that_is_not_a_finite_number_is_refused_naming_the_key_and_file(
    tmp_path: Path, key: str, value: str
) -> None:
    write(tmp_path, "sqlmig.toml", f"{key} = {value}\n")
    shown = "nan" if value == "nan" else "inf"
    assert config_error(tmp_path) == (
        f"sqlmig.toml: '{key}' = {shown} must be a finite number of seconds"
    )


def test_a_lock_wait_flag_of_nan_is_refused_naming_the_flag(tmp_path: Path) -> None:
    message = config_error(tmp_path, overrides={"lock_wait": float("nan")})
    assert message == "--lock-wait: 'lock_wait' = nan must be a finite number of seconds"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("[production]\nlock_timeout = 'forever'\n",
         "sqlmig.toml [production]: 'lock_timeout' = 'forever' is not a duration"),
        ("[staging]\ndatabse_url = 'x'\n", "sqlmig.toml [staging]: unknown key 'databse_url'"),
        ("[test]\nlock_wait = 'long'\n", "sqlmig.toml [test]: 'lock_wait' must be a number, "
         "got 'long'"),
        ("[production]\ntable = 'my-migrations'\n",
         "sqlmig.toml [production]: 'table' = 'my-migrations' is not a plain SQL identifier"),
        ("[production]\nlock_wait = inf\n",
         "sqlmig.toml [production]: 'lock_wait' = inf must be a finite number"),
        ("staging = 'postgresql://staging/app'\n", "sqlmig.toml: [staging] must be a table"),
    ],
    ids=["duration", "unknown-key", "type", "identifier", "infinite-wait", "not-a-table"],
)
def test_every_environment_section_is_checked_not_only_the_current_one(
    tmp_path: Path, section: str, message: str
) -> None:
    write(tmp_path, "sqlmig.toml", section)
    assert config_error(tmp_path, env="development").startswith(message)


def test_a_seed_set_that_is_not_a_folder_name_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "sqlmig.toml", "seed_set = '../secrets'\n")
    assert "'seed_set' = '../secrets' must be a folder name" in config_error(tmp_path)


def test_invalid_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path, "sqlmig.toml", "schema = \n")
    assert config_error(tmp_path).startswith("sqlmig.toml: invalid TOML:")


def test_an_environment_section_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "sqlmig.toml", "production = 'postgresql://prod/app'\n")
    message = config_error(tmp_path, {"DATABASE_URL": URL}, env="production")
    assert message == "sqlmig.toml: [production] must be a table"


def test_a_tool_sqlmig_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool]\nsqlmig = 'yes'\n")
    assert config_error(tmp_path) == "pyproject.toml: [tool.sqlmig] must be a table"
