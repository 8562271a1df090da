"""Ports: what the use cases and the outbox relay need from the outside world, as protocols.

For the use cases: repositories, inbox, outbox, timeline, the unit of work. For the relay
(``service.relay``, which publishes staged events and sends staged emails through these
only): the outbox's storage (``OutboxStore``), the email composer (``EmailRenderer``: a staged
email's template and parameters to a message) and the mail server (``Mailer``).

Adapters implement them (``service.adapters``: ``uow`` and ``outbox_store`` for SQLAlchemy,
``email`` the composer, ``smtp`` and ``notifications`` the mailers); tests use small fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, Self

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


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class PendingEvent:
    """A staged event in the outbox: its order ``seq``, Kafka ``key`` and CloudEvent ``payload``."""

    seq: int
    key: bytes | None
    payload: bytes


# --------------------------------------------------------------------------- emails

EmailStatus = Literal["pending", "sent", "failed"]


@dataclass(frozen=True)
class PendingEmail:
    """A staged email that is due, as claimed by a relay.

    ``params``: the template's values (``None`` for a row staged before they existed, whose
    rendered bytes are ``message``); ``attempts`` and ``ambiguous_attempts`` so far;
    ``created_at`` starts the give-up clock; ``key``: the Kafka key of its outcome event.
    """

    seq: int
    email_id: str
    template: str
    locale: str
    recipient: str
    params: dict[str, Any] | None
    message: bytes | None
    causation_id: str
    correlation_id: str
    key: bytes | None
    attempts: int
    ambiguous_attempts: int
    created_at: datetime


@dataclass(frozen=True)
class EmailOutcome:
    """What one attempt at an email changed.

    ``status`` ``sent`` or ``failed``: the email is done at ``at``; its parameters and
    rendered bytes are deleted (they carry the link) and ``event`` (``EmailSent`` or
    ``EmailFailed``) is staged. ``pending``: try again at ``retry_at``; nothing is staged.
    """

    seq: int
    status: EmailStatus
    attempts: int
    ambiguous_attempts: int
    at: datetime
    last_error: str | None = None
    retry_at: datetime | None = None
    event: StagedEvent | None = None


class EmailClaim(Protocol):
    """Due emails this relay holds: no other relay claims them until the claim ends."""

    emails: Sequence[PendingEmail]

    def held(self) -> bool:
        """False once the claim may have been lost (its connection closed): send no more of it."""
        ...


class OutboxStore(Protocol):
    """The outbox tables as the relay sees them. Database errors propagate (the relay's
    loops log them and retry with backoff)."""

    exclusive_claims: bool
    """True when concurrent claims never hold the same email, so several senders may run;
    False: one sender only."""

    def take_events(self, limit: int) -> AbstractAsyncContextManager[Sequence[PendingEvent]]:
        """The oldest ``limit`` staged events, in ``seq`` order, taken out of the outbox in one
        transaction: gone once the block ends without error, back if it raises. Only the
        events of the lanes (``service.lanes``) no other relay holds are taken, so each
        key's events leave in commit order whichever relay takes them."""
        ...

    def claim_emails(
        self, now: datetime, limit: int, senders: int = 1
    ) -> AbstractAsyncContextManager[EmailClaim]:
        """Up to ``limit`` pending emails due at ``now``, oldest first, held until the block
        ends; nothing is written, so a relay that dies leaves them due at once. ``senders``
        share the due emails: when few are due, a claim takes its share (rounded up)."""
        ...

    async def record_emails(self, outcomes: Sequence[EmailOutcome]) -> None:
        """Record ``outcomes`` and stage their events in one transaction (durable on return)."""
        ...


# --------------------------------------------------------------------------- rendering


class EmailNotRenderable(ValueError):
    """The email cannot be rendered: unknown template, parameters the template cannot use,
    or a message that would not have exactly its headers and one recipient. Permanent."""


@dataclass(frozen=True)
class RenderedEmail:
    """An RFC 5322 ``message`` (bytes, CRLF) and the ``locale`` it was rendered in."""

    locale: str
    message: bytes


class EmailRenderer(Protocol):
    def render(
        self, email_id: str, template: str, locale: str, to: str, params: dict[str, Any]
    ) -> RenderedEmail:
        """``template`` in ``locale`` (else the same language, else en-US) for ``to``; the
        ``Message-ID`` is derived from ``email_id``, so a resend carries the same one.
        Raises ``EmailNotRenderable``."""
        ...


# --------------------------------------------------------------------------- mail server


class MailError(Exception):
    """A failed send; ``code`` is the server's reply code when there was one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MailTemporaryError(MailError):
    """Retry later: a 4xx reply, the server unreachable, a timeout before the message was sent."""


class MailAmbiguousError(MailTemporaryError):
    """The connection failed after the message was sent and before the reply: it may have
    been delivered."""


class MailPermanentError(MailError):
    """A 5xx reply: do not retry."""


class Mailer(Protocol):
    async def send(self, mail_from: str, to: str, message: bytes, email: PendingEmail | None = None) -> None:
        """Deliver ``message`` to ``to`` (``email``: the outbox row it was rendered from, for a
        transport that names its cause). Raises ``MailTemporaryError``, ``MailAmbiguousError``
        or ``MailPermanentError``."""
        ...

    async def close(self) -> None: ...
