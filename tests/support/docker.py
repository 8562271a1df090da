"""Is a Docker engine reachable? (for testcontainers-based tests, skipped otherwise)."""

from __future__ import annotations

import functools

__all__ = ["docker_available"]


@functools.cache
def docker_available() -> tuple[bool, str]:
    """``(True, "")`` if ``docker.from_env().ping()`` works, else ``(False, reason)``.

    Any exception (missing package, no socket, engine down) becomes the reason,
    formatted as ``"ExceptionType: message"``. The result is cached per process.
    """
    try:
        import docker  # type: ignore[import-untyped, unused-ignore]

        client = docker.from_env()
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return False, f"Docker engine not reachable ({type(exc).__name__}: {exc})"
    return True, ""
