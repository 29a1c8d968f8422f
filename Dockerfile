# Production image: gunicorn (threaded workers, connections kept alive; gunicorn.conf.py) behind
# your load balancer, admin static files served by whitenoise.
# Configure with environment variables (README "Configuration"); SECRET_KEY, DATABASE_URL,
# SECRETS_ENCRYPTION_KEYS and TOKEN_ISSUER (the API's public https URL) are required, and so is
# REDIS_URL unless SINGLE_PROCESS=true (then WEB_CONCURRENCY=1; the cache is then a table of the
# database: run `python manage.py createcachetable` once).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=false \
    PORT=8000 \
    WEB_CONCURRENCY=2

WORKDIR /app
RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app

COPY pyproject.toml ./
COPY gunicorn.conf.py ./
COPY commerceapi ./commerceapi
COPY core ./core
COPY identity ./identity
COPY catalog ./catalog
COPY carts ./carts
COPY orders ./orders
COPY manage.py ./
RUN pip install . \
    && SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/unused.sqlite3 SINGLE_PROCESS=true \
       SECRETS_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
       TOKEN_ISSUER=https://collectstatic.invalid \
       python manage.py collectstatic --no-input \
    && chown -R app:app /app

USER app
EXPOSE 8000
# The probe names the first of ALLOWED_HOSTS as its Host, which Django checks.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request as u; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.') or 'localhost'; u.urlopen(u.Request('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), headers={'Host': host}), timeout=2)"

# Run `python manage.py migrate` once per release (a job or an init container), not here.
# Workers (WEB_CONCURRENCY: one per core, docs/capacity.md), threads (GUNICORN_THREADS), timeouts,
# worker restarts, graceful reload (SIGHUP), request limits, the worker class and access logs
# (off; ACCESS_LOG=true): gunicorn.conf.py.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "commerceapi.wsgi:application", "--forwarded-allow-ips", "*"]
