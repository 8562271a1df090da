"""``docker-compose.yml``, ``Dockerfile`` and ``.dockerignore`` checked statically (no Docker
engine runs in CI): every ``PARTNERLINK_`` name is a setting and its value parses, the read API
listens where the port mapping reaches it, health checks exist, images are pinned, host ports
match the service's defaults, and the build context leaves out what the image must not hold."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.preflight import load_settings
from service.settings import Settings

ROOT = Path(__file__).parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
SETTING_NAMES = {f"PARTNERLINK_{name.upper()}" for name in Settings.model_fields}


def environment(service: str) -> dict[str, str]:
    return {name: str(value) for name, value in SERVICES[service].get("environment", {}).items()}


def dockerfile_env() -> dict[str, str]:
    block = re.search(r"^ENV (.+?)(?:\n\n|\n[A-Z]+ )", DOCKERFILE, re.S | re.M)
    assert block, "the Dockerfile sets no ENV"
    return dict(re.findall(r"(\w+)=(\S+)", block[1]))


def host_ports(service: str) -> dict[int, int]:
    """container port → host port."""
    ports = {}
    for mapping in SERVICES[service].get("ports", []):
        host, container = str(mapping).split(":")
        ports[int(container)] = int(host)
    return ports


def test_every_partnerlink_variable_is_a_setting_and_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = {k: v for k, v in environment("partnerlink").items() if k.startswith("PARTNERLINK_")}
    image = {k: v for k, v in dockerfile_env().items() if k.startswith("PARTNERLINK_")}
    assert compose and image
    assert not set(compose) - SETTING_NAMES, f"not settings: {sorted(set(compose) - SETTING_NAMES)}"
    assert not set(image) - SETTING_NAMES, f"not settings: {sorted(set(image) - SETTING_NAMES)}"
    for name, value in {**image, **compose}.items():
        monkeypatch.setenv(name, value)
    load_settings()  # raises StartupError naming the variable whose value does not parse


def test_read_api_listens_on_every_interface_at_the_mapped_port() -> None:
    env = environment("partnerlink")
    assert env["PARTNERLINK_HTTP_HOST"] == "0.0.0.0"
    assert dockerfile_env()["PARTNERLINK_HTTP_HOST"] == "0.0.0.0"
    assert int(env["PARTNERLINK_HTTP_PORT"]) in host_ports("partnerlink")
    assert f"EXPOSE {env['PARTNERLINK_HTTP_PORT']}" in DOCKERFILE


def test_every_service_has_a_health_check_and_the_service_waits_for_them() -> None:
    for name, service in SERVICES.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    assert SERVICES["partnerlink"]["healthcheck"]["test"] == ["CMD", "partnerlink", "health"]
    assert "HEALTHCHECK" in DOCKERFILE and '"partnerlink", "health"' in DOCKERFILE
    waits = SERVICES["partnerlink"]["depends_on"]
    assert {name: waits[name]["condition"] for name in waits} == {
        name: "service_healthy" for name in SERVICES if name != "partnerlink"
    }


def test_every_image_has_a_pinned_version() -> None:
    images = [service["image"] for service in SERVICES.values() if "image" in service]
    images += re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    for image in images:
        _, _, tag = image.rpartition(":")
        assert "/" not in tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"{image} is not pinned"


def test_host_ports_are_the_service_defaults_and_do_not_clash() -> None:
    defaults = Settings()
    kafka_port = int(defaults.kafka_bootstrap_servers.rpartition(":")[2])
    assert kafka_port in host_ports("kafka").values()
    assert "HOST://localhost:9092" in environment("kafka")["KAFKA_ADVERTISED_LISTENERS"]
    assert host_ports("mailpit")[1025] == defaults.smtp_port
    assert host_ports("partnerlink")[8080] == defaults.http_port
    every = [port for name in SERVICES for port in host_ports(name).values()]
    assert len(every) == len(set(every)), f"host ports used twice: {every}"


def test_the_service_talks_to_the_other_containers_by_name() -> None:
    env = environment("partnerlink")
    assert env["PARTNERLINK_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092"
    assert "INTERNAL://kafka:19092" in environment("kafka")["KAFKA_ADVERTISED_LISTENERS"]
    assert "@postgres:5432/" in env["PARTNERLINK_DATABASE_URL"]
    assert (env["PARTNERLINK_SMTP_HOST"], env["PARTNERLINK_SMTP_PORT"]) == ("mailpit", "1025")


def test_the_image_installs_from_the_lock_and_runs_unprivileged_with_a_writable_folder() -> None:
    assert "-c /src/requirements.lock" in DOCKERFILE
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")
    workdir = re.findall(r"^WORKDIR (\S+)", DOCKERFILE, re.M)[-1]
    assert f"chown {user[-1]}:{user[-1]} {workdir}" in DOCKERFILE  # the default SQLite file goes there


def test_the_build_context_leaves_out_history_runs_and_databases() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".git", "demo-run", "dev-run", "*.db", "bench-results*", "chaos-run", "**/__pycache__"):
        assert pattern in ignored, pattern
    for needed in ("README.md", "pyproject.toml", "requirements.lock", "service", "templates"):
        assert needed not in ignored, needed
