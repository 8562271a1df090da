"""The steps of the indirect reseller lifecycle over real servers (IR-1..IR-9), each with the
assertions on what it caused: the partnership by emailed link, a customer added for the
reseller, an order associating the reseller, its support contact, the read side, the
partnership removed silently, and the rows left behind. ``IndirectWorld`` holds the parties.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from service.adapters import orm
from tests.integration.harness import Harness
from tests.support.domain_flows import (
    LINK,
    OFFICE_365,
    a_customer,
    a_partner,
    acting_partner,
    an_order,
    database,
    get_json,
    instant,
    iso,
    mail_with_link,
    outcome,
    read_api,
    rejection,
    send_order,
    settle,
    text_of,
    token_of,
)
from tools.embedded.mailbox import FileMailbox


@dataclass
class IndirectWorld:
    """An indirect provider, its reseller, a new customer and the customer's subscription."""

    provider: dict[str, Any] = field(
        default_factory=lambda: a_partner("indirect-provider", "Nordic Distribution AB")
    )
    reseller: dict[str, Any] = field(default_factory=lambda: a_partner("indirect-reseller", "Fjord IT AB"))
    customer: dict[str, Any] = field(default_factory=a_customer)
    subscription_id: str = field(default_factory=lambda: f"sub-{uuid.uuid4().hex[:12]}")

    @property
    def tenant(self) -> str:
        return str(self.customer["tenant_id"])


async def partnership_by_emailed_link(h: Harness, mailbox: FileMailbox, w: IndirectWorld) -> None:
    """IR-3: the provider invites the reseller by email with a personalized link; the reseller
    accepts with the link's token."""
    provider, reseller = w.provider, w.reseller
    requested_id = await h.send(
        "RequestPartnership",
        {
            "actor": acting_partner(provider),
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
        },
        key=reseller["partner_id"],
    )
    requested = await outcome(h, requested_id, "PartnershipRequested")
    assert requested["_key"] == reseller["partner_id"].encode()
    assert requested["correlationid"] == requested_id
    assert requested["data"]["provider_id"] == provider["partner_id"]
    assert requested["data"]["reseller_id"] == reseller["partner_id"]
    url = requested["data"]["invitation_url"]
    assert url.startswith(h.settings.link_base_partnership + "?token=")
    mail = await mail_with_link(mailbox, url, reseller["contact_email"])
    assert mailbox.envelopes[-1][1] == [reseller["contact_email"]]
    assert provider["name"] in mail["Subject"]
    link = LINK.findall(text_of(mail))[0]
    await h.wait_until(
        lambda r: any(e["data"].get("causationid") == requested_id for e in r.of_type("EmailSent"))
    )

    accepted_id = await h.send(
        "AcceptPartnership",
        {"actor": acting_partner(reseller), "token": token_of(link)},
        key=reseller["partner_id"],
    )
    accepted = await outcome(h, accepted_id, "PartnershipAccepted")
    assert accepted["_key"] == reseller["partner_id"].encode()
    assert accepted["data"] == {
        "partnership_id": requested["data"]["partnership_id"],
        "provider_id": provider["partner_id"],
        "reseller_id": reseller["partner_id"],
        "accepted_by": f"agent@{reseller['partner_id']}.example",
    }


async def add_customer_for_the_reseller(h: Harness, w: IndirectWorld) -> str:
    """IR-4, IR-5: the provider adds a customer on the reseller's behalf; the command's id."""
    provider, reseller, tenant = w.provider, w.reseller, w.tenant
    added_id = await h.send(
        "AddCustomer",
        {
            "actor": acting_partner(provider),
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
            "customer": w.customer,
        },
        key=tenant,
    )
    added = await outcome(h, added_id, "CustomerAdded")
    assert added["_key"] == tenant.encode()
    assert added["data"] == {
        "customer_tenant_id": tenant,
        "provider_id": provider["partner_id"],
        "associated_reseller_id": reseller["partner_id"],
    }
    return added_id


async def order_associates_the_reseller(h: Harness, w: IndirectWorld) -> datetime:
    """IR-6: an order with the reseller's MPN ID on record associates it with the subscription;
    the association's ``valid_from``."""
    provider, reseller, tenant, subscription_id = w.provider, w.reseller, w.tenant, w.subscription_id
    order_id = await send_order(h, an_order(tenant, subscription_id, reseller_mpn_id=reseller["partner_id"]))
    recorded = await outcome(h, order_id, "SubscriptionRecorded")
    assert recorded["_key"] == tenant.encode()
    assert recorded["data"]["subscription_id"] == subscription_id
    assert recorded["data"]["offer_id"] == OFFICE_365 and recorded["data"]["quantity"] == 10
    associated = await outcome(h, order_id, "ResellerAssociated")
    assert associated["_key"] == tenant.encode()
    assert associated["data"]["subscription_id"] == subscription_id
    assert associated["data"]["customer_tenant_id"] == tenant
    assert associated["data"]["provider_id"] == provider["partner_id"]
    assert associated["data"]["reseller_mpn_id"] == reseller["partner_id"]
    assert associated["data"]["previous_reseller_mpn_id"] is None
    return instant(associated["data"]["valid_from"])


async def reseller_becomes_support_contact(h: Harness, w: IndirectWorld) -> None:
    """IR-7: the reseller becomes the subscription's support contact."""
    provider, reseller, tenant, subscription_id = w.provider, w.reseller, w.tenant, w.subscription_id
    contact_id = await h.send(
        "AssignSupportContact",
        {
            "actor": acting_partner(provider),
            "customer_tenant_id": tenant,
            "subscription_id": subscription_id,
            "support_contact": {"kind": "reseller", "partner_id": reseller["partner_id"]},
        },
        key=subscription_id,
    )
    contact = await outcome(h, contact_id, "SupportContactAssigned")
    assert contact["_key"] == subscription_id.encode()
    assert contact["data"] == {
        "subscription_id": subscription_id,
        "customer_tenant_id": tenant,
        "support_contact": {"kind": "reseller", "partner_id": reseller["partner_id"]},
    }


async def read_side_shows_the_reseller(
    h: Harness, w: IndirectWorld, added_id: str, associated_from: datetime
) -> None:
    """The provider's resellers, the subscription's attribution and the customer's timeline."""
    provider, reseller, tenant = w.provider, w.reseller, w.tenant
    async with read_api(h) as api:
        resellers = await get_json(api, f"/providers/{provider['partner_id']}/resellers")
        assert [r["reseller_id"] for r in resellers["resellers"]] == [reseller["partner_id"]]
        attribution = await get_json(
            api, f"/subscriptions/{w.subscription_id}/attribution", at=iso(associated_from)
        )
        assert attribution["reseller_mpn_id"] == reseller["partner_id"]
        assert attribution["support_contact"] == {
            "kind": "reseller",
            "partner_id": reseller["partner_id"],
        }
        timeline = await get_json(api, f"/customers/{tenant}/timeline")
        entry = next(e for e in timeline["entries"] if e["event_type"] == "CustomerAdded")
        assert entry["command_id"] == added_id and entry["command_type"] == "AddCustomer"
        assert entry["actor"]["kind"] == "partner"
        assert entry["actor"]["tenant_id"] == provider["tenant_id"].lower()


async def remove_the_partnership_silently(h: Harness, mailbox: FileMailbox, w: IndirectWorld) -> None:
    """IR-8: without the confirmation the removal is refused; with it, it is silent."""
    provider, reseller, tenant = w.provider, w.reseller, w.tenant
    unconfirmed_id = await h.send(
        "RemovePartnership",
        {
            "actor": acting_partner(provider),
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
            "confirm_legitimate_business_purpose": False,
        },
        key=reseller["partner_id"],
    )
    await rejection(h, unconfirmed_id, "RemovePartnership", "removal_not_confirmed", "IR-8")

    emails_before = len(mailbox.messages())
    assert emails_before == 1  # the partnership invitation, and nothing else
    removed_id = await h.send(
        "RemovePartnership",
        {
            "actor": acting_partner(provider),
            "provider_id": provider["partner_id"],
            "reseller_id": reseller["partner_id"],
            "confirm_legitimate_business_purpose": True,
        },
        key=reseller["partner_id"],
    )
    removed = await outcome(h, removed_id, "PartnershipRemoved")
    assert removed["_key"] == reseller["partner_id"].encode()
    assert removed["data"] == {
        "provider_id": provider["partner_id"],
        "reseller_id": reseller["partner_id"],
        "associated_customer_tenant_ids": [tenant],
        "delegated_admin_unchanged": True,
    }
    await asyncio.sleep(2.5)
    await settle(h)
    assert len(mailbox.messages()) == emails_before, "IR-8: the removal sends no notice"
    assert not any(e["data"].get("causationid") == removed_id for e in h.received.of_type("EmailSent"))


async def read_side_after_the_removal(h: Harness, w: IndirectWorld) -> None:
    """IR-8, IR-9: the customer keeps both partners; the reseller is no longer the provider's,
    and the customer is still listed under it."""
    provider, reseller, tenant = w.provider, w.reseller, w.tenant
    async with read_api(h) as api:
        partners = await get_json(api, f"/customers/{tenant}/partners")
        assert {(p["partner_id"], p["delegated_admin"]) for p in partners["partners"]} == {
            (provider["partner_id"], True),
            (reseller["partner_id"], True),
        }
        assert partners["indirect_provider_id"] == provider["partner_id"]
        assert partners["indirect_reseller_id"] == reseller["partner_id"]
        resellers = await get_json(api, f"/providers/{provider['partner_id']}/resellers")
        assert resellers["resellers"] == [], "IR-8: the reseller is no longer the provider's"
        customers = await get_json(
            api, f"/providers/{provider['partner_id']}/customers", reseller_id=reseller["partner_id"]
        )
        assert [(c["tenant_id"], c["associated_reseller_id"]) for c in customers["customers"]] == [
            (tenant, reseller["partner_id"])
        ], "IR-9: the customer is still listed under the reseller"


async def rows_after_the_removal(database_url: str, w: IndirectWorld) -> None:
    """IR-8 in the database: relationships unchanged, the partnership removed, the customer
    still the provider's, associated with the reseller."""
    provider, reseller, tenant = w.provider, w.reseller, w.tenant
    async with database(database_url) as conn:
        relationships = (
            await conn.execute(
                select(orm.reseller_relationships).where(
                    orm.reseller_relationships.c.customer_tenant_id == tenant
                )
            )
        ).all()
        assert {(r.partner_id, r.status, r.delegated_admin) for r in relationships} == {
            (provider["partner_id"], "active", True),
            (reseller["partner_id"], "active", True),
        }, "IR-8: customers stay associated, delegated admin privileges unchanged"
        partnership = (await conn.execute(select(orm.partnerships))).one()
        assert partnership.status == "removed"
        stored = (await conn.execute(select(orm.customers).where(orm.customers.c.tenant_id == tenant))).one()
        assert (stored.provider_id, stored.associated_reseller_id) == (
            provider["partner_id"],
            reseller["partner_id"],
        )
