"""What each use case will read, said before it runs, so a fetch's rows load in one query per
table (``UnitOfWork.load``) instead of one per row.

Three rounds: ``first_round`` reads only the commands; ``second_round`` runs after the first
load and follows what it found (an invitation's parties, the provider behind an actor's
tenant, a customer's partners); ``third_round`` follows the second's rows (the existing
subscriptions a 21Vianet offer names, read when it is accepted), and usually names
nothing, which costs no statement. All are a forecast, never a rule: a row they miss is
still found by its repository (a counted loader miss), so a forecast can only be slow,
never wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from contracts.billing import Order
from contracts.commands import (
    AcceptPartnership,
    AcceptResellerRelationship,
    AddCustomer,
    ApproveAdminRelationship,
    AssignSupportContact,
    AssociateReseller,
    DeclineInvitation,
    RegisterPartner,
    RemovePartnership,
    RemoveResellerRelationship,
    RequestAdminRelationship,
    RequestPartnership,
    RequestResellerRelationship,
    RevokeDelegatedAdmin,
    SetAdminRelationshipAutoExtend,
    SetPartnerOfRecord,
    TerminateAdminRelationship,
)
from service.domain.actors import ActorRef
from service.domain.model import Invitation, InvitationKind
from service.ports import Needs, UnitOfWork
from service.tokens import hash_token
from service.usecases.billing import line_subscription_id
from service.usecases.subscriptions import offer_subscription_id

RESELLER = InvitationKind.RESELLER_RELATIONSHIP.value
PARTNERSHIP = InvitationKind.PARTNERSHIP.value


def first_round(commands: Iterable[tuple[Any, ActorRef]]) -> Needs:
    """The rows ``commands`` (``(command, actor)`` pairs) name directly."""
    needs = Needs()
    for command, actor in commands:
        plan = _FIRST.get(type(command))
        if plan is not None:
            plan(command, actor, needs)
    return needs


async def second_round(commands: Iterable[tuple[Any, ActorRef]], uow: UnitOfWork) -> Needs:
    """The rows found through the first round's rows; reads ``uow`` (after its first load,
    from memory)."""
    needs = Needs()
    for command, actor in commands:
        if isinstance(
            command,
            AcceptResellerRelationship | DeclineInvitation | AcceptPartnership | ApproveAdminRelationship,
        ):
            invitation = await uow.invitations.get_by_token_hash(hash_token(command.token))
            if invitation is not None:
                _invitation_parties(invitation, needs)
        elif isinstance(command, TerminateAdminRelationship | SetAdminRelationshipAutoExtend):
            await _admin_relationship_parties(command, uow, needs)
        elif isinstance(command, AssociateReseller | AssignSupportContact):
            await _provider_pair(command, actor, uow, needs)
        elif isinstance(command, Order):
            await _order_pairs(command, uow, needs)
    return needs


async def third_round(commands: Iterable[tuple[Any, ActorRef]], uow: UnitOfWork) -> Needs:
    """The rows found through the second round's rows: the subscriptions named by the
    relationship requests being accepted (PR-5). Reads ``uow`` from memory."""
    needs = Needs()
    for command, _ in commands:
        if isinstance(command, AcceptResellerRelationship):
            invitation = await uow.invitations.get_by_token_hash(hash_token(command.token))
            if invitation is not None and invitation.kind is InvitationKind.RESELLER_RELATIONSHIP:
                relationship = await uow.relationships.get(invitation.subject_id)
                if relationship is not None:
                    needs.subscriptions.update(relationship.partner_of_record_subscriptions)
    return needs


def _register_partner(cmd: RegisterPartner, actor: ActorRef, needs: Needs) -> None:
    needs.partners.add(cmd.partner_id)
    if not (cmd.csp_enrolled and cmd.mpa_active):
        needs.pending_invitations_of.add(cmd.partner_id)


def _request_relationship(cmd: RequestResellerRelationship, actor: ActorRef, needs: Needs) -> None:
    needs.partners.add(cmd.partner_id)
    needs.customers.add(cmd.customer.tenant_id)
    needs.subscriptions.update(cmd.partner_of_record_subscription_ids)
    # read by an acceptance later in the same fetch (it withdraws the pair's other invitations)
    needs.pending_invitations.add((RESELLER, cmd.partner_id, cmd.customer.tenant_id))


def _by_token(
    cmd: AcceptResellerRelationship | DeclineInvitation | AcceptPartnership | ApproveAdminRelationship,
    actor: ActorRef,
    needs: Needs,
) -> None:
    needs.invitation_tokens.add(hash_token(cmd.token))


def _revoke(cmd: RevokeDelegatedAdmin, actor: ActorRef, needs: Needs) -> None:
    needs.customers.add(cmd.customer_tenant_id)


def _remove_relationship(cmd: RemoveResellerRelationship, actor: ActorRef, needs: Needs) -> None:
    needs.partners.add(cmd.partner_id)
    needs.customers.add(cmd.customer_tenant_id)
    needs.customer_subscriptions.add(cmd.customer_tenant_id)
    needs.pending_invitations.add((RESELLER, cmd.partner_id, cmd.customer_tenant_id))


def _request_partnership(cmd: RequestPartnership, actor: ActorRef, needs: Needs) -> None:
    needs.partners.update((cmd.provider_id, cmd.reseller_id))
    needs.partnerships.add((cmd.provider_id, cmd.reseller_id))
    needs.pending_invitations.add((PARTNERSHIP, cmd.provider_id, cmd.reseller_id))


def _remove_partnership(cmd: RemovePartnership, actor: ActorRef, needs: Needs) -> None:
    pair = (cmd.provider_id, cmd.reseller_id)
    needs.partners.add(cmd.provider_id)
    needs.partnerships.add(pair)
    needs.reseller_customers.add(cmd.reseller_id)
    needs.pending_invitations.add((PARTNERSHIP, *pair))


def _add_customer(cmd: AddCustomer, actor: ActorRef, needs: Needs) -> None:
    needs.partners.update((cmd.provider_id, cmd.reseller_id))
    needs.partnerships.add((cmd.provider_id, cmd.reseller_id))
    needs.customers.add(cmd.customer.tenant_id)


def _subscription_command(
    cmd: AssociateReseller | AssignSupportContact | SetPartnerOfRecord, actor: ActorRef, needs: Needs
) -> None:
    needs.customers.add(cmd.customer_tenant_id)
    needs.subscriptions.add(cmd.subscription_id)
    if isinstance(cmd, SetPartnerOfRecord):
        if cmd.mpn_id is not None:
            needs.partners.add(cmd.mpn_id)
        return
    needs.partner_tenants.add(actor.tenant_id.lower())
    reseller = cmd.reseller_mpn_id if isinstance(cmd, AssociateReseller) else cmd.support_contact.partner_id
    if reseller is not None:
        needs.partners.add(reseller)


def _request_admin_relationship(cmd: RequestAdminRelationship, actor: ActorRef, needs: Needs) -> None:
    needs.partners.add(cmd.partner_id)
    needs.customers.add(cmd.customer.tenant_id)
    needs.admin_relationship_pairs.add((cmd.partner_id, cmd.customer.tenant_id))


def _by_admin_relationship_id(
    cmd: TerminateAdminRelationship | SetAdminRelationshipAutoExtend, actor: ActorRef, needs: Needs
) -> None:
    needs.admin_relationships.add(cmd.admin_relationship_id)


def _order(order: Order, actor: ActorRef, needs: Needs) -> None:
    needs.customers.add(order.reference_customer_id)
    for item in order.line_items:
        needs.subscriptions.add(line_subscription_id(order, item))
        if item.partner_id_on_record:
            needs.partners.add(item.partner_id_on_record)


_FIRST: dict[type, Callable[[Any, ActorRef, Needs], None]] = {
    RegisterPartner: _register_partner,
    RequestResellerRelationship: _request_relationship,
    AcceptResellerRelationship: _by_token,
    DeclineInvitation: _by_token,
    AcceptPartnership: _by_token,
    RevokeDelegatedAdmin: _revoke,
    RemoveResellerRelationship: _remove_relationship,
    RequestPartnership: _request_partnership,
    RemovePartnership: _remove_partnership,
    AddCustomer: _add_customer,
    AssociateReseller: _subscription_command,
    AssignSupportContact: _subscription_command,
    SetPartnerOfRecord: _subscription_command,
    Order: _order,
    RequestAdminRelationship: _request_admin_relationship,
    ApproveAdminRelationship: _by_token,
    TerminateAdminRelationship: _by_admin_relationship_id,
    SetAdminRelationshipAutoExtend: _by_admin_relationship_id,
}


def _invitation_parties(invitation: Invitation, needs: Needs) -> None:
    """What accepting or declining ``invitation`` reads: its subject, its parties and the
    pair's other pending invitations (withdrawn on acceptance)."""
    inviter, invitee = invitation.inviter_id, invitation.invitee_id
    if invitation.kind is InvitationKind.ADMIN_RELATIONSHIP:  # GD-4: nothing is withdrawn
        needs.admin_relationships.add(invitation.subject_id)
        return
    needs.pending_invitations.add((invitation.kind.value, inviter, invitee))
    if invitation.kind is InvitationKind.RESELLER_RELATIONSHIP:
        needs.customers.add(invitee)
        needs.relationships.add(invitation.subject_id)
        needs.subscriptions.add(offer_subscription_id(invitation.subject_id))
    else:
        needs.partners.add(invitee)
        needs.partnerships.add((inviter, invitee))
        needs.partnerships_by_id.add(invitation.subject_id)


async def _admin_relationship_parties(
    cmd: TerminateAdminRelationship | SetAdminRelationshipAutoExtend, uow: UnitOfWork, needs: Needs
) -> None:
    """The relationship's partner (the actor check) and, for auto-extend, its customer (the email)."""
    relationship = await uow.admin_relationships.get(cmd.admin_relationship_id)
    if relationship is None:
        return
    needs.partners.add(relationship.partner_id)
    if isinstance(cmd, SetAdminRelationshipAutoExtend):
        needs.customers.add(relationship.customer_tenant_id)


async def _provider_pair(
    cmd: AssociateReseller | AssignSupportContact, actor: ActorRef, uow: UnitOfWork, needs: Needs
) -> None:
    provider = await uow.partners.get_by_tenant(actor.tenant_id)
    reseller = cmd.reseller_mpn_id if isinstance(cmd, AssociateReseller) else cmd.support_contact.partner_id
    if provider is not None and reseller is not None:
        needs.partnerships.add((provider.partner_id, reseller))


async def _order_pairs(order: Order, uow: UnitOfWork, needs: Needs) -> None:
    resellers = {item.partner_id_on_record for item in order.line_items if item.partner_id_on_record}
    if not resellers:
        return
    customer = await uow.customers.get(order.reference_customer_id)
    if customer is None:
        return
    if customer.provider_id:
        candidates = [customer.provider_id]
    else:
        candidates = [r.partner_id for r in await uow.relationships.active_for_customer(customer.tenant_id)]
    needs.partnerships.update((provider, reseller) for provider in candidates for reseller in resellers)
