"""The use cases' ports: the unit of work (one transaction), its repositories, inbox, outbox
and timeline, and what a fetch will read (``Needs``)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Protocol, Self

from service.domain.admin_relationships import AdminRelationship
from service.domain.attribution import Attribute, AttributionLedger
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    Partner,
    Partnership,
    ResellerRelationship,
    Subscription,
)


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
    """An email waiting for the relay, which renders it when it sends: ``template`` in the
    requested ``locale`` for ``to``, with the JSON ``params`` (``EmailRequest``), plus what
    its events report."""

    email_id: str
    template: str
    locale: str
    to: str
    params: dict[str, Any]
    causation_id: str
    correlation_id: str
    key: bytes | None


@dataclass(frozen=True)
class TimelineEntry:
    """One change in a customer's history: the event, who caused it and by which command."""

    customer_tenant_id: str
    at: datetime
    event_id: str
    event_type: str
    data: dict[str, Any]
    actor_kind: str
    actor_tenant_id: str
    actor_user: str | None
    command_id: str
    command_type: str


@dataclass
class Needs:
    """The rows a fetch's commands will read, named by key or by scope, so that the unit of
    work loads (and, on PostgreSQL, locks) them with one query per table before any use
    case runs. Ids are strings; tenant ids of partners are compared lowercased.

    A row no ``Needs`` foresaw is still found: the repository queries it then (a loader
    miss, counted in ``partnerlink_loader_misses_total``)."""

    partners: set[str] = field(default_factory=set)
    """partner rows by MPN ID"""
    partner_tenants: set[str] = field(default_factory=set)
    """partner rows by Partner Center tenant id (lowercase)"""
    customers: set[str] = field(default_factory=set)
    """customer rows by tenant id, with every reseller relationship of the customer"""
    customer_subscriptions: set[str] = field(default_factory=set)
    """every subscription of these customers (with their attribution ledgers)"""
    subscriptions: set[str] = field(default_factory=set)
    """subscription rows by id, with their attribution ledgers"""
    partnerships: set[tuple[str, str]] = field(default_factory=set)
    """every partnership of these (provider, reseller) pairs"""
    pending_invitations: set[tuple[str, str, str]] = field(default_factory=set)
    """pending invitations of these (kind, inviter, invitee) triples"""
    pending_invitations_of: set[str] = field(default_factory=set)
    """pending partnership invitations a partner sent or received"""
    invitation_tokens: set[str] = field(default_factory=set)
    """invitations by token hash (any status)"""
    reseller_customers: set[str] = field(default_factory=set)
    """by indirect reseller MPN ID, what "associated with the reseller" reads (IR-8): the
    customers created for it, the subscriptions currently associated with it, and each of
    those customers with its reseller relationships"""
    relationships: set[str] = field(default_factory=set)
    """reseller relationships by id"""
    partnerships_by_id: set[str] = field(default_factory=set)
    """partnerships by id"""
    admin_relationships: set[str] = field(default_factory=set)
    """admin relationships by id (GDAP)"""
    admin_relationship_pairs: set[tuple[str, str]] = field(default_factory=set)
    """every admin relationship of these (partner, customer tenant) pairs (GD-1 display names)"""

    def update(self, other: Needs) -> Needs:
        """Add ``other``'s keys to these; returns ``self``."""
        for item in fields(self):
            getattr(self, item.name).update(getattr(other, item.name))
        return self

    def __bool__(self) -> bool:
        return any(getattr(self, item.name) for item in fields(self))


class PartnerRepository(Protocol):
    async def get(self, partner_id: str) -> Partner | None: ...
    async def get_by_tenant(self, tenant_id: str) -> Partner | None:
        """The partner whose Partner Center tenant is ``tenant_id`` (any of its locations)."""
        ...

    async def save(self, partner: Partner) -> None: ...


class CustomerRepository(Protocol):
    async def get(self, tenant_id: str) -> Customer | None: ...
    async def created_for(self, reseller_id: str) -> list[Customer]:
        """IR-5: customers created for the indirect reseller (by any provider), by tenant id."""
        ...

    async def save(self, customer: Customer) -> None: ...


class InvitationRepository(Protocol):
    async def get_by_token_hash(self, token_hash: str) -> Invitation | None:
        """The invitation, locked for this transaction (accept and decline race the expiry task)."""
        ...

    async def pending_for(
        self, kind: InvitationKind, inviter_id: str | None, invitee_id: str | None
    ) -> list[Invitation]:
        """Pending invitations of ``kind`` from ``inviter_id`` to ``invitee_id`` (``None``: any)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Invitation]:
        """Pending invitations with ``expires_at <= now``, oldest first, locked for this transaction."""
        ...

    async def reminders_due(self, now: datetime, before: timedelta, limit: int) -> list[Invitation]:
        """INV-4: pending invitations not reminded yet with ``now < expires_at <= now + before``,
        soonest first, locked for this transaction."""
        ...

    async def add(self, invitation: Invitation) -> None: ...
    async def save(self, invitation: Invitation) -> None: ...


class RelationshipRepository(Protocol):
    async def get(self, relationship_id: str) -> ResellerRelationship | None: ...
    async def find(self, partner_id: str, customer_tenant_id: str) -> ResellerRelationship | None:
        """The pair's active relationship if any, else its newest."""
        ...

    async def active_for_customer(self, customer_tenant_id: str) -> list[ResellerRelationship]: ...
    async def save(self, relationship: ResellerRelationship) -> None: ...


class PartnershipRepository(Protocol):
    async def get(self, partnership_id: str) -> Partnership | None: ...
    async def find(self, provider_id: str, reseller_id: str) -> Partnership | None:
        """The pair's active partnership if any, else its newest."""
        ...

    async def save(self, partnership: Partnership) -> None: ...


class AdminRelationshipRepository(Protocol):
    async def get(self, admin_relationship_id: str) -> AdminRelationship | None: ...
    async def of_pair(self, partner_id: str, customer_tenant_id: str) -> list[AdminRelationship]:
        """Every admin relationship of the partner with the customer, any status, oldest first."""
        ...

    async def due(self, now: datetime, limit: int) -> list[AdminRelationship]:
        """Active relationships whose ``next_check_at <= now``, earliest first, at most
        ``limit``, locked for this transaction; on PostgreSQL rows another transaction holds
        are passed by (``SKIP LOCKED``), so replicas never check one twice at once."""
        ...

    async def save(self, relationship: AdminRelationship) -> None: ...


class SubscriptionRepository(Protocol):
    async def get(self, subscription_id: str) -> Subscription | None: ...
    async def for_customer(self, customer_tenant_id: str) -> list[Subscription]: ...
    async def associated_with(self, reseller_id: str) -> list[Subscription]:
        """IR-6: subscriptions (any customer, any status) whose current reseller association is
        ``reseller_id``, by subscription id."""
        ...

    async def save(self, subscription: Subscription) -> None: ...


class AttributionRepository(Protocol):
    async def get(self, subscription_id: str, attribute: Attribute) -> AttributionLedger:
        """The ledger (empty if nothing was recorded yet)."""
        ...

    async def save(self, ledger: AttributionLedger) -> None: ...


class Timeline(Protocol):
    async def add(self, entries: Sequence[TimelineEntry]) -> None: ...


class Inbox(Protocol):
    async def seen_among(self, command_ids: Sequence[str]) -> set[str]:
        """Which of ``command_ids`` were processed already (one query for a batch)."""
        ...

    async def record(self, command_id: str, command_type: str) -> None: ...


class Outbox(Protocol):
    async def add_event(self, event: StagedEvent) -> None: ...
    async def add_email(self, email: StagedEmail) -> None: ...

    @property
    def holds_emails(self) -> bool:
        """Whether this unit of work staged an email (the relay's email senders need waking)."""
        ...


class UnitOfWork(Protocol):
    """One database transaction: state, inbox and outbox commit together or not at all."""

    partners: PartnerRepository
    customers: CustomerRepository
    invitations: InvitationRepository
    relationships: RelationshipRepository
    partnerships: PartnershipRepository
    subscriptions: SubscriptionRepository
    attributions: AttributionRepository
    admin_relationships: AdminRelationshipRepository
    timeline: Timeline
    inbox: Inbox
    outbox: Outbox

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def load(self, needs: Needs) -> None:
        """Load (and lock) the rows ``needs`` names that this unit of work does not hold yet:
        one query per table and kind of key. Afterwards the repositories answer for them
        from memory."""
        ...

    async def commit(self) -> None: ...
    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """``async with uow.savepoint(): ...``: if the block raises, its writes are undone
        (in memory: no statement is sent) and the exception goes on; the transaction stays
        open."""
        ...
