"""Use cases: one async function per command, run inside a unit of work by the command bus.

Each takes ``(command, actor, uow, deps)`` and returns the ``Effects`` to stage in the
outbox, or raises ``Rejected``. Routing is plain data: ``HANDLERS``.
"""

from service.usecases.base import Dependencies, Effects, Handler
from service.usecases.billing import record_order
from service.usecases.partners import register_partner
from service.usecases.reseller import (
    accept_reseller_relationship,
    decline_invitation,
    request_reseller_relationship,
)

HANDLERS: dict[str, Handler] = {
    "RegisterPartner": register_partner,
    "RequestResellerRelationship": request_reseller_relationship,
    "AcceptResellerRelationship": accept_reseller_relationship,
    "DeclineInvitation": decline_invitation,
    "OrderCreated": record_order,
}
"""Command type → use case. A contract command missing here is rejected as not supported."""

__all__ = ["HANDLERS", "Dependencies", "Effects", "Handler"]
