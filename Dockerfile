# Intrvuer server image: `docker build -t intrvuer .` then see docs/deploy.md.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY pipeline ./pipeline
COPY voices ./voices
COPY storage ./storage
COPY web ./web
# The cloud providers' SDKs and Sentry: the image serves whichever keys it is given.
RUN pip install ".[cloud,sentry]" \
    && useradd --create-home --uid 10001 intrvuer \
    && mkdir -p /data \
    && chown intrvuer:intrvuer /data

USER intrvuer
ENV ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    WEB_DIR=/app/web
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1

CMD ["intrvuer", "serve"]
