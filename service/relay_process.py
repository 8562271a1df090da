"""The outbox relay as the composition root builds it: in the service's event loop, or in a
child process of its own (``PARTNERLINK_RELAY_MODE``, ``Settings.relay_in_own_process``).

In its own process (PostgreSQL only) the relay renders and sends emails and publishes events
on the machine's second core while the service's one Python thread applies commands. It is
the same ``OutboxRelay`` over the same tables: lanes and exclusive email claims already make
several relays safe, so a relay that dies and is started again loses and doubles nothing. The
command path needs no wake-up call: migration 0010's triggers NOTIFY on commit and the child
listens (``service.adapters.outbox_wakeups``). The child's own outbox inserts (the events of
email outcomes) send no NOTIFY (migration 0011, ``outbox_notify=False``): the relay wakes its
events loop itself after writing them.

The child is spawned (a fresh interpreter, ``multiprocessing``'s ``spawn``) with the parent's
``Settings``; it stops on SIGTERM after draining (``OutboxRelay.stop``), ignores SIGINT (the
parent, which a Ctrl-C also reaches, stops it) and gets SIGTERM if the parent dies (Linux
``PR_SET_PDEATHSIG``). The parent restarts a child that exited on its own after a back-off
(1 s doubling to 30 s), and logs why. The child's email counts reach the parent over a pipe
(every ``COUNTS_EVERY_SECONDS`` and when it stops), so the service's ``/metrics`` keeps
``partnerlink_emails_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from service import metrics
from service.adapters.database import create_engine
from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.adapters.notifications import KafkaMailer, PublishNotification
from service.adapters.outbox_store import SqlOutboxStore
from service.adapters.outbox_wakeups import outbox_wakeups
from service.adapters.smtp import SmtpSender
from service.broker_wiring import event_publisher, notification_publisher
from service.heap import settle_heap
from service.logging import configure_logging
from service.ports import Mailer
from service.relay import OutboxRelay, Publish
from service.settings import Settings

log = structlog.get_logger(__name__)

RESTART_BACKOFF_SECONDS = (1.0, 30.0)
"""A child that exited on its own is started again after 1 s, doubling up to 30 s; a child
that ran for a minute resets the back-off."""

PR_SET_PDEATHSIG = 1

COUNTS_EVERY_SECONDS = 1.0
"""How often the child sends the parent its new email counts."""


def build_composer(settings: Settings) -> JinjaEmailComposer:
    """The relay's email renderer: ``templates_dir`` (default: the installed templates)."""
    return JinjaEmailComposer(
        settings.templates_dir or default_templates_dir(), settings.mail_from, lambda: datetime.now(UTC)
    )


def mailer_factory(
    settings: Settings, publish_notification: PublishNotification | None
) -> Callable[[], Mailer]:
    """The relay's mail transport: SMTP, or with ``email_transport=kafka`` the notifications
    topic through ``publish_notification``."""
    if settings.email_transport == "kafka":
        if publish_notification is None:
            raise ValueError("email_transport=kafka needs a publisher for the notifications topic")
        publish = publish_notification
        return lambda: KafkaMailer(publish, settings.event_source)
    return lambda: SmtpSender(settings)


def build_relay(
    settings: Settings,
    engine: AsyncEngine,
    publish: Publish,
    publish_notification: PublishNotification | None,
) -> OutboxRelay:
    """The relay over ``engine``'s outbox: events through ``publish``, emails by SMTP (or the
    notifications topic), rendered from the templates of ``settings``."""
    return OutboxRelay(
        SqlOutboxStore(engine),
        publish,
        mailer_factory(settings, publish_notification),
        build_composer(settings),
        settings,
        lambda: str(uuid.uuid4()),
    )


class RelayProcess:
    """``RelayRunner`` of a relay in a child process: ``start()`` spawns it and watches it,
    ``stop(timeout)`` sends SIGTERM and waits up to ``timeout`` + 5 s (then SIGKILL);
    ``wake`` does nothing (the commit's NOTIFY wakes the child)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._started_at = 0.0
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        """The running child's process id (``None`` before ``start``)."""
        return self._process.pid if self._process is not None else None

    def wake(self, emails: bool = True) -> None:
        """Nothing to do: PostgreSQL NOTIFYs the child when the commit lands."""

    def start(self) -> None:
        self._spawn()
        self._watcher = asyncio.create_task(self._watch(), name="relay-process-watch")

    def _spawn(self) -> None:
        receiving, sending = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_relay,
            args=(self._settings, os.getpid(), sending),
            name="partnerlink-relay",
            daemon=False,
        )
        process.start()
        sending.close()  # the child's end: the parent reads EOF once the child is gone
        self._receive_counts(receiving)
        self._process, self._started_at = process, time.monotonic()
        log.info("relay.process_started", pid=process.pid)

    def _receive_counts(self, receiving: Connection) -> None:
        """Add the email counts the child sends to this process's metrics, until EOF."""
        loop = asyncio.get_running_loop()

        def readable() -> None:
            try:
                while receiving.poll():
                    metrics.add_email_counts(receiving.recv())
            except (EOFError, OSError):
                loop.remove_reader(receiving.fileno())
                receiving.close()

        loop.add_reader(receiving.fileno(), readable)

    async def _watch(self) -> None:
        """Start the child again (after the back-off) whenever it exits on its own."""
        backoff, most = RESTART_BACKOFF_SECONDS
        while not self._stopping:
            await asyncio.sleep(0.5)
            process = self._process
            if process is None or process.is_alive() or self._stopping:
                continue
            if time.monotonic() - self._started_at >= 60:
                backoff = RESTART_BACKOFF_SECONDS[0]
            log.error("relay.process_exited", exitcode=process.exitcode, restart_in_seconds=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, most)
            if not self._stopping:
                self._spawn()

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        process = self._process
        if process is None or not process.is_alive():
            return
        process.terminate()
        await asyncio.to_thread(process.join, timeout + 5)
        if process.is_alive():
            log.error("relay.process_killed", pid=process.pid, waited_seconds=timeout + 5)
            process.kill()
            await asyncio.to_thread(process.join, 5)


# ----------------------------------------------------------------------------- the child


def run_relay(settings: Settings, parent_pid: int, counts: Connection) -> None:
    """The child's entry point: relay until SIGTERM (or the parent's death), then drain;
    email counts go to the parent over ``counts``."""
    _exit_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(settings.log_level, settings.log_json)
    try:
        asyncio.run(_relay_until_terminated(settings, parent_pid, CountsSender(counts)))
    finally:
        counts.close()


class CountsSender:
    """Sends the parent what ``partnerlink_emails_total`` gained since the last send."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._sent: dict[str, float] = {}

    def send(self) -> None:
        now = metrics.email_counts()
        gained = {outcome: n - self._sent.get(outcome, 0.0) for outcome, n in now.items()}
        gained = {outcome: n for outcome, n in gained.items() if n}
        if gained:
            with contextlib.suppress(OSError):  # the parent is gone: nobody to tell
                self._connection.send(gained)
            self._sent = now


def _exit_with_parent(parent_pid: int) -> None:
    """SIGTERM when the parent dies (Linux); elsewhere the child's watch loop notices."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before the line above
        raise SystemExit(0)


async def _relay_until_terminated(settings: Settings, parent_pid: int, counts: CountsSender) -> None:
    terminated = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
    engine = create_engine(settings.database_url, settings.pool_size(), outbox_notify=False)
    try:
        async with _running_relay(settings, engine) as relay:
            settle_heap(settings.gc_young_threshold)
            log.info("relay.started", pid=os.getpid(), parent_pid=parent_pid)
            while not terminated.is_set() and os.getppid() == parent_pid:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(terminated.wait(), COUNTS_EVERY_SECONDS)
                counts.send()
            await relay.stop()
            counts.send()
    finally:
        await engine.dispose()
    log.info("relay.stopped", pid=os.getpid())


@contextlib.asynccontextmanager
async def _running_relay(settings: Settings, engine: AsyncEngine) -> AsyncIterator[OutboxRelay]:
    """The relay, started, with its producers and its NOTIFY listener."""
    async with AsyncExitStack() as stack:
        publish = await stack.enter_async_context(event_publisher(settings))
        notify = None
        if settings.email_transport == "kafka":
            notify = await stack.enter_async_context(notification_publisher(settings))
        relay = build_relay(settings, engine, publish, notify)
        await stack.enter_async_context(outbox_wakeups(engine, relay.wake))
        relay.start()
        yield relay
