"""What every use case receives and returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from contracts.commands import CustomerDetails
from service.domain.actors import ActorRef
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
class ComposedEmail:
    """A rendered multipart email: RFC 5322 bytes and the metadata its events report."""

    email_id: str
    template: str
    locale: str
    to: str
    message: bytes


class EmailComposer(Protocol):
    def compose(self, template: str, locale: str, to: str, context: Mapping[str, Any]) -> ComposedEmail:
        """Render ``template`` in ``locale`` (fallback en-US) for ``to``."""
        ...


@dataclass(frozen=True)
class Dependencies:
    """Long-lived collaborators of the use cases, built once by the composition root."""

    clock: Callable[[], datetime]
    regions: RegionMap
    link_bases: Mapping[str, str]
    """cloud → invitation link base URL (RR-6)"""
    invitation_ttl: timedelta
    composer: EmailComposer
    new_token: Callable[[], tuple[str, str]]
    new_id: Callable[[], str]


@dataclass
class Effects:
    """What a use case wants published (events) and sent (emails) once its transaction commits."""

    events: list[BaseModel] = field(default_factory=list)
    emails: list[ComposedEmail] = field(default_factory=list)


Handler = Callable[[Any, ActorRef, UnitOfWork, Dependencies], Awaitable[Effects]]
