# One image for the four services; docker-compose.yml picks the service by its command,
# e.g. `python -m services.billing all` (roles: api, worker, all).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
# Installed as a package (with its pinned dependencies) and also run from /app: `python -m`
# puts the working directory first on sys.path, so non-Python files (templates) are found.
RUN pip install --no-cache-dir . && rm -rf build *.egg-info

# Unprivileged user; var/ is the only place it may write (file transports, local state).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app \
    && mkdir -p /app/var && chown app:app /app/var
USER app

EXPOSE 8001 8002 8003 8004

CMD ["python", "-m", "services.identity", "all"]
