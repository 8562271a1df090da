"""The read side: SQLAlchemy Core queries answering ``contracts/read.py`` models.

Every function takes the service's ``AsyncEngine``, uses ONE connection for its whole
answer and writes nothing. On PostgreSQL that connection is a read-only
``REPEATABLE READ`` transaction, so the several statements of one answer see a single
snapshot; on SQLite (one writer, WAL) each statement sees committed state. Connections
go back to the pool with their transaction rolled back.

Errors: ``None`` where the thing asked about does not exist (the HTTP layer turns it
into 404); database failures propagate as ``sqlalchemy.exc`` errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import exists, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.read import (
    AttributionHistory,
    AttributionInterval,
    CustomerPartner,
    CustomerPartners,
    CustomerTimeline,
    ProviderCustomer,
    ProviderCustomers,
    ProviderReseller,
    ProviderResellers,
    SubscriptionAttribution,
    SupportContact,
    TimelineActor,
    TimelineEntry,
)
from service.adapters import orm
from service.adapters.database import READ_ONLY
from service.domain.attribution import Attribute, Attribution, AttributionLedger
from service.domain.model import PartnershipStatus, RelationshipStatus, SubscriptionStatus

ACTIVE_RELATIONSHIP = RelationshipStatus.ACTIVE.value
ACTIVE_PARTNERSHIP = PartnershipStatus.ACTIVE.value
ACTIVE_SUBSCRIPTION = SubscriptionStatus.ACTIVE.value


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One pooled connection for one answer, on one read-only snapshot (SQLite: a plain
    ``BEGIN``, which takes no write lock)."""
    async with engine.execution_options(**{READ_ONLY: True}).connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        yield conn


async def database_ready(engine: AsyncEngine) -> bool:
    """``SELECT 1`` on a pooled connection: ``True`` when it answers ``1``.

    Raises what the driver raises when the database cannot be reached; the caller
    bounds the time it waits.
    """
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT 1"))).scalar() == 1


async def customer_partners(engine: AsyncEngine, tenant_id: str) -> CustomerPartners:
    """PR-3: the customer's active reseller relationships, with each partner's name.

    ``tenant_id`` is compared lower-cased. An unknown customer, or one without active
    relationships, gives an empty list (never ``None``).
    """
    tenant_id = tenant_id.lower()
    rel, partners, customers = orm.reseller_relationships, orm.partners, orm.customers
    query = (
        select(
            rel.c.relationship_id,
            rel.c.partner_id,
            partners.c.name.label("partner_name"),
            rel.c.delegated_admin,
            rel.c.accepted_at.label("since"),
        )
        .select_from(rel.outerjoin(partners, partners.c.partner_id == rel.c.partner_id))
        .where(rel.c.customer_tenant_id == tenant_id, rel.c.status == ACTIVE_RELATIONSHIP)
        .order_by(rel.c.accepted_at, rel.c.partner_id, rel.c.relationship_id)
    )
    indirect = select(customers.c.provider_id, customers.c.associated_reseller_id).where(
        customers.c.tenant_id == tenant_id
    )
    async with reading(engine) as conn:
        rows = (await conn.execute(query)).all()
        customer = (await conn.execute(indirect)).first()
    return CustomerPartners(
        tenant_id=tenant_id,
        partners=[CustomerPartner.model_validate(row._asdict()) for row in rows],
        indirect_provider_id=customer.provider_id if customer else None,
        indirect_reseller_id=customer.associated_reseller_id if customer else None,
    )


async def _partner_registered(conn: AsyncConnection, partner_id: str) -> bool:
    query = select(exists().where(orm.partners.c.partner_id == partner_id))
    return bool((await conn.execute(query)).scalar())


async def provider_resellers(engine: AsyncEngine, provider_id: str) -> ProviderResellers | None:
    """IR-1, IR-8: resellers with an *active* partnership with the provider, by reseller id.

    Removed (or pending, declined ...) partnerships are not listed. ``None`` when no
    partner ``provider_id`` is registered.
    """
    ships, partners = orm.partnerships, orm.partners
    query = (
        select(
            ships.c.partnership_id,
            ships.c.reseller_id,
            partners.c.name,
            partners.c.country,
            ships.c.accepted_at.label("since"),
        )
        .select_from(ships.outerjoin(partners, partners.c.partner_id == ships.c.reseller_id))
        .where(ships.c.provider_id == provider_id, ships.c.status == ACTIVE_PARTNERSHIP)
        .order_by(ships.c.reseller_id, ships.c.partnership_id)
    )
    async with reading(engine) as conn:
        if not await _partner_registered(conn, provider_id):
            return None
        rows = (await conn.execute(query)).all()
    resellers = [ProviderReseller.model_validate(row._asdict()) for row in rows]
    return ProviderResellers(provider_id=provider_id, resellers=resellers)


async def provider_customers(
    engine: AsyncEngine, provider_id: str, reseller_id: str | None = None
) -> ProviderCustomers | None:
    """IR-9: the provider's customers, each once, ordered by tenant id.

    A customer is the provider's when its ``provider_id`` is the provider or when it has
    an active reseller relationship with the provider (a customer row must exist;
    ``rules.is_providers_customer``). With ``reseller_id``, only customers associated with
    that reseller as ``rules.associated_with_reseller`` defines it (the definition
    ``PartnershipRemoved`` uses too, IR-8): created for it (``associated_reseller_id``), or
    holding an active subscription whose current reseller association is it. ``None`` when
    no partner ``provider_id`` is registered.
    """
    customers, rel = orm.customers, orm.reseller_relationships
    related = select(rel.c.customer_tenant_id).where(
        rel.c.partner_id == provider_id, rel.c.status == ACTIVE_RELATIONSHIP
    )
    query = (
        select(
            customers.c.tenant_id,
            customers.c.company_name,
            customers.c.country,
            customers.c.cloud,
            customers.c.associated_reseller_id,
        )
        .where(or_(customers.c.provider_id == provider_id, customers.c.tenant_id.in_(related)))
        .order_by(customers.c.tenant_id)
    )
    if reseller_id is not None:
        subscriptions = orm.subscriptions
        holding = select(subscriptions.c.customer_tenant_id).where(
            subscriptions.c.reseller_mpn_id == reseller_id, subscriptions.c.status == ACTIVE_SUBSCRIPTION
        )
        query = query.where(
            or_(customers.c.associated_reseller_id == reseller_id, customers.c.tenant_id.in_(holding))
        )
    async with reading(engine) as conn:
        if not await _partner_registered(conn, provider_id):
            return None
        rows = (await conn.execute(query)).all()
    return ProviderCustomers(
        provider_id=provider_id,
        reseller_id=reseller_id,
        customers=[ProviderCustomer.model_validate(row._asdict()) for row in rows],
    )


async def subscription_attribution(
    engine: AsyncEngine, subscription_id: str, at: datetime
) -> SubscriptionAttribution | None:
    """Who was credited on the subscription at ``at`` (timezone-aware; answered in UTC).

    For each attribute, the value of the ledger interval with ``valid_from <= at <
    valid_to`` (``valid_to`` null: open), else null; plus both histories ordered by
    ``valid_from``, the current status and support contact. ``None`` for an unknown
    subscription. Raises ``ValueError`` for a naive ``at``.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    at = at.astimezone(UTC)
    subs, ledger = orm.subscriptions, orm.attributions
    intervals = (
        select(ledger.c.attribute, ledger.c.value, ledger.c.valid_from, ledger.c.valid_to)
        .where(ledger.c.subscription_id == subscription_id)
        .order_by(ledger.c.attribute, ledger.c.valid_from)
    )
    async with reading(engine) as conn:
        subscription = (
            await conn.execute(select(subs).where(subs.c.subscription_id == subscription_id))
        ).first()
        if subscription is None:
            return None
        rows = (await conn.execute(intervals)).all()
    entries: dict[str, list[Attribution]] = {}
    for row in rows:  # ordered by attribute, then valid_from
        entries.setdefault(row.attribute, []).append(Attribution(row.value, row.valid_from, row.valid_to))
    reseller = _ledger(subscription_id, Attribute.RESELLER, entries)
    partner_of_record = _ledger(subscription_id, Attribute.PARTNER_OF_RECORD, entries)
    contact = None
    if subscription.support_contact_kind is not None:
        contact = SupportContact(
            kind=subscription.support_contact_kind, partner_id=subscription.support_contact_partner_id
        )
    return SubscriptionAttribution(
        subscription_id=subscription_id,
        customer_tenant_id=subscription.customer_tenant_id,
        at=at,
        status=subscription.status,
        reseller_mpn_id=reseller.at(at),
        partner_of_record=partner_of_record.at(at),
        support_contact=contact,
        history=AttributionHistory(
            reseller=_intervals(reseller), partner_of_record=_intervals(partner_of_record)
        ),
    )


def _ledger(
    subscription_id: str, attribute: Attribute, entries: dict[str, list[Attribution]]
) -> AttributionLedger:
    """One attribute's intervals (ordered by ``valid_from``) as the domain's ledger."""
    return AttributionLedger(subscription_id, attribute, entries.get(attribute.value, []))


def _intervals(ledger: AttributionLedger) -> list[AttributionInterval]:
    return [
        AttributionInterval(value=entry.value, valid_from=entry.valid_from, valid_to=entry.valid_to)
        for entry in ledger.entries
    ]


async def customer_timeline(engine: AsyncEngine, tenant_id: str, after: int, limit: int) -> CustomerTimeline:
    """A page of the customer's timeline: at most ``limit`` entries with ``seq > after``,
    ``seq`` ascending. ``next_after`` is the last ``seq`` when the page is full, else
    ``None``. ``tenant_id`` is compared lower-cased; an unknown customer has no entries.
    """
    tenant_id = tenant_id.lower()
    table = orm.timeline
    query = (
        select(table)
        .where(table.c.customer_tenant_id == tenant_id, table.c.seq > after)
        .order_by(table.c.seq)
        .limit(limit)
    )
    async with reading(engine) as conn:
        rows = (await conn.execute(query)).all()
    entries = [
        TimelineEntry(
            seq=row.seq,
            at=row.at,
            event_type=row.event_type,
            event_id=row.event_id,
            data=row.data,
            actor=TimelineActor(kind=row.actor_kind, tenant_id=row.actor_tenant_id, user=row.actor_user),
            command_id=row.command_id,
            command_type=row.command_type,
        )
        for row in rows
    ]
    next_after = entries[-1].seq if entries and len(entries) == limit else None
    return CustomerTimeline(tenant_id=tenant_id, entries=entries, next_after=next_after)


async def outbox_backlog(engine: AsyncEngine, now: datetime | None = None) -> dict[str, tuple[int, float]]:
    """``{"events": (rows, age_s), "emails": (rows, age_s)}``: staged events not yet published,
    emails waiting to be sent (``pending``), and the age in seconds of the oldest of each
    (0 when there is none)."""
    now = now or datetime.now(UTC)
    events, emails = orm.outbox_events, orm.outbox_emails
    backlog: dict[str, tuple[int, float]] = {}
    async with reading(engine) as conn:
        for name, query in (
            ("events", select(func.count(), func.min(events.c.created_at))),
            (
                "emails",
                select(func.count(), func.min(emails.c.created_at)).where(emails.c.status == "pending"),
            ),
        ):
            rows, oldest = (await conn.execute(query)).one()
            age = (now - aware(oldest)).total_seconds() if oldest is not None else 0.0
            backlog[name] = (int(rows), max(age, 0.0))
    return backlog


def aware(moment: datetime) -> datetime:
    """``moment`` in UTC when the driver returned it naive (SQLite)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
