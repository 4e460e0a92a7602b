# camwatch: one image for the collector, exporter and web/API (`camwatch run`) and every CLI command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# ffmpeg libraries come with opencv-python-headless; ffprobe is handy for operators.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY collector ./collector
COPY inventory ./inventory
COPY probes ./probes
COPY dashboards ./dashboards
COPY config ./config
RUN pip install . && useradd --system --uid 10001 --home /data camwatch && mkdir -p /data && chown camwatch /data

USER camwatch
WORKDIR /data
# Configure with CAMWATCH_DB (e.g. postgresql://camwatch@db/camwatch), CAMWATCH_SECRET_KEY, and
# a mounted /data/camwatch.yaml. Inside a container the HTTP side must listen on all interfaces.
ENV CAMWATCH_HTTP__HOST=0.0.0.0
EXPOSE 9850
# Healthy while /healthz answers 200 (the collector runs and its database writes succeed).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CAMWATCH_HTTP__PORT', '9850'), timeout=4)" || exit 1
ENTRYPOINT ["tini", "--", "camwatch"]
CMD ["run"]
