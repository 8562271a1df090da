"""The fault harness's logging: one ``command.handled`` line per command would drown a run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

__all__ = ["quiet_logs"]


@contextmanager
def quiet_logs(level: int = logging.WARNING) -> Iterator[None]:
    """Only log lines at ``level`` or above (a ``logging`` level), meanwhile; then as before."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    try:
        yield
    finally:
        structlog.configure(**saved)
