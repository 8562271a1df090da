"""What every use case receives and returns."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from contracts.commands import CustomerDetails
from service.domain.actors import ActorRef
from service.domain.admin_relationships import DEFAULT_WARNING_DAYS, REQUEST_TTL
from service.domain.entra_roles import RoleTable, entra_roles
from service.domain.model import Customer
from service.domain.regions import RegionMap
from service.ports import UnitOfWork


def customer_record(details: CustomerDetails, **kept: Any) -> Customer:
    """The domain ``Customer`` a command's customer details describe; ``kept``: the fields the
    details do not carry (``customer_agreement_accepted_at``, ``provider_id``, ...)."""
    return Customer(
        details.tenant_id,
        details.company_name,
        details.country,
        details.cloud,
        details.is_csp_partner,
        str(details.admin_email),
        details.locale,
        **kept,
    )


@dataclass(frozen=True)
class EmailRequest:
    """An email to send once the transaction commits; the relay renders it when it sends.

    ``template``: a folder of ``templates/email``; ``locale``: the one requested (the relay
    falls back to the same language, then en-US); ``to``: the one recipient; ``params``: the
    template's values as JSON (``json_params``); they carry the invitation link, so the
    outbox forgets them once the email is sent or has failed for good.
    """

    email_id: str
    template: str
    locale: str
    to: str
    params: dict[str, Any]


def json_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as JSON values, as the outbox stores an email's parameters: a datetime
    becomes its ISO 8601 text (``2026-12-05T10:00:00+00:00``), a dataclass (``Offer``) a
    dict of its fields, lists and dicts are converted item by item; ``str``, ``int``,
    ``float``, ``bool`` and ``None`` stay. Raises ``TypeError`` for any other value."""
    return {str(name): _json_value(value) for name, value in values.items()}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return json_params(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    raise TypeError(f"an email parameter cannot be stored as JSON: {type(value).__name__}")


@dataclass(frozen=True)
class Dependencies:
    """Long-lived collaborators of the use cases, built once by the composition root."""

    clock: Callable[[], datetime]
    regions: RegionMap
    link_bases: Mapping[str, str]
    """cloud → invitation link base URL (RR-6)"""
    invitation_ttl: timedelta
    new_token: Callable[[], tuple[str, str]]
    new_id: Callable[[], str]
    admin_request_ttl: timedelta = REQUEST_TTL
    """GD-5: how long an admin relationship's request waits for approval"""
    admin_warning_days: tuple[int, ...] = DEFAULT_WARNING_DAYS
    """GD-7: warning thresholds before an admin relationship ends, largest first (days)"""
    roles: RoleTable = field(default_factory=entra_roles)
    """GD-1: the Entra built-in roles that may be requested"""


@dataclass
class Effects:
    """What a use case wants published (events) and sent (emails) once its transaction commits."""

    events: list[BaseModel] = field(default_factory=list)
    emails: list[EmailRequest] = field(default_factory=list)


UseCase = Callable[[Any, ActorRef, UnitOfWork, Dependencies], Awaitable[Effects]]
