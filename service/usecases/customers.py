"""Customers: AddCustomer, an indirect provider creates a customer for an indirect reseller
(IR-4, IR-5); and the customer record a relationship request works with (MP-2)."""

from __future__ import annotations

from contracts.commands import AddCustomer, CustomerDetails
from contracts.events import CustomerAdded
from service.domain import indirect_rules, rules
from service.domain.actors import PARTNER_ROLES, ActorRef, require_partner
from service.domain.model import Customer, RelationshipStatus, ResellerRelationship
from service.ports import UnitOfWork
from service.usecases.base import Dependencies, Effects, customer_record


async def add_customer(cmd: AddCustomer, actor: ActorRef, uow: UnitOfWork, deps: Dependencies) -> Effects:
    """IR-4: with an active partnership the provider adds a customer on the reseller's behalf;
    IR-5: the customer is associated with the reseller, which gets administrator access.

    The customer gets active relationships with delegated admin privileges to the provider
    and to the reseller. The new tenant's admin credentials belong to Partner Center and
    never pass through Partnerlink (IR-5: shown once, never again). Emits ``CustomerAdded``.
    Rejections: unknown_partner, forbidden (ACT-1; IR-4 not an indirect provider),
    partnership_not_active (IR-4), reseller_not_enrolled (IR-2: no longer an enrolled
    indirect reseller with an active MPA), customer_is_csp_partner (MP-3), region_mismatch
    (RR-4, provider and reseller), already_exists (IR-5: the tenant is known).
    """
    provider = rules.ensure_partner_known(await uow.partners.get(cmd.provider_id), cmd.provider_id, "IR-4")
    require_partner(actor, provider.tenant_id, PARTNER_ROLES["AddCustomer"].allowed)
    indirect_rules.ensure_indirect_provider(provider, "IR-4")
    reseller = rules.ensure_partner_known(await uow.partners.get(cmd.reseller_id), cmd.reseller_id, "IR-4")
    indirect_rules.ensure_partnership_active(
        await uow.partnerships.find(provider.partner_id, reseller.partner_id), "IR-4"
    )
    indirect_rules.ensure_reseller_enrolled(reseller)
    details = cmd.customer
    rules.ensure_customer_is_not_csp_partner(details.is_csp_partner)
    deps.regions.ensure_same_region(provider.country, details.country)
    deps.regions.ensure_same_region(reseller.country, details.country)
    indirect_rules.ensure_new_customer(await uow.customers.get(details.tenant_id), details.tenant_id)

    now = deps.clock()
    customer = customer_record(
        details, provider_id=provider.partner_id, associated_reseller_id=reseller.partner_id
    )
    await uow.customers.save(customer)
    for partner_id in (provider.partner_id, reseller.partner_id):
        relationship = ResellerRelationship(
            deps.new_id(), partner_id, customer.tenant_id, True, RelationshipStatus.PENDING, now
        )
        relationship.activate(now)
        await uow.relationships.save(relationship)
    added = CustomerAdded(
        customer_tenant_id=customer.tenant_id,
        provider_id=provider.partner_id,
        associated_reseller_id=reseller.partner_id,
    )
    return Effects(events=[added])


async def customer_for_request(uow: UnitOfWork, details: CustomerDetails) -> Customer:
    """The customer record a request works with (MP-2).

    A customer that is *established* (it has an active relationship, or a provider added
    it) keeps its stored record: another partner's request cannot rewrite its country,
    cloud, contact or terms; the rules use the stored record, while the invitation still
    goes to the admin address and locale the request names (the partner knows whom it
    invites; only a global admin can accept, RR-5). Otherwise the request's details are
    stored (keeping when it accepted the MCA).
    """
    known = await uow.customers.get(details.tenant_id)
    if known is not None and (
        known.provider_id or await uow.relationships.active_for_customer(known.tenant_id)
    ):
        return known
    return customer_record(
        details, customer_agreement_accepted_at=known.customer_agreement_accepted_at if known else None
    )
