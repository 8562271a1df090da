"""T8's cases: per command type, data valid for the rightful actor (``run_t8`` checks it)
and the actors to refuse: a partner acting as another partner, a customer acting for another
tenant, the system where it may not act, a role not allowed. Each ``*_cases`` function covers
a few command types over the ``ActorEstate``; ``actor_cases`` lists them all, in that order.
"""

from __future__ import annotations

import random

from bench.faults.security.actors import ActorEstate, Case, Refusal, actor_estate, impostor
from bench.faults.security.estate import (
    ADMIN_AGENT,
    GLOBAL_ADMIN,
    NOT_A_RELATIONSHIP_ROLE,
    SALES_AGENT,
    accept_data,
    admin_request,
    approve_data,
)
from bench.faults.security.lab import SYSTEM, Lab

__all__ = ["actor_cases"]

NO_ROLES: list[str] = []


async def actor_cases(lab: Lab, rng: random.Random) -> list[Case]:
    """A small estate with something for every command to act on, and the cases over it."""
    e = await actor_estate(lab, rng)
    return [
        *registration_cases(e),
        *invitation_cases(e),
        *removal_cases(e),
        *partnership_cases(e),
        *customer_cases(e),
        *subscription_cases(e),
        *admin_request_cases(e),
        *admin_management_cases(e),
    ]


def provider_refusals(e: ActorEstate) -> tuple[Refusal, ...]:
    """Who may not act for ``provider`` on its customer ``cb``'s subscription."""
    return (
        Refusal("direct partner (not an indirect provider)", e.direct.actor()),
        Refusal("the reseller itself (not an indirect provider)", e.r1.actor()),
        Refusal("provider with a role not allowed", e.provider.actor(NOT_A_RELATIONSHIP_ROLE)),
        Refusal(
            "another indirect provider, not the customer's (README: unknown_customer)",
            e.other_provider.actor(),
            "unknown_customer",
        ),
        Refusal("partner not registered (unknown_partner)", e.unregistered, "unknown_partner"),
        Refusal("the customer", e.cb.admin()),
        Refusal("customer claiming the provider's tenant", impostor("customer", e.provider.tenant_id)),
        Refusal("system", SYSTEM),
    )


def registration_cases(e: ActorEstate) -> list[Case]:
    """RegisterPartner (PR-1): only the system registers a partner."""
    return [
        Case(
            "RegisterPartner",
            e.direct.registration(),
            SYSTEM,
            (
                Refusal("another partner's global admin", e.provider.actor(GLOBAL_ADMIN)),
                Refusal(
                    "another partner claiming the MPN ID for its tenant",
                    e.provider.actor(GLOBAL_ADMIN),
                    data={**e.direct.registration(), "tenant_id": e.provider.tenant_id},
                ),
                Refusal("the partner without global-admin", e.direct.actor(ADMIN_AGENT)),
                Refusal("a customer", e.ca.admin()),
                Refusal("customer claiming the partner's tenant", impostor("customer", e.direct.tenant_id)),
            ),
        ),
    ]


def invitation_cases(e: ActorEstate) -> list[Case]:
    """Requesting a reseller relationship and answering invitations (RR-1, RR-5, INV-1)."""
    return [
        Case(
            "RequestResellerRelationship",
            {"partner_id": e.direct.partner_id, "customer": e.cn.details(), "include_delegated_admin": True},
            e.direct.actor(),
            (
                Refusal("another partner acting as the partner", e.provider.actor()),
                Refusal("partner with a role not allowed", e.direct.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("partner with no role", e.direct.actor(NO_ROLES)),
                Refusal("the customer", e.cn.admin()),
                Refusal("customer claiming the partner's tenant", impostor("customer", e.direct.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "AcceptResellerRelationship",
            accept_data(e.pending_ca2.token),
            e.ca2.admin(),
            (
                Refusal("another customer", e.ca.admin()),
                Refusal("a third customer", e.cb.admin()),
                Refusal("the inviting partner", e.direct.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", e.ca2.tenant_id)),
                Refusal("system", SYSTEM),
                Refusal(
                    "the customer's user who is not a global admin (RR-5)",
                    e.ca2.admin(),
                    "not_global_admin",
                    data=accept_data(e.pending_ca2.token, global_admin=False),
                ),
            ),
        ),
        Case(
            "DeclineInvitation",
            {"token": e.pending_ca2.token},
            e.ca2.admin(),
            (
                Refusal("another customer", e.ca.admin()),
                Refusal("the inviting partner", e.direct.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", e.ca2.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "DeclineInvitation",
            {"token": e.pending_r3.token},
            e.r3.actor(),
            (
                Refusal("another reseller", e.r2.actor()),
                Refusal("the inviting provider", e.provider.actor(GLOBAL_ADMIN)),
                Refusal("the reseller with a role not allowed", e.r3.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("a customer", e.ca.admin()),
                Refusal("customer claiming the reseller's tenant", impostor("customer", e.r3.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
    ]


def removal_cases(e: ActorEstate) -> list[Case]:
    """Taking back a customer relationship or its delegated admin (PR-4)."""
    return [
        Case(
            "RevokeDelegatedAdmin",
            {"partner_id": e.direct.partner_id, "customer_tenant_id": e.ca.tenant_id},
            e.ca.admin(),
            (
                Refusal("another customer", e.cb.admin()),
                Refusal("the partner", e.direct.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", e.ca.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "RemoveResellerRelationship",
            {"partner_id": e.direct.partner_id, "customer_tenant_id": e.ca.tenant_id},
            e.direct.actor(),
            (
                Refusal("the customer (PR-4)", e.ca.admin(), "customer_cannot_remove_relationship"),
                Refusal("another partner acting as the partner", e.provider.actor()),
                Refusal("partner with a role not allowed", e.direct.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("partner with no role", e.direct.actor(NO_ROLES)),
                Refusal("system", SYSTEM),
            ),
        ),
    ]


def partnership_cases(e: ActorEstate) -> list[Case]:
    """An indirect provider's partnerships with resellers."""
    return [
        Case(
            "RequestPartnership",
            {"provider_id": e.provider.partner_id, "reseller_id": e.r2.partner_id},
            e.provider.actor(),
            (
                Refusal("another provider acting as the provider", e.other_provider.actor()),
                Refusal("the reseller", e.r2.actor()),
                Refusal("provider with a role not allowed", e.provider.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("a customer", e.ca.admin()),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "AcceptPartnership",
            {"token": e.pending_r3.token},
            e.r3.actor(),
            (
                Refusal("another reseller", e.r2.actor()),
                Refusal("a reseller already a partner of the provider", e.r1.actor()),
                Refusal("the inviting provider", e.provider.actor(GLOBAL_ADMIN)),
                Refusal("the reseller with a role not allowed", e.r3.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("a customer", e.ca.admin()),
                Refusal("customer claiming the reseller's tenant", impostor("customer", e.r3.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "RemovePartnership",
            {
                "provider_id": e.provider.partner_id,
                "reseller_id": e.r1.partner_id,
                "confirm_legitimate_business_purpose": True,
            },
            e.provider.actor(),
            (
                Refusal("the reseller", e.r1.actor()),
                Refusal("another provider acting as the provider", e.other_provider.actor()),
                Refusal("provider with a role not allowed", e.provider.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("a customer", e.ca.admin()),
                Refusal("system", SYSTEM),
            ),
        ),
    ]


def customer_cases(e: ActorEstate) -> list[Case]:
    """An indirect provider adding a customer for a reseller and naming the reseller on its
    subscription."""
    return [
        Case(
            "AddCustomer",
            {
                "provider_id": e.provider.partner_id,
                "reseller_id": e.r1.partner_id,
                "customer": e.cx.details(),
            },
            e.provider.actor(),
            (
                Refusal("another provider acting as the provider", e.other_provider.actor()),
                Refusal("the reseller", e.r1.actor()),
                Refusal("a direct partner", e.direct.actor()),
                Refusal("provider with no role", e.provider.actor(NO_ROLES)),
                Refusal("the new customer", e.cx.admin()),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "AssociateReseller",
            {
                "customer_tenant_id": e.cb.tenant_id,
                "subscription_id": e.subscription,
                "reseller_mpn_id": e.r1.partner_id,
            },
            e.provider.actor(),
            provider_refusals(e),
        ),
    ]


def subscription_cases(e: ActorEstate) -> list[Case]:
    """Who supports a subscription and who is its partner of record (IR-7)."""
    return [
        Case(
            "AssignSupportContact",
            {
                "customer_tenant_id": e.cb.tenant_id,
                "subscription_id": e.subscription,
                "support_contact": {"kind": "reseller", "partner_id": e.r1.partner_id},
            },
            e.provider.actor(),
            (
                *provider_refusals(e),
                Refusal(
                    "provider naming another partner as the provider contact (IR-7)",
                    e.provider.actor(),
                    data={
                        "customer_tenant_id": e.cb.tenant_id,
                        "subscription_id": e.subscription,
                        "support_contact": {"kind": "provider", "partner_id": e.other_provider.partner_id},
                    },
                ),
            ),
        ),
        Case(
            "SetPartnerOfRecord",
            {
                "customer_tenant_id": e.cb.tenant_id,
                "subscription_id": e.subscription,
                "mpn_id": e.direct.partner_id,
            },
            e.cb.admin(),
            (
                Refusal("another customer", e.ca.admin()),
                Refusal("the partner named", e.direct.actor(GLOBAL_ADMIN)),
                Refusal("the customer's provider", e.provider.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", e.cb.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
    ]


def admin_request_cases(e: ActorEstate) -> list[Case]:
    """Requesting and answering a granular admin relationship (GD-1..GD-4)."""
    return [
        Case(
            "RequestAdminRelationship",
            admin_request(e.direct, e.cy, "Helpdesk (new)"),
            e.direct.actor(ADMIN_AGENT),
            (
                Refusal("another partner acting as the partner", e.provider.actor(ADMIN_AGENT)),
                Refusal("the partner's sales agent (GDAP needs an Admin agent)", e.direct.actor(SALES_AGENT)),
                Refusal("partner with a role not allowed", e.direct.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("partner with no role", e.direct.actor(NO_ROLES)),
                Refusal("the customer", e.cy.admin()),
                Refusal("customer claiming the partner's tenant", impostor("customer", e.direct.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "ApproveAdminRelationship",
            approve_data(e.pending_admin.token),
            e.cg.admin(),
            (
                Refusal("another customer", e.ca.admin()),
                Refusal("the requesting partner", e.direct.actor(GLOBAL_ADMIN)),
                Refusal("partner claiming the customer's tenant", impostor("partner", e.cg.tenant_id)),
                Refusal("system", SYSTEM),
                Refusal(
                    "the customer's user who is not a global admin (GD-4)",
                    e.cg.admin(),
                    "not_global_admin",
                    data=approve_data(e.pending_admin.token, global_admin=False),
                ),
            ),
        ),
        Case(
            "DeclineInvitation",
            {"token": e.pending_admin.token},
            e.cg.admin(),
            (
                Refusal("another customer", e.ca.admin()),
                Refusal("the requesting partner", e.direct.actor(GLOBAL_ADMIN)),
                Refusal("system", SYSTEM),
            ),
        ),
    ]


def admin_management_cases(e: ActorEstate) -> list[Case]:
    """Managing an active admin relationship (GD-9)."""
    return [
        Case(
            "TerminateAdminRelationship",
            {"admin_relationship_id": e.active_admin_id},
            e.direct.actor(ADMIN_AGENT),
            (
                Refusal("another partner", e.provider.actor(ADMIN_AGENT)),
                Refusal("another customer", e.cb.admin()),
                Refusal("the partner with a role not allowed", e.direct.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("partner claiming the customer's tenant", impostor("partner", e.ca.tenant_id)),
                Refusal("system", SYSTEM),
            ),
        ),
        Case(
            "SetAdminRelationshipAutoExtend",
            {"admin_relationship_id": e.active_admin_id, "auto_extend": "P180D"},
            e.direct.actor(ADMIN_AGENT),
            (
                Refusal("the customer (GD-9: the partner's choice)", e.ca.admin()),
                Refusal("another partner", e.provider.actor(ADMIN_AGENT)),
                Refusal("the partner with a role not allowed", e.direct.actor(NOT_A_RELATIONSHIP_ROLE)),
                Refusal("system", SYSTEM),
            ),
        ),
    ]
