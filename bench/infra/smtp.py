"""An SMTP sink on loopback that records every message in memory and can misbehave on demand.

Modes (``sink.mode = ...`` at any time, thread-safe):

* ``accept``: reply 250 and record the message as delivered;
* ``reply:<code>``: reply ``<code>`` to DATA (e.g. 421, 451: try later; 550: refused for good);
* ``hang``: read the whole message, then never reply (the client's timeout decides); the
  message is recorded as *ambiguous*: the server had it but never said so.

``stop()`` / ``start()`` take the server down and bring it back on the same port (an outage).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

from tools.embedded.broker import free_tcp_port

HANG_SECONDS = 3600.0


@dataclass(frozen=True)
class ReceivedEmail:
    """One message the sink received: envelope, parsed message, raw size (bytes), arrival (s)."""

    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    size: int
    arrived: float
    acknowledged: bool
    """True when the sink replied 250; False for a message it kept but never acknowledged."""

    @property
    def email_id(self) -> str:
        return str(self.message.get("X-Partnerlink-Email-Id", ""))


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mode = self._sink.mode
        if mode.startswith("reply:"):
            code = int(mode.split(":", 1)[1])
            self._sink._count_refusal(code)
            return f"{code} {'try again later' if code < 500 else 'refused'} (fault injected)"
        self._sink._record(envelope, acknowledged=mode != "hang")
        if mode == "hang":
            await asyncio.sleep(HANG_SECONDS)
        return "250 OK"


class SmtpSink:
    """``sink.start()``; ``sink.messages``; ``sink.mode = "reply:451"``; ``sink.stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_tcp_port(host)
        self.mode = "accept"
        self.messages: list[ReceivedEmail] = []
        self.on_delivered: Callable[[ReceivedEmail], None] | None = None
        """Called (in the server's thread) with each message the sink acknowledged."""
        self.refusals: dict[int, int] = {}
        """SMTP code → how many DATA commands the sink refused with it."""
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._parser = BytesParser(_class=EmailMessage, policy=default_policy)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen (in a background thread); about a few ms."""
        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port, enable_SMTPUTF8=True)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        """Close the listening socket and every session (the server is down)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def delivered(self) -> list[ReceivedEmail]:
        """Messages the sink acknowledged with 250, in arrival order."""
        with self._lock:
            return [m for m in self.messages if m.acknowledged]

    def ambiguous(self) -> list[ReceivedEmail]:
        """Messages the sink read in full but never acknowledged (``hang`` mode)."""
        with self._lock:
            return [m for m in self.messages if not m.acknowledged]

    def _record(self, envelope: Any, acknowledged: bool) -> None:
        content = envelope.original_content or envelope.content
        raw = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else bytes(content)
        received = ReceivedEmail(
            str(envelope.mail_from or ""),
            tuple(str(r) for r in envelope.rcpt_tos),
            self._parser.parsebytes(raw),
            len(raw),
            time.monotonic(),
            acknowledged,
        )
        with self._lock:
            self.messages.append(received)
        if acknowledged and self.on_delivered is not None:
            self.on_delivered(received)

    def _count_refusal(self, code: int) -> None:
        with self._lock:
            self.refusals[code] = self.refusals.get(code, 0) + 1
