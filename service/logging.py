"""One log format for the service and every library it runs (FastStream, aiokafka, uvicorn,
Alembic, SQLAlchemy): structlog's ``ProcessorFormatter`` on the standard ``logging`` root.

A line is JSON (one object per line: ``timestamp``, ``level``, ``logger``, ``event`` and the
event's fields) when ``json`` is true, or when it is ``None`` and the stream is not a
terminal (a file, a pipe, a container's log); else ``key=value`` text, coloured only on a
terminal. Never tokens, links, passwords or email addresses (the callers keep them out).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

LIBRARY_LOGGERS = ("faststream", "uvicorn", "uvicorn.error", "uvicorn.access", "alembic")
"""Loggers that install their own handlers or formats; ours replaces them (they propagate)."""

QUIET_LOGGERS = {"aiokafka": logging.WARNING, "asyncio": logging.WARNING, "uvicorn.access": logging.WARNING}
"""Chatty at INFO (aiokafka: every join and rebalance; asyncio: slow-callback notices)."""


class DropNoise(logging.Filter):
    """Drops FastStream's ``callback for Task-N is being executed...`` (one per subscriber task at
    every shutdown, at INFO: it says nothing an operator can act on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return not (message.startswith("callback for ") and message.endswith("is being executed..."))


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler ``configure_logging`` installs (and replaces when called again)."""


def use_json(json: bool | None, stream: TextIO) -> bool:
    """``json`` when set; else JSON unless ``stream`` is a terminal."""
    if json is not None:
        return json
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def configure_logging(level: str = "INFO", json: bool | None = None, stream: TextIO | None = None) -> None:
    """Route structlog and the standard ``logging`` through one formatter on ``stream``
    (default: stderr) at ``level`` (``DEBUG`` … ``ERROR``). Safe to call again."""
    stream = stream or sys.stderr
    as_json = use_json(json, stream)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=bool(getattr(stream, "isatty", lambda: False)()))
    )
    final: list[structlog.types.Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if as_json:
        final.append(structlog.processors.format_exc_info)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()], processors=[*final, renderer]
    )
    handler = _OurHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(DropNoise())
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _OurHandler)] + [handler]
    root.setLevel(level)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        library.setLevel(logging.NOTSET)
    if level != "DEBUG":
        for name, quiet in QUIET_LOGGERS.items():
            logging.getLogger(name).setLevel(quiet)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
