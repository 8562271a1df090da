"""The Microsoft Entra built-in roles an admin relationship may ask for (GD-1, GD-3).

The table is data, never typed by hand: ``data/entra_roles.json`` holds the "All roles"
table of Microsoft's Entra permissions reference (role name, its one-line description,
its template id, and whether the reference labels it privileged), with the page's
address, the commit it was taken from and its date. Template ids are immutable GUIDs;
names and descriptions are Microsoft's English text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

NOT_FOR_GENERAL_USE = (
    "Do not use - not intended for general use.",
    "Only used by Microsoft Entra Connect service.",
)
"""Descriptions with which the reference itself says a role is not for people to hold:
such roles are in the table but cannot be requested (``unknown_role``, GD-1)."""

GLOBAL_ADMINISTRATOR_NAME = "Global Administrator"
"""GD-3: auto-extend is not allowed when the roles include this one (looked up by name)."""


@dataclass(frozen=True)
class EntraRole:
    """One built-in role: ``template_id`` (lower-case GUID), ``name``, ``description`` (one
    line of what it allows) and ``privileged`` (the reference's label)."""

    template_id: str
    name: str
    description: str
    privileged: bool

    @property
    def requestable(self) -> bool:
        """GD-1: a partner may ask for it (the reference does not reserve it)."""
        return self.description not in NOT_FOR_GENERAL_USE


@dataclass(frozen=True)
class RoleTable:
    """The shipped table: ``roles`` by template id, plus where it was taken from."""

    roles: Mapping[str, EntraRole]
    source: Mapping[str, Any]

    def get(self, template_id: str) -> EntraRole | None:
        """The role with ``template_id`` (any case), or ``None``."""
        return self.roles.get(template_id.lower())

    def by_name(self, name: str) -> EntraRole:
        """The role named ``name``. Raises ``KeyError``."""
        for role in self.roles.values():
            if role.name == name:
                return role
        raise KeyError(name)

    def unknown(self, template_ids: Iterable[str]) -> list[str]:
        """The ids of ``template_ids`` that are not requestable built-in roles, in order."""
        return [t for t in template_ids if (role := self.get(t)) is None or not role.requestable]

    @property
    def global_administrator(self) -> str:
        """GD-3: the Global Administrator's template id, from the table."""
        return self.by_name(GLOBAL_ADMINISTRATOR_NAME).template_id


@cache
def entra_roles() -> RoleTable:
    """The table shipped in ``service/domain/data/entra_roles.json`` (read once)."""
    text = files("service.domain").joinpath("data/entra_roles.json").read_text(encoding="utf-8")
    document = json.loads(text)
    roles = {
        row["template_id"].lower(): EntraRole(
            row["template_id"].lower(), row["name"], row["description"], bool(row["privileged"])
        )
        for row in document.pop("roles")
    }
    return RoleTable(roles, document)
