"""`sqlmig init --ci github` and `sqlmig init --compose`: the workflows, compose service and
image a project needs to run sqlmig in CI and as a container init step. Each installs sqlmig
as a package (never from sqlmig's source tree). Pure text; commands.init writes them.
"""

from __future__ import annotations

from sqlmig import __version__

# Pinned to the sqlmig that wrote them, so CI runs what the team tried locally.
INSTALL = f"sqlmig[embedded]=={__version__}"

REVIEW = """\
# Written by `sqlmig init --ci github`. On every pull request that touches migrations: lint
# (annotations on the diff), then the upgrade production will run: the base branch's
# migrations first, this pull request's on top; then verify, the round-trip check, and a
# committed, current schema.sql.
name: migrations review

on:
  pull_request:
    paths:
      - "{migrations}/**"
      - "schema.sql"

jobs:
  review:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:18
        env:
          POSTGRES_PASSWORD: postgres
        ports:
          - 5432:5432
        options: >-
          --health-cmd "pg_isready -U postgres"
          --health-interval 2s
          --health-timeout 3s
          --health-retries 30
    env:
      DATABASE_URL: postgresql://postgres:postgres@localhost:5432/postgres
      BASE_REF: ${{{{ github.base_ref }}}}
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: install sqlmig
        run: pip install "{install}"
      - name: lint (annotations on the diff)
        run: sqlmig lint --format github
      - name: migrate to the base branch's migrations (what production runs today)
        run: |
          git worktree add ../base "origin/$BASE_REF"
          if [ -d "../base/{migrations}" ]; then (cd ../base && sqlmig migrate --wait 60); fi
      - name: apply this pull request's migrations on top
        run: sqlmig migrate --wait 60
      - name: verify files against history
        run: sqlmig verify
      - name: prove every down reverses its up
        run: sqlmig check
      - name: schema.sql is committed and current
        env:
          FIX: run sqlmig dump -o schema.sql and commit it
        run: |
          sqlmig dump --output schema.sql
          if ! git ls-files --error-unmatch schema.sql >/dev/null 2>&1; then
            echo "::error file=schema.sql::schema.sql is not committed; $FIX"
            exit 1
          fi
          if ! git diff --exit-code -- schema.sql; then
            echo "::error file=schema.sql::schema.sql is stale; $FIX"
            exit 1
          fi
"""

MIGRATE = """\
# Written by `sqlmig init --ci github`. Migrates production on every push to main that
# touches migrations, one run at a time; DATABASE_URL comes from the production environment's
# secrets. No pg_dump here: it would copy every production row onto a throwaway runner;
# backups are the database server's job.
name: migrate production

on:
  push:
    branches: [main]
    paths:
      - "{migrations}/**"

concurrency:
  group: migrate-production
  cancel-in-progress: false

jobs:
  migrate:
    runs-on: ubuntu-latest
    environment: production
    env:
      DATABASE_URL: ${{{{ secrets.DATABASE_URL }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: install sqlmig
        run: pip install "{install}"
      - name: migrate
        run: sqlmig migrate --env production --wait 60 --no-snapshot
      - name: everything applied
        run: sqlmig status --env production --exit-code
"""

DOCKERFILE = """\
# Written by `sqlmig init --compose`: sqlmig with this project's migrations, as a non-root
# image. What sqlmig writes (production snapshots) goes to the /var/lib/sqlmig volume.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    SQLMIG_SNAPSHOT_DIR=/var/lib/sqlmig/snapshots
RUN pip install --no-cache-dir "{install}" \\
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin sqlmig \\
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/sqlmig /var/lib/sqlmig/snapshots
WORKDIR /app
COPY {migrations}/ /app/{migrations}/
COPY {seeds}/ /app/{seeds}/
COPY sqlmig.toml /app/
VOLUME ["/var/lib/sqlmig"]
USER 10001
ENTRYPOINT ["sqlmig"]
CMD ["migrate", "--wait", "60"]
"""

COMPOSE = """\
# Written by `sqlmig init --compose`: sqlmig as an init step. `migrate` runs once when the
# database is healthy and exits; make your application wait for it:
#   depends_on:
#     migrate:
#       condition: service_completed_successfully
# Run it with your own compose file: docker compose -f compose.yaml -f compose.sqlmig.yaml up
# It waits for your database service, called `db` below: rename it to yours.
services:
  migrate:
    build:
      context: .
      dockerfile: Dockerfile.sqlmig
    command: ["migrate", "--wait", "60"]
    environment:
      DATABASE_URL: ${DATABASE_URL:-postgresql://app:app@db:5432/app}
    volumes:
      - sqlmig-data:/var/lib/sqlmig
    depends_on:
      db:
        condition: service_healthy
    restart: "no"

volumes:
  sqlmig-data:
"""


def ci_files(migrations: str) -> dict[str, str]:
    """GitHub workflows for a project whose migrations live in `migrations` (relative)."""
    return {
        ".github/workflows/sqlmig-review.yml": REVIEW.format(migrations=migrations,
                                                             install=INSTALL),
        ".github/workflows/sqlmig-migrate.yml": MIGRATE.format(migrations=migrations,
                                                               install=INSTALL),
    }


def compose_files(migrations: str, seeds: str) -> dict[str, str]:
    """An image of the project's migrations and a compose service that runs it."""
    return {
        "Dockerfile.sqlmig": DOCKERFILE.format(migrations=migrations, seeds=seeds,
                                               install=INSTALL),
        "compose.sqlmig.yaml": COMPOSE,
    }
