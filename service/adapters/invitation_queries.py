"""The read side of the acceptance page: an invitation by its token (``invitation_by_token``,
the names and request it shows) and the events a command caused on a customer's timeline
(``timeline_events_of_command``). Read-only, one connection per answer (``queries.reading``);
``None`` where there is no such invitation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.adapters import orm
from service.adapters.queries import aware, reading
from service.domain.entra_roles import EntraRole, RoleTable, entra_roles
from service.domain.model import InvitationKind
from service.tokens import hash_token, hashes_match


@dataclass(frozen=True)
class AdminRequestView:
    """What an admin relationship's request asks for (GD-1..GD-3), as the acceptance page shows
    it: ``display_name``; ``roles``, the Entra built-in roles of the shipped table in the order
    asked (a template id the table no longer knows is shown by its id, without a description);
    ``duration_days`` (1 to 730, from the approval); ``auto_extend_days`` (0: off, or 180);
    ``ends_at`` once approved (UTC), else ``None``."""

    display_name: str
    roles: tuple[EntraRole, ...]
    duration_days: int
    auto_extend_days: int
    ends_at: datetime | None = None


@dataclass(frozen=True)
class InvitationView:
    """What the acceptance page shows of an invitation (no token, no link).

    ``kind``: ``reseller-relationship``, ``partnership`` or ``admin_relationship`` (GDAP);
    ``status`` as stored (a pending invitation past ``expires_at`` is still ``pending`` here:
    INV-2 is the page's to apply); ``invitee_tenant_id``: the customer's tenant, or the
    reseller's Partner Center tenant; ``inviter_name`` / ``invitee_name``: partner and customer
    company, or provider and reseller; ``cloud``: the customer's (``None`` for a partnership);
    ``delegated_admin``: the request includes DAP (RR-2); ``agreement_accepted``: the customer
    already accepted the Microsoft Customer Agreement (RR-5); ``admin_request``: what an admin
    relationship's request asks for (``None`` for the other kinds).
    """

    invitation_id: str
    kind: str
    status: str
    expires_at: datetime
    inviter_id: str
    inviter_name: str | None
    invitee_id: str
    invitee_tenant_id: str | None
    invitee_name: str | None
    cloud: str | None = None
    delegated_admin: bool = False
    agreement_accepted: bool = False
    admin_request: AdminRequestView | None = None

    @property
    def invitation_kind(self) -> InvitationKind:
        """``kind`` as the domain's ``InvitationKind``. Raises ``ValueError`` for another value."""
        return InvitationKind(self.kind)


async def invitation_by_token(
    engine: AsyncEngine, token: str, roles: RoleTable | None = None
) -> InvitationView | None:
    """The invitation whose token is ``token`` (INV-3: compared by its SHA-256 in constant
    time), with the names the page shows and, for an admin relationship, its request with each
    role named from ``roles`` (default: the shipped table); ``None`` when there is none."""
    inv = orm.invitations
    async with reading(engine) as conn:
        hashed = hash_token(token)
        query = select(inv).where(or_(inv.c.token_hash == hashed, inv.c.reminder_token_hash == hashed))
        row = (await conn.execute(query)).first()
        stored = (row.token_hash, row.reminder_token_hash) if row is not None else ()
        if row is None or not any(h is not None and hashes_match(h, token) for h in stored):
            return None
        inviter = await _partner_row(conn, row.inviter_id)
        base = {
            "invitation_id": row.invitation_id,
            "kind": row.kind,
            "status": row.status,
            "expires_at": aware(row.expires_at),
            "inviter_id": row.inviter_id,
            "inviter_name": inviter.name if inviter else None,
            "invitee_id": row.invitee_id,
        }
        if row.kind == InvitationKind.PARTNERSHIP.value:
            reseller = await _partner_row(conn, row.invitee_id)
            return InvitationView(
                **base,
                invitee_tenant_id=reseller.tenant_id if reseller else None,
                invitee_name=reseller.name if reseller else None,
            )
        customers = orm.customers
        customer = (
            await conn.execute(select(customers).where(customers.c.tenant_id == row.invitee_id))
        ).first()
        if row.kind == InvitationKind.ADMIN_RELATIONSHIP.value:
            subject = await _admin_request(conn, row.subject_id, roles or entra_roles())
        else:
            subject = await _reseller_request(conn, row.subject_id)
    return InvitationView(
        **base,
        **subject,
        invitee_tenant_id=row.invitee_id,
        invitee_name=customer.company_name if customer else None,
        cloud=customer.cloud if customer else None,
        agreement_accepted=bool(customer and customer.customer_agreement_accepted_at is not None),
    )


async def _reseller_request(conn: AsyncConnection, relationship_id: str) -> dict[str, Any]:
    """RR-2: whether the reseller relationship's request includes DAP."""
    rel = orm.reseller_relationships
    row = (await conn.execute(select(rel).where(rel.c.relationship_id == relationship_id))).first()
    return {"delegated_admin": bool(row.include_delegated_admin) if row else False}


async def _admin_request(
    conn: AsyncConnection, admin_relationship_id: str, table: RoleTable
) -> dict[str, Any]:
    """GD-1..GD-4: what the admin relationship asks for, its roles named from ``table``."""
    admin = orm.admin_relationships
    query = select(admin).where(admin.c.admin_relationship_id == admin_relationship_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return {}
    roles = tuple(
        table.get(template_id) or EntraRole(template_id, template_id, "", False) for template_id in row.roles
    )
    request = AdminRequestView(
        display_name=row.display_name,
        roles=roles,
        duration_days=row.duration_days,
        auto_extend_days=row.auto_extend_days,
        ends_at=aware(row.ends_at) if row.ends_at is not None else None,
    )
    return {"admin_request": request}


async def _partner_row(conn: AsyncConnection, partner_id: str) -> Any:
    partners = orm.partners
    return (await conn.execute(select(partners).where(partners.c.partner_id == partner_id))).first()


async def timeline_events_of_command(engine: AsyncEngine, tenant_id: str, command_id: str) -> list[str]:
    """The types of the events command ``command_id`` caused on the customer's timeline, in
    order (empty when it caused none there, or has not been applied yet)."""
    table = orm.timeline
    query = (
        select(table.c.event_type)
        .where(table.c.customer_tenant_id == tenant_id.lower(), table.c.command_id == command_id)
        .order_by(table.c.seq)
    )
    async with reading(engine) as conn:
        return [str(row.event_type) for row in (await conn.execute(query)).all()]
