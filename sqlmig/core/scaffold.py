"""`sqlmig init`: the files a new project starts from, and the lines its .gitignore needs.
Pure text; commands.init writes them."""

from __future__ import annotations

CONFIG = """\
# sqlmig configuration. Every key is optional; the values shown are the defaults.
# Environment variables win over this file, and command-line flags win over both.

# migrations_dir = "sql"            # NNNN_name.up/down.sql (env MIGRATION_DIRECTORY)
# seeds_dir = "seeds"               # seed sets live in seeds/<seed_set>/
# seed_set = "development"          # default: development and test use "development",
#                                   # staging and production use "production"
# schema = "public"                 # schema of the history table (env SQLMIG_SCHEMA)
# table = "schema_migrations"       # history table (env MIGRATION_TABLE_NAME)
# lock_timeout = "5s"               # SET lock_timeout for migrations (env SQLMIG_LOCK_TIMEOUT)
# statement_timeout = "10min"       # SET statement_timeout (env SQLMIG_STATEMENT_TIMEOUT)
# dry_run_lock_timeout = "2s"       # plan --locks: give up on a lock another session holds
# dry_run_statement_timeout = "15s" # plan --locks: stop measuring a statement after this
# lock_retries = 5                  # retries after a lock timeout, 0: none (--lock-retries)
# lock_retry_delay = "2s"           # before the first retry, doubled each time
# lock_retry_max_delay = "30s"      # the longest wait between retries
# lock_wait = 60                    # seconds to wait for another run's migration lock
# connect_wait = 0                  # seconds to retry the first connection (--wait)
# allow_out_of_order = false        # apply pending migrations older than the newest applied
# dump_schema = false               # rewrite schema_file after migrate/rollback
# schema_file = "schema.sql"
# snapshot_before_migrate = false   # pg_dump before migrating (default true in production)
# snapshot_dir = ".sqlmig/snapshots" # where those backups go (env SQLMIG_SNAPSHOT_DIR)
# lint_disable = []                 # lint rule ids to skip everywhere
# lint_enable = []                  # opt-in lint rules to run ("style": all of them)
# lint_exclude = []                 # globs of files lint does not report on
# pg_version = 18                   # lint for this PostgreSQL (default: the newest)
# lint_small_table_rows = 10000     # lint --against: a lock on a smaller table is a note
# database_url = ""                 # prefer DATABASE_URL* in the environment

# Per-environment overrides of any key above:
# [production]
# lock_timeout = "2s"
# snapshot_before_migrate = true
"""

ENV_EXAMPLE = """\
# Copy to .env (never commit .env). Real environment variables win over it.
# development and production read DATABASE_URL; test and staging have their own.
# Without one, development and test use an embedded PostgreSQL under .sqlmig/.
DATABASE_URL=postgresql://app:app@localhost:5432/app
DATABASE_URL_TEST=postgresql://app:app@localhost:5432/app_test
DATABASE_URL_STAGING=
SQLMIG_ENV=development
# Used by seeds/production/*.sql through `-- sqlmig:param admin_password=SEED_ADMIN_PASSWORD`
SEED_ADMIN_PASSWORD=
"""

FILES = {
    "sqlmig.toml": CONFIG,
    ".env.example": ENV_EXAMPLE,
    "seeds/development/README.md": "Seeds for development and test: NN_name.sql, NN_table.csv\n",
    "seeds/production/README.md": "Seeds for staging and production: NN_name.sql\n",
    "sql/README.md": "Migrations: NNNN_name.up.sql + NNNN_name.down.sql (`sqlmig new NAME`).\n",
}

# What must never be committed: the embedded server's data and production snapshots (every
# row of the database) under .sqlmig/, and .env with its passwords.
GITIGNORE = (".sqlmig/", ".env")


def _ignored(line: str) -> str:
    """A .gitignore line as the path it names: `/.sqlmig/`, `.sqlmig` and `.sqlmig/` alike."""
    return line.strip().strip("/")


def gitignore(existing: str | None) -> str | None:
    """The .gitignore with GITIGNORE's lines added where missing (None: nothing to add);
    `existing` None when there is no file. Lines already there are never repeated."""
    have = {_ignored(line) for line in (existing or "").splitlines()}
    missing = [line for line in GITIGNORE if _ignored(line) not in have]
    if not missing:
        return None
    text = existing or ""
    if text and not text.endswith("\n"):
        text += "\n"
    header = "# sqlmig: embedded server data, snapshots, secrets\n"
    return text + header + "".join(f"{line}\n" for line in missing)
