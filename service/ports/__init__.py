"""Ports: what the use cases and the outbox relay need from the outside world, as protocols.

For the use cases: repositories, inbox, outbox, timeline, the unit of work. For the relay
(``service.relay``, which publishes staged events and sends staged emails through these
only): the outbox's storage (``OutboxStore``), the email composer (``EmailRenderer``: a staged
email's template and parameters to a message) and the mail server (``Mailer``).

Adapters implement them (``service.adapters``: ``uow`` and ``outbox_store`` for SQLAlchemy,
``email`` the composer, ``smtp`` and ``notifications`` the mailers); tests use small fakes.
The use cases' ports are in ``unit_of_work``, the relay's in ``outbox_relay``; everyone
imports them from here.
"""

from service.ports.outbox_relay import (
    EmailClaim,
    EmailNotRenderable,
    EmailOutcome,
    EmailRenderer,
    EmailStatus,
    MailAmbiguousError,
    Mailer,
    MailError,
    MailPermanentError,
    MailTemporaryError,
    OutboxStore,
    PendingEmail,
    PendingEvent,
    RelayRunner,
    RenderedEmail,
)
from service.ports.unit_of_work import (
    AdminRelationshipRepository,
    AttributionRepository,
    CustomerRepository,
    DuplicateCommit,
    Inbox,
    InvitationRepository,
    Needs,
    Outbox,
    PartnerRepository,
    PartnershipRepository,
    RelationshipRepository,
    StagedEmail,
    StagedEvent,
    SubscriptionRepository,
    Timeline,
    TimelineEntry,
    UnitOfWork,
)

__all__ = [
    "AdminRelationshipRepository",
    "AttributionRepository",
    "CustomerRepository",
    "DuplicateCommit",
    "EmailClaim",
    "EmailNotRenderable",
    "EmailOutcome",
    "EmailRenderer",
    "EmailStatus",
    "Inbox",
    "InvitationRepository",
    "MailAmbiguousError",
    "MailError",
    "MailPermanentError",
    "MailTemporaryError",
    "Mailer",
    "Needs",
    "Outbox",
    "OutboxStore",
    "PartnerRepository",
    "PartnershipRepository",
    "PendingEmail",
    "PendingEvent",
    "RelationshipRepository",
    "RelayRunner",
    "RenderedEmail",
    "StagedEmail",
    "StagedEvent",
    "SubscriptionRepository",
    "Timeline",
    "TimelineEntry",
    "UnitOfWork",
]
