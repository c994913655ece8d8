FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# requirements.txt alone, exactly what CI's runtime-only smoke test installs and runs (.ci/smoke).
COPY requirements.txt .
RUN pip install -r requirements.txt

# Everything but what .dockerignore leaves out: the benchmarks (benchmarks/), caches, local data.
COPY . .
# The translations compiled at build time (GNU gettext's msgfmt, removed again afterwards), and
# static files collected and served by WhiteNoise (no CDN, no nginx needed).
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && DJANGO_DEBUG=0 DJANGO_SECRET_KEY=build-only-not-secret python manage.py compilemessages \
    && apt-get purge -y gettext && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 pulse && chown -R pulse /app
USER pulse

EXPOSE 8000
CMD ["gunicorn", "wellbeing.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
