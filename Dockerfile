# threadlog: event-sourced comment service.
# Build:  docker build -t threadlog .
# Run:    docker compose up   (see docker-compose.yml; it runs migrations first)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    THREADLOG_HOST=0.0.0.0 \
    THREADLOG_PORT=8080 \
    THREADLOG_DATA_DIR=/var/lib/threadlog

# An unprivileged user owns nothing it could tamper with: the code is installed as root.
RUN groupadd --system --gid 10001 threadlog \
 && useradd --system --uid 10001 --gid threadlog --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin threadlog \
 && install -d -o threadlog -g threadlog -m 0700 /var/lib/threadlog

WORKDIR /app

# Only what the package needs (the migrations and openapi.yaml install with it, as data files); README.md is
# copied because pyproject.toml names it as the readme.
COPY pyproject.toml README.md alembic.ini openapi.yaml ./
COPY service/ ./service/
COPY migrations/ ./migrations/
RUN pip install --no-cache-dir . \
 && command -v threadlog >/dev/null

USER threadlog
# Without DATABASE_URL the service runs an embedded PostgreSQL under THREADLOG_DATA_DIR
# (writable by the unprivileged user; mount a volume there to keep it); docker-compose.yml
# sets DATABASE_URL instead.
EXPOSE 8080

# urllib keeps the image free of curl/wget; /healthz is liveness only (no DB round trip).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('THREADLOG_PORT', '8080'), timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["threadlog", "serve"]
