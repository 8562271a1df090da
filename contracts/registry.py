"""Type name → model maps for every command and event of the contract."""

from __future__ import annotations

import inspect

from pydantic import BaseModel

from contracts import commands, events


def _members(module: object, base: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The models of ``module`` that extend ``base``, except those another one extends (a shared
    base such as ``events.InvitationEvent``), by class name."""
    found = {
        name: cls
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, base) and cls is not base and cls.__module__ == getattr(module, "__name__", "")
    }
    return {
        name: cls
        for name, cls in found.items()
        if not any(other is not cls and issubclass(other, cls) for other in found.values())
    }


COMMANDS: dict[str, type[BaseModel]] = _members(commands, commands.Command)
"""Every command ``type`` → its ``data`` model."""

EVENTS: dict[str, type[BaseModel]] = _members(events, events.Outbound)
"""Every event ``type`` → its ``data`` model."""


def command_model(type_: str) -> type[BaseModel] | None:
    """The model of command ``type_``, or ``None`` for an unknown type."""
    return COMMANDS.get(type_)


def event_model(type_: str) -> type[BaseModel] | None:
    """The model of event ``type_``, or ``None`` for an unknown type."""
    return EVENTS.get(type_)
