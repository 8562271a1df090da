"""Partners and commands of the indirect model and billing (IR-1..IR-8, PR-1..PR-5), as
CloudEvent bytes or Partner Center order bytes, as the consumer hands them over.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import uuid4

from service.domain.model import Partner
from tests.support.commands import (
    cloud_event,
    customer_actor,
    customer_details,
    new_partner,
    partner_actor,
)

OFFER_ID = "CFQ7TTC0LH18"


def provider_partner(*, country: str = "SE", mpa_active: bool = True) -> Partner:
    partner = new_partner(country=country, name="Contoso Distribution AB")
    return replace(partner, kind="indirect-provider", mpa_active=mpa_active)


def reseller_partner(
    *,
    kind: str = "indirect-reseller",
    csp_enrolled: bool = True,
    mpa_active: bool = True,
    locale: str = "tr-TR",
) -> Partner:
    partner = new_partner(locale=locale, name="Bayi Bilişim AŞ")
    return replace(
        partner,
        kind=kind,
        csp_enrolled=csp_enrolled,
        mpa_active=mpa_active,
        contact_email="satis@bayi.example",
    )


def advisor_partner() -> Partner:
    return replace(new_partner(name="Advisory Partner AB"), kind="advisor")


# --- commands (CloudEvent bytes, as the consumer hands them over) --------------------------


def command(type_: str, actor: dict[str, Any], subject: str | None = None, **data: Any) -> bytes:
    return cloud_event(type_, {"actor": actor, **data}, subject=subject)


def request_partnership(
    provider: Partner, reseller: Partner, *, actor: dict[str, Any] | None = None
) -> bytes:
    return command(
        "RequestPartnership",
        actor or partner_actor(provider),
        reseller.partner_id,
        provider_id=provider.partner_id,
        reseller_id=reseller.partner_id,
    )


def accept_partnership(token: str, reseller: Partner, *, actor: dict[str, Any] | None = None) -> bytes:
    return command("AcceptPartnership", actor or partner_actor(reseller), reseller.partner_id, token=token)


def decline_partnership(token: str, reseller: Partner) -> bytes:
    return command("DeclineInvitation", partner_actor(reseller), reseller.partner_id, token=token)


def remove_partnership(
    provider: Partner, reseller: Partner, *, confirm: bool = True, actor: dict[str, Any] | None = None
) -> bytes:
    return command(
        "RemovePartnership",
        actor or partner_actor(provider),
        reseller.partner_id,
        provider_id=provider.partner_id,
        reseller_id=reseller.partner_id,
        confirm_legitimate_business_purpose=confirm,
    )


def add_customer(
    provider: Partner, reseller: Partner, customer: dict[str, Any], *, actor: dict[str, Any] | None = None
) -> bytes:
    return command(
        "AddCustomer",
        actor or partner_actor(provider),
        customer["tenant_id"],
        provider_id=provider.partner_id,
        reseller_id=reseller.partner_id,
        customer=customer,
    )


def associate_reseller(
    provider: Partner,
    tenant: str,
    subscription_id: str,
    reseller_mpn_id: str | None,
    *,
    actor: dict[str, Any] | None = None,
) -> bytes:
    return command(
        "AssociateReseller",
        actor or partner_actor(provider),
        tenant,
        customer_tenant_id=tenant,
        subscription_id=subscription_id,
        reseller_mpn_id=reseller_mpn_id,
    )


def assign_support_contact(
    provider: Partner, tenant: str, subscription_id: str, kind: str, partner_id: str
) -> bytes:
    return command(
        "AssignSupportContact",
        partner_actor(provider),
        tenant,
        customer_tenant_id=tenant,
        subscription_id=subscription_id,
        support_contact={"kind": kind, "partner_id": partner_id},
    )


def set_partner_of_record(
    tenant: str, subscription_id: str, mpn_id: str | None, *, actor: dict[str, Any] | None = None
) -> bytes:
    return command(
        "SetPartnerOfRecord",
        actor or customer_actor(tenant),
        tenant,
        customer_tenant_id=tenant,
        subscription_id=subscription_id,
        mpn_id=mpn_id,
    )


def revoke_delegated_admin(partner_id: str, tenant: str, *, actor: dict[str, Any] | None = None) -> bytes:
    return command(
        "RevokeDelegatedAdmin",
        actor or customer_actor(tenant),
        tenant,
        partner_id=partner_id,
        customer_tenant_id=tenant,
    )


def remove_relationship(partner: Partner, tenant: str, *, actor: dict[str, Any] | None = None) -> bytes:
    return command(
        "RemoveResellerRelationship",
        actor or partner_actor(partner),
        tenant,
        partner_id=partner.partner_id,
        customer_tenant_id=tenant,
    )


def offer_request(
    partner: Partner, customer: dict[str, Any], offer: dict[str, Any], *, dap: bool = True
) -> bytes:
    return command(
        "RequestResellerRelationship",
        partner_actor(partner),
        customer["tenant_id"],
        partner_id=partner.partner_id,
        customer=customer,
        include_delegated_admin=dap,
        offer=offer,
    )


def line(
    subscription_id: str, *, number: int = 0, reseller: str | None = None, quantity: int = 10
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "lineItemNumber": number,
        "offerId": OFFER_ID,
        "subscriptionId": subscription_id,
        "quantity": quantity,
    }
    if reseller is not None:
        item["partnerIdOnRecord"] = reseller
    return item


def order(
    tenant: str, *lines: dict[str, Any], status: str | None = None, created: datetime | None = None
) -> bytes:
    """A bare Partner Center ``Order`` as billing publishes it on ``billing.orders``."""
    document: dict[str, Any] = {
        "id": f"order-{uuid4().hex[:12]}",
        "referenceCustomerId": tenant,
        "billingCycle": "monthly",
        "lineItems": list(lines),
    }
    if status is not None:
        document["status"] = status
    if created is not None:
        document["creationDate"] = created.isoformat()
    return json.dumps(document).encode()


def china_partner() -> Partner:
    return new_partner(country="CN", locale="zh-CN", name="Contoso China")


def china_customer(**overrides: Any) -> dict[str, Any]:
    return customer_details(country="CN", cloud="china-21vianet", locale="zh-CN", **overrides)
