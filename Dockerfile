# syntax=docker/dockerfile:1
# One image for web, worker, beat, Flower, migrate and the demo's simulator; compose picks the command.
# `make image-check` reproduces this build and compose's services without a Docker engine.

# ---- builder: the project's wheel and a wheel of every dependency, with a compiler at hand -------------
FROM python:3.11-slim-bookworm AS builder
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole build context: .dockerignore keeps tests, caches and secrets out, and no package is named here.
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels '.[simulator]' 'flower>=2'

# ---- the image: slim, no compiler, the wheels installed, running as a user ------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=partnerportal.settings.production \
    STATIC_ROOT=/app/static
RUN useradd --system --create-home --uid 10001 portal
# From the wheels only, never the source tree: what runs is what pyproject.toml and MANIFEST.in package.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels 'workspaces-core-partner-portal[simulator]' flower
WORKDIR /app
COPY manage.py ./
# Static files are collected once, at build time. The settings need values to import; these throwaway
# ones never reach a running container.
RUN DJANGO_SECRET_KEY=build-only-not-a-secret ALLOWED_HOSTS=build DATABASE_URL=postgres://build@build/build \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMDAwMDAwMDAwMDAwMDAwMDA= PARTNER_AWS_ACCOUNT_ID=000000000000 \
    python manage.py collectstatic --noinput

USER portal
EXPOSE 8000
CMD ["gunicorn", "partnerportal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
