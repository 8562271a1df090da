"""RegisterPartner: reference data, upserted."""

from __future__ import annotations

from contracts.commands import RegisterPartner
from contracts.events import PartnerRegistered
from service.domain.actors import ActorRef, require_system_or_partner
from service.domain.model import Partner
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects


async def register_partner(
    cmd: RegisterPartner, actor: ActorRef, uow: UnitOfWork, deps: Dependencies
) -> Effects:
    """Upsert a partner; emits ``PartnerRegistered``.

    Rejections: forbidden (ACT-1) unless the actor is the system or the partner's own
    global admin, for the tenant already registered under this MPN ID (no takeover).
    """
    known = await uow.partners.get(cmd.partner_id)
    if known is not None:
        require_system_or_partner(actor, known.tenant_id)
    require_system_or_partner(actor, cmd.tenant_id)
    fields = cmd.model_dump(exclude={"actor"})
    await uow.partners.save(Partner(**fields))
    return Effects(events=[PartnerRegistered(**fields)])
