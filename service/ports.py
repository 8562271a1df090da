"""Ports: what use cases need from the outside world (repositories, inbox, outbox, unit of work).

Adapters implement them for SQLAlchemy (``service.adapters``); tests use small fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Self

from service.domain.model import Customer, Invitation, Partner, ResellerRelationship, Subscription


class DuplicateCommit(Exception):
    """The inbox already held the command when we committed (a concurrent redelivery)."""


@dataclass(frozen=True)
class StagedEvent:
    """A CloudEvent ready for ``partnerlink.events``: Kafka ``key`` and the JSON ``payload`` (bytes)."""

    event_id: str
    key: bytes | None
    payload: bytes


@dataclass(frozen=True)
class StagedEmail:
    """A rendered email waiting for SMTP: RFC 5322 ``message`` bytes plus what its events report."""

    email_id: str
    template: str
    locale: str
    to: str
    message: bytes
    causation_id: str
    correlation_id: str
    key: bytes | None


class PartnerRepository(Protocol):
    async def get(self, partner_id: str) -> Partner | None: ...
    async def save(self, partner: Partner) -> None: ...


class CustomerRepository(Protocol):
    async def get(self, tenant_id: str) -> Customer | None: ...
    async def save(self, customer: Customer) -> None: ...


class InvitationRepository(Protocol):
    async def get_by_token_hash(self, token_hash: str) -> Invitation | None: ...
    async def add(self, invitation: Invitation) -> None: ...
    async def save(self, invitation: Invitation) -> None: ...


class RelationshipRepository(Protocol):
    async def get(self, relationship_id: str) -> ResellerRelationship | None: ...
    async def find(self, partner_id: str, customer_tenant_id: str) -> ResellerRelationship | None:
        """The pair's active relationship if any, else its newest."""
        ...

    async def save(self, relationship: ResellerRelationship) -> None: ...


class SubscriptionRepository(Protocol):
    async def get(self, subscription_id: str) -> Subscription | None: ...
    async def save(self, subscription: Subscription) -> None: ...


class Inbox(Protocol):
    async def seen(self, command_id: str) -> bool: ...
    async def record(self, command_id: str, command_type: str) -> None: ...


class Outbox(Protocol):
    async def add_event(self, event: StagedEvent) -> None: ...
    async def add_email(self, email: StagedEmail) -> None: ...


class UnitOfWork(Protocol):
    """One database transaction: state, inbox and outbox commit together or not at all."""

    partners: PartnerRepository
    customers: CustomerRepository
    invitations: InvitationRepository
    relationships: RelationshipRepository
    subscriptions: SubscriptionRepository
    inbox: Inbox
    outbox: Outbox

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
