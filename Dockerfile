# Partnerlink service image: `docker build -t partnerlink .`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app

RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 --user-group partnerlink

USER partnerlink

EXPOSE 8080
CMD ["partnerlink", "serve"]
