"""The fault harness's one hand-wired command path.

T6 (``bench.faults.fuzz``) and T7/T8 (``bench.faults.security``) drive the real use cases
in-process, without Kafka. Everything they need from the service's composition is taken
here and nowhere else, from the service's composition root (``service.bootstrap``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from service.bootstrap import build_bus, build_dependencies
from service.bus import CommandBus
from service.expiry import InvitationExpiry
from service.ports import UnitOfWork
from service.settings import Settings
from service.usecases import USE_CASES, Dependencies, UseCase

__all__ = ["command_bus", "invitation_expiry", "service_dependencies", "use_case"]


def service_dependencies(database_url: str, clock: Callable[[], datetime]) -> Dependencies:
    """The service's own ``Dependencies`` for ``database_url`` (default settings otherwise),
    with the scenario's ``clock`` (a callable giving an aware UTC ``datetime``)."""
    return replace(build_dependencies(Settings(database_url=database_url)), clock=clock)


def command_bus(unit_of_work: Callable[[], UnitOfWork], deps: Dependencies, source: str) -> CommandBus:
    """The service's ``CommandBus`` over every use case, built by its composition root
    (``service.bootstrap.build_bus``) with the scenario's ``deps``; events carry ``source``."""
    return build_bus(unit_of_work, deps=deps, source=source)


def use_case(command_type: str) -> UseCase:
    """The real use case of ``command_type`` (e.g. ``AcceptPartnership``), to run without the bus.
    Raises ``KeyError`` for a type with no use case."""
    return USE_CASES[command_type]


def invitation_expiry(
    unit_of_work: Callable[[], UnitOfWork], deps: Dependencies, source: str, batch_size: int
) -> InvitationExpiry:
    """The real expiry task (INV-2), run by hand with ``run_once``; ``batch_size`` invitations a pass."""
    return InvitationExpiry(unit_of_work, deps, source, 1, batch_size)
