# One image for web, worker and beat (deploy/compose.yaml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.prod \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media

RUN useradd --system --create-home --home-dir /app kongchuo
WORKDIR /app

COPY pyproject.toml README.md ./
COPY config config
COPY students students
COPY casework casework
COPY accountability accountability
COPY reporting reporting
COPY bench bench
COPY templates templates
COPY static static
COPY locale locale
COPY manage.py ./
RUN pip install . \
    && SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-build-only REDIS_URL=redis://build:6379/0 \
       python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /data/media && chown -R kongchuo:kongchuo /data

USER kongchuo
EXPOSE 8000
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
