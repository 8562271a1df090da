# Partnerlink service image: `docker build -t partnerlink .`
# Installs the exact versions of requirements.lock; runs as an unprivileged user whose
# working folder /data holds the default SQLite file (mount a volume there to keep it).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PARTNERLINK_HTTP_HOST=0.0.0.0 \
    PARTNERLINK_HTTP_PORT=8080 \
    PARTNERLINK_LOG_JSON=true

COPY . /src
RUN pip install --no-cache-dir -c /src/requirements.lock /src \
    && rm -rf /src \
    && useradd --create-home --uid 10001 --user-group partnerlink \
    && mkdir /data && chown partnerlink:partnerlink /data

USER partnerlink
WORKDIR /data
VOLUME ["/data"]

EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["partnerlink", "health"]
CMD ["partnerlink", "serve"]
