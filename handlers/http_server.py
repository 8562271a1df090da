"""Serving the read API (``handlers/http.py``) with uvicorn inside the FastStream process.

The FastStream application owns the process's signals; uvicorn runs as a task of the
same event loop and is told to exit on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # FastStream handles SIGINT/SIGTERM and stops us through ``should_exit``


class HttpServer:
    """``await start()`` binds ``host:port`` (port 0: a free one, see ``port``), or serves on
    ``sock`` when given (already bound); ``await stop()``. uvicorn logs through the root logger
    (``service.logging``), not a format of its own."""

    def __init__(self, app: ASGIApp, host: str, port: int, sock: socket.socket | None = None) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", access_log=False, log_config=None
        )
        self._server = _Server(config)
        self._sockets = [sock] if sock is not None else None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port (after ``start``)."""
        (server,) = self._server.servers
        (sock,) = server.sockets
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        """Start serving; returns once the socket is bound. Raises ``OSError`` if it cannot bind."""
        self._task = asyncio.create_task(self._server.serve(self._sockets), name="http-server")
        while not self._server.started:
            if self._task.done():
                with contextlib.suppress(SystemExit):  # uvicorn exits the process when it cannot bind
                    self._task.result()
                config = self._server.config
                raise OSError(f"cannot serve the read API on {config.host}:{config.port} (address in use?)")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, SystemExit):
                await self._task
