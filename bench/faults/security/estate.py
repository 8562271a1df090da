"""The parties T7 and T8 invent, and the set-up commands that make real invitations for them.

A partner is registered with ``RegisterPartner``; invitations are real
(``RequestResellerRelationship``, ``RequestPartnership``, ``RequestAdminRelationship``) and
their tokens are taken from the staged invitation emails, the link a recipient would follow.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bench.faults.parties import customer_details, partner_registration
from bench.faults.security.lab import SYSTEM, Actor, Lab, tenant

__all__ = [
    "ADMIN_AGENT",
    "GLOBAL_ADMIN",
    "NOT_A_RELATIONSHIP_ROLE",
    "SALES_AGENT",
    "Customer",
    "Partner",
    "Token",
    "accept",
    "accept_data",
    "admin_request",
    "approve_data",
    "invite_customer",
    "invite_reseller",
    "register",
    "request_admin",
]

COUNTRY = "SE"

COUNTRY = "SE"
ADMIN_AGENT = ["admin-agent"]
SALES_AGENT = ["sales-agent"]
"""A partner's default actor: documents 001 and 003 both allow a sales agent (ACT-1)."""
GLOBAL_ADMIN = ["global-admin"]
NOT_A_RELATIONSHIP_ROLE = ["billing-admin"]
"""A Partner Center role that may not request or manage relationships (ACT-1)."""


@dataclass
class Partner:
    partner_id: str
    tenant_id: str
    kind: str

    def actor(self, roles: list[str] | None = None) -> Actor:
        roles = SALES_AGENT if roles is None else roles
        return Actor("partner", self.tenant_id, tuple(roles), "agent@partner.example.com")

    def registration(self) -> dict[str, Any]:
        """The ``RegisterPartner`` data that registered it."""
        return partner_registration(
            self.partner_id,
            self.tenant_id,
            f"Partner {self.partner_id}",
            COUNTRY,
            self.kind,
            f"p{self.partner_id}@partner.example.com",
            "en-US",
        )


@dataclass
class Customer:
    tenant_id: str
    name: str

    def admin(self) -> Actor:
        return Actor("customer", self.tenant_id, (), f"admin@{self.name}.example.com")

    def details(self) -> dict[str, Any]:
        admin_email = f"admin@{self.name}.example.com"
        return customer_details(
            self.tenant_id, self.name, admin_email, country=COUNTRY, cloud="public", locale="en-US"
        )


@dataclass
class Token:
    """A real invitation token, whom it was sent to, and which command takes it."""

    token: str
    kind: str
    """``customer`` (reseller relationship), ``reseller`` (partnership) or ``admin`` (GDAP)"""
    owner: Actor
    """the invitee's rightful actor"""


async def register(lab: Lab, partner_id: str, kind: str, rng: random.Random) -> Partner:
    partner = Partner(partner_id, tenant(rng), kind)
    await lab.apply("RegisterPartner", partner.registration(), SYSTEM)
    return partner


async def invite_customer(lab: Lab, partner: Partner, customer: Customer) -> Token:
    sent = await lab.apply(
        "RequestResellerRelationship",
        {"partner_id": partner.partner_id, "customer": customer.details(), "include_delegated_admin": True},
        partner.actor(),
    )
    return Token(await lab.token_of(sent.command_id), "customer", customer.admin())


async def invite_reseller(lab: Lab, provider: Partner, reseller: Partner) -> Token:
    sent = await lab.apply(
        "RequestPartnership",
        {"provider_id": provider.partner_id, "reseller_id": reseller.partner_id},
        provider.actor(),
    )
    return Token(await lab.token_of(sent.command_id), "reseller", reseller.actor())


GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
"""An Entra role template id (Microsoft's permissions reference)."""


def admin_request(partner: Partner, customer: Customer, display_name: str) -> dict[str, Any]:
    """A valid ``RequestAdminRelationship`` (GD-1..GD-3)."""
    return {
        "partner_id": partner.partner_id,
        "customer": customer.details(),
        "display_name": display_name,
        "roles": [GLOBAL_READER],
        "duration": "P90D",
    }


async def request_admin(
    lab: Lab, partner: Partner, customer: Customer, display_name: str
) -> tuple[Token, str]:
    """A pending admin relationship: its invitation token and the relationship's id."""
    data = admin_request(partner, customer, display_name)
    sent = await lab.apply("RequestAdminRelationship", data, partner.actor(ADMIN_AGENT))
    token = Token(await lab.token_of(sent.command_id), "admin", customer.admin())
    return token, await lab.admin_relationship_id(sent.command_id)


def approve_data(token: str, *, global_admin: bool = True) -> dict[str, Any]:
    approver = {"user": "admin@customer.example.com", "is_global_admin": global_admin}
    return {"token": token, "approved_by": approver}


def accept_data(token: str, *, global_admin: bool = True) -> dict[str, Any]:
    return {
        "token": token,
        "accepted_by": {"user": "admin@customer.example.com", "is_global_admin": global_admin},
        "accept_customer_agreement": True,
    }


def accept(token: Token) -> tuple[str, dict[str, Any]]:
    """The command that accepts ``token`` as its rightful owner would send it."""
    if token.kind == "customer":
        return "AcceptResellerRelationship", accept_data(token.token)
    if token.kind == "admin":
        return "ApproveAdminRelationship", approve_data(token.token)
    return "AcceptPartnership", {"token": token.token}
