"""A real SMTP server on loopback that drops every received message into a folder.

Built on ``aiosmtpd``'s threaded :class:`~aiosmtpd.controller.Controller`; the server
runs its own event loop in a background thread, so it works from sync and async
code alike.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller

__all__ = ["FileMailbox"]

_ACCEPTED = "250 Message accepted for delivery"
_COUNTER_WIDTH = 8
_NAME_RE = re.compile(r"^(\d+)-[0-9a-f]{32}\.eml$")
_POLL_S = 0.05


def _free_tcp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class _FolderHandler:
    """aiosmtpd handler: each DATA becomes ``<counter>-<uuid4 hex>.eml`` in a folder."""

    def __init__(self, mailbox: FileMailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Store the raw message bytes and the envelope; reply 250."""
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", errors="surrogateescape")
        self._mailbox._store(
            str(envelope.mail_from or ""),
            [str(rcpt) for rcpt in envelope.rcpt_tos],
            bytes(content),
        )
        return _ACCEPTED


class FileMailbox:
    """Loopback SMTP server (aiosmtpd) that writes each message as an ``.eml`` file.

    Files are named ``<counter zero-padded to 8>-<uuid4 hex>.eml`` and written
    atomically (temp file + rename), so sorting by name gives arrival order.
    ``directory=None`` uses a fresh temporary folder that is deleted by ``stop``.
    ``port=None`` picks a free port. ``envelopes`` holds ``(mail_from, rcpt_tos)``
    per received message, in arrival order.

    Sync use: ``with FileMailbox() as mb:`` (or ``start_sync()``/``stop_sync()``);
    async use: ``async with FileMailbox() as mb:`` (or ``await start()``/``stop()``).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port: int = port or 0
        """SMTP port; the real one once started (0 before start when picking a free port)."""
        self._owns_directory = directory is None
        self._given_directory = Path(directory) if directory is not None else None
        self.directory: Path = self._given_directory or Path()
        """Folder the ``.eml`` files are written to (valid once started)."""
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()
        self._counter: itertools.count[int] = itertools.count(1)
        self._controller: Controller | None = None

    # ------------------------------------------------------------------ lifecycle
    def start_sync(self) -> None:
        """Start the SMTP server (blocking, about a few ms). ``RuntimeError`` if running."""
        if self._controller is not None:
            raise RuntimeError("FileMailbox is already started")
        if self._given_directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="partnerlink-mailbox-"))
        else:
            self.directory = self._given_directory
            self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(self._next_counter_start())
        self.port = self._requested_port or _free_tcp_port(self.host)
        controller = Controller(
            _FolderHandler(self),
            hostname=self.host,
            port=self.port,
            enable_SMTPUTF8=True,
        )
        controller.start()
        self._controller = controller

    def stop_sync(self) -> None:
        """Stop the server; delete the folder if it was a temporary one. Idempotent."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
            if self._owns_directory:
                shutil.rmtree(self.directory, ignore_errors=True)

    async def start(self) -> None:
        """Async :meth:`start_sync` (runs in a worker thread)."""
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        """Async :meth:`stop_sync` (runs in a worker thread)."""
        await asyncio.to_thread(self.stop_sync)

    def __enter__(self) -> Self:
        self.start_sync()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ reading
    def message_paths(self) -> list[Path]:
        """Paths of the stored ``.eml`` files, sorted by name (= arrival order)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.eml"), key=lambda p: p.name)

    def messages(self) -> list[EmailMessage]:
        """All stored messages parsed with ``email.policy.default``, in arrival order."""
        parser = BytesParser(_class=EmailMessage, policy=default_policy)
        return [parser.parsebytes(path.read_bytes()) for path in self.message_paths()]

    async def wait_for(
        self,
        predicate: Callable[[EmailMessage], bool],
        timeout: float,  # noqa: ASYNC109
    ) -> EmailMessage:
        """Return the first stored message matching ``predicate``, polling every 50 ms.

        ``timeout`` is in seconds; raises ``TimeoutError`` when nothing matched in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages():
                if predicate(message):
                    return message
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"no matching message in {self.directory} within {timeout:g} s "
                    f"({len(self.message_paths())} stored)"
                )
            await asyncio.sleep(_POLL_S)

    # ------------------------------------------------------------------ writing
    def _store(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        """Write one message atomically and record its envelope (called by the handler)."""
        with self._lock:
            number = next(self._counter)
            name = f"{number:0{_COUNTER_WIDTH}d}-{uuid.uuid4().hex}.eml"
            final = self.directory / name
            tmp = self.directory / f".{name}.tmp"
            with tmp.open("wb") as fh:
                fh.write(content)
            os.replace(tmp, final)
            self.envelopes.append((mail_from, list(rcpt_tos)))
        return final

    def _next_counter_start(self) -> int:
        highest = 0
        for path in self.directory.glob("*.eml"):
            match = _NAME_RE.match(path.name)
            if match:
                highest = max(highest, int(match.group(1)))
        return highest + 1
