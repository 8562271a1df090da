"""The read side of admin relationships (GDAP): a customer's and a partner's, filterable by
status and by "ends before". One connection per answer, read-only (``queries.reading``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.read import AdminRelationships, AdminRelationshipState, AdminRelationshipView, AdminRole
from service.adapters import orm
from service.adapters.queries import reading
from service.domain.admin_relationships import duration_text
from service.domain.entra_roles import entra_roles


def _query(status: AdminRelationshipState | None, ends_before: datetime | None) -> Select[Any]:
    admins, partners, customers = orm.admin_relationships, orm.partners, orm.customers
    query = (
        select(admins, partners.c.name.label("partner_name"), customers.c.company_name.label("customer_name"))
        .select_from(
            admins.outerjoin(partners, partners.c.partner_id == admins.c.partner_id).outerjoin(
                customers, customers.c.tenant_id == admins.c.customer_tenant_id
            )
        )
        .order_by(admins.c.ends_at.is_(None), admins.c.ends_at, admins.c.admin_relationship_id)
    )
    if status is not None:
        query = query.where(admins.c.status == status)
    if ends_before is not None:
        query = query.where(admins.c.ends_at < ends_before.astimezone(UTC))
    return query


_COPIED = tuple(AdminRelationshipView.model_fields.keys() - {"roles", "duration", "auto_extend"})
"""The view's fields read as they are from the row (``admin_relationships`` and the two names)."""


def _view(row: Any) -> AdminRelationshipView:
    table = entra_roles()
    values = row._asdict()
    return AdminRelationshipView.model_validate(
        {name: values[name] for name in _COPIED}
        | {
            "roles": [
                AdminRole(template_id=t, name=r.name if (r := table.get(t)) else None) for t in row.roles
            ],
            "duration": duration_text(row.duration_days),
            "auto_extend": duration_text(row.auto_extend_days),
        }
    )


async def customer_admin_relationships(
    engine: AsyncEngine,
    tenant_id: str,
    status: AdminRelationshipState | None = None,
    ends_before: datetime | None = None,
) -> AdminRelationships:
    """Every admin relationship in the customer's tenant (any partner), filtered; an unknown
    customer has none. ``ends_before`` must be timezone-aware (``ValueError`` otherwise)."""
    _aware(ends_before)
    tenant_id = tenant_id.lower()
    condition = orm.admin_relationships.c.customer_tenant_id == tenant_id
    async with reading(engine) as conn:
        rows = await _filtered(conn, condition, status, ends_before)
    return _answer(rows, None, tenant_id, status, ends_before)


async def partner_admin_relationships(
    engine: AsyncEngine,
    partner_id: str,
    status: AdminRelationshipState | None = None,
    ends_before: datetime | None = None,
) -> AdminRelationships | None:
    """Every admin relationship of the partner (any customer), filtered; ``None`` when no
    partner ``partner_id`` is registered. ``ends_before`` must be timezone-aware."""
    _aware(ends_before)
    registered = select(exists().where(orm.partners.c.partner_id == partner_id))
    condition = orm.admin_relationships.c.partner_id == partner_id
    async with reading(engine) as conn:
        if not (await conn.execute(registered)).scalar():
            return None
        rows = await _filtered(conn, condition, status, ends_before)
    return _answer(rows, partner_id, None, status, ends_before)


async def _filtered(
    conn: AsyncConnection,
    condition: ColumnElement[bool],
    status: AdminRelationshipState | None,
    ends_before: datetime | None,
) -> Sequence[Row[Any]]:
    rows: Sequence[Row[Any]] = (await conn.execute(_query(status, ends_before).where(condition))).all()
    return rows


def _answer(
    rows: Sequence[Row[Any]],
    partner_id: str | None,
    customer_tenant_id: str | None,
    status: AdminRelationshipState | None,
    ends_before: datetime | None,
) -> AdminRelationships:
    return AdminRelationships(
        partner_id=partner_id,
        customer_tenant_id=customer_tenant_id,
        status=status,
        ends_before=ends_before,
        admin_relationships=[_view(row) for row in rows],
    )


def _aware(moment: datetime | None) -> None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("ends_before must be timezone-aware")
