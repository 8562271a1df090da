"""What the clock does to admin relationships (GD-7, GD-8): ``check_due`` extends or expires
each one due at its end and warns the partner's contact before it (an event, and an email in
the partner's locale). Run by ``service.admin_clock``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from contracts.events import AdminRelationshipExpired, AdminRelationshipExpiring, AdminRelationshipExtended
from service.domain.admin_relationships import AdminRelationship, Expired, Extended, Happening, Warned
from service.ports import Needs, UnitOfWork
from service.usecases.admin_relationships import EXPIRING_TEMPLATE, role_lines
from service.usecases.base import Dependencies, Effects, EmailRequest, json_params


async def check_due(
    uow: UnitOfWork, deps: Dependencies, now: datetime, limit: int
) -> list[tuple[AdminRelationship, Effects]]:
    """GD-7, GD-8: up to ``limit`` active relationships due a check at ``now`` (locked; on
    PostgreSQL those another replica checks are passed by): each extended or expired at its
    end, or warned (event, and email to the partner's contact) when a threshold is reached.
    Returns each relationship with its effects (possibly none). The state change (what was
    warned, the new end) commits with the staged effects, so a warning is never sent twice."""
    due = await uow.admin_relationships.due(now, limit)
    await uow.load(Needs(partners={r.partner_id for r in due}, customers={r.customer_tenant_id for r in due}))
    checked = []
    for relationship in due:
        happened = relationship.tick(now, deps.admin_warning_days)
        await uow.admin_relationships.save(relationship)
        effects = Effects()
        for happening in happened:
            await _effects_of(uow, deps, relationship, happening, effects)
        checked.append((relationship, effects))
    return checked


async def _effects_of(
    uow: UnitOfWork, deps: Dependencies, relationship: AdminRelationship, happening: Happening, into: Effects
) -> None:
    ids = {
        "admin_relationship_id": relationship.admin_relationship_id,
        "partner_id": relationship.partner_id,
        "customer_tenant_id": relationship.customer_tenant_id,
    }
    assert relationship.ends_at is not None
    event: BaseModel
    if isinstance(happening, Extended):
        event = AdminRelationshipExtended(
            **ids, ends_at=relationship.ends_at, previous_ends_at=happening.previous_ends_at
        )
    elif isinstance(happening, Expired):
        event = AdminRelationshipExpired(**ids, ends_at=happening.ends_at)
    else:
        event = AdminRelationshipExpiring(**ids, ends_at=relationship.ends_at, days_left=happening.days_left)
        email = await _warning_email(uow, deps, relationship, happening)
        if email is not None:
            into.emails.append(email)
    into.events.append(event)


async def _warning_email(
    uow: UnitOfWork, deps: Dependencies, relationship: AdminRelationship, warned: Warned
) -> EmailRequest | None:
    """GD-7: the warning to the partner's contact, in the partner's locale."""
    partner = await uow.partners.get(relationship.partner_id)
    if partner is None:
        return None
    customer = await uow.customers.get(relationship.customer_tenant_id)
    return EmailRequest(
        deps.new_id(),
        EXPIRING_TEMPLATE,
        partner.locale,
        partner.contact_email,
        json_params(
            {
                "partner_name": partner.name,
                "customer_company_name": customer.company_name
                if customer
                else relationship.customer_tenant_id,
                "customer_tenant_id": relationship.customer_tenant_id,
                "admin_relationship_id": relationship.admin_relationship_id,
                "display_name": relationship.display_name,
                "roles": role_lines(relationship.roles, deps.roles),
                "days_left": warned.days_left,
                "ends_at": relationship.ends_at,
            }
        ),
    )
