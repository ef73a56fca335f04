# One image for web, worker, beat, flower and the simulator; compose picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=partnerportal.settings.production

WORKDIR /app
RUN useradd --system --create-home --uid 10001 portal

COPY pyproject.toml README.md ./
COPY partnerportal ./partnerportal
COPY tenants ./tenants
COPY orchestration ./orchestration
COPY simulator ./simulator
COPY manage.py ./
RUN pip install '.[simulator]' flower

# collectstatic needs settings that import; these throwaway values never reach a running container.
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 ALLOWED_HOSTS=build \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtb25seS1rZXktMDAwMDAwMDAwMDAwMDAwMDA= \
    python manage.py collectstatic --noinput

USER portal
EXPOSE 8000
CMD ["gunicorn", "partnerportal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
