"""RegisterPartner: reference data, upserted (IR-2: enrollment withdraws pending invitations)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from contracts.commands import RegisterPartner
from contracts.events import PartnerRegistered
from service.domain.actors import ActorRef, require_system_or_partner
from service.domain.model import InvitationKind, Partner, PartnerKind
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects
from service.usecases.invitations import withdraw_pending


async def register_partner(
    cmd: RegisterPartner, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """Upsert a partner; emits ``PartnerRegistered``, and ``InvitationWithdrawn`` for its
    pending partnership invitations when it is no longer enrolled (IR-2).

    Rejections: forbidden (ACT-1) unless the actor is the system or the partner's own
    global admin, for the tenant already registered under this MPN ID (no takeover).
    """
    known = await uow.partners.get(cmd.partner_id)
    if known is not None:
        require_system_or_partner(actor, known.tenant_id)
    require_system_or_partner(actor, cmd.tenant_id)
    fields = cmd.model_dump(exclude={"actor"})
    partner = Partner(**{**fields, "kind": PartnerKind(cmd.kind)})
    await uow.partners.save(partner)
    effects = Effects(events=[PartnerRegistered(**fields)])
    if not partner.enrolled:
        effects.events += await _withdraw_partnership_invitations(uow, partner.partner_id, deps.clock())
    return effects


async def _withdraw_partnership_invitations(
    uow: UnitOfWork, partner_id: str, now: datetime
) -> list[BaseModel]:
    """IR-2: a partner no longer enrolled (CSP or MPA) loses its pending partnership invitations,
    sent or received."""
    kind = InvitationKind.PARTNERSHIP
    sent = await withdraw_pending(uow, kind, partner_id, None, "not_enrolled", now)
    received = await withdraw_pending(uow, kind, None, partner_id, "not_enrolled", now)
    return [*sent, *received]
