"""Use cases: one async function per command, run inside a unit of work by the command bus.

Each takes ``(command, actor, uow, deps)`` and returns the ``Effects`` to stage in the
outbox, or raises ``Rejected``. Routing is plain data: ``USE_CASES`` (the entry points that
adapt Kafka records and HTTP requests to them are in ``handlers/``).
"""

from service.usecases.admin_relationships import (
    approve_admin_relationship,
    request_admin_relationship,
    set_admin_relationship_auto_extend,
    terminate_admin_relationship,
)
from service.usecases.base import Dependencies, Effects, UseCase
from service.usecases.billing import record_order
from service.usecases.customers import add_customer
from service.usecases.partners import register_partner
from service.usecases.partnerships import accept_partnership, remove_partnership, request_partnership
from service.usecases.reseller import (
    accept_reseller_relationship,
    decline_invitation,
    remove_reseller_relationship,
    request_reseller_relationship,
    revoke_delegated_admin,
)
from service.usecases.subscriptions import assign_support_contact, associate_reseller, set_partner_of_record

USE_CASES: dict[str, UseCase] = {
    "RegisterPartner": register_partner,
    "RequestResellerRelationship": request_reseller_relationship,
    "AcceptResellerRelationship": accept_reseller_relationship,
    "DeclineInvitation": decline_invitation,
    "RevokeDelegatedAdmin": revoke_delegated_admin,
    "RemoveResellerRelationship": remove_reseller_relationship,
    "RequestPartnership": request_partnership,
    "AcceptPartnership": accept_partnership,
    "RemovePartnership": remove_partnership,
    "AddCustomer": add_customer,
    "AssociateReseller": associate_reseller,
    "AssignSupportContact": assign_support_contact,
    "SetPartnerOfRecord": set_partner_of_record,
    "OrderCreated": record_order,
    "RequestAdminRelationship": request_admin_relationship,
    "ApproveAdminRelationship": approve_admin_relationship,
    "TerminateAdminRelationship": terminate_admin_relationship,
    "SetAdminRelationshipAutoExtend": set_admin_relationship_auto_extend,
}
"""Command type → use case. Every command of the contract has one (a test checks it)."""

__all__ = ["USE_CASES", "Dependencies", "Effects", "UseCase"]
