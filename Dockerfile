# One image for the four services; the command picks the service and its role, e.g.
# `python -m services.billing api` (roles: api, worker, all). docker-compose.yml and the
# Kubernetes manifests (deploy/kubernetes/) both run it.
#
# Two stages: `build` installs the locked runtime dependencies (requirements/production.txt,
# every file checked against its hash, wheels only) into a virtual environment; the final
# stage copies that environment and the code, and holds no compiler, no pip and no
# development or test tool (the MongoDB emulator, pytest, tqdm are extras, never installed).

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

COPY requirements/production.txt /tmp/production.txt
# --only-binary: nothing is compiled, so this stage needs no build tools either.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps \
        --only-binary=:all: -r /tmp/production.txt \
    && /opt/venv/bin/pip uninstall --yes pip setuptools

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH

# pip and setuptools of the base image are of no use at run time.
RUN python -m pip uninstall --yes --root-user-action=ignore pip setuptools wheel \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app

COPY --from=build /opt/venv /opt/venv

# The code runs from /app (`python -m` puts the working directory first on sys.path, so the
# templates beside the modules are found); it is not installed as a package.
WORKDIR /app
COPY shared ./shared
COPY services ./services
# Bytecode now: in Kubernetes the root file system is read-only. var/ is only for the
# development file transports (no SMTP host or SMS gateway configured, as in docker compose).
RUN python -m compileall -q /app/shared /app/services \
    && mkdir -p /app/var && chown app:app /app/var

USER 10001:10001

EXPOSE 8001 8002 8003 8004

CMD ["python", "-m", "services.identity", "all"]
