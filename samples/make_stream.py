"""Regenerates ``stream.jsonl``, the sample stream of ``python -m tools.demo``:
``python -m samples.make_stream`` (from the repository's root).

Each line is one step of the demo, a JSON object with a ``kind``:

* ``note``: a section heading (``text``);
* ``command``: a CloudEvent (``event``) published on ``partnerlink.commands`` with ``key``;
* ``raw``: a record that cannot be read (``value``, published as it is) to show dead letters;
* ``order``: a Partner Center ``Order`` (``order``) on ``billing.orders``, bare or, with
  ``cloudevent: true``, as an ``OrderCreated`` CloudEvent;
* ``answer_email``: a command that needs an invitation's token: the demo waits for the email
  to ``to`` whose text names the ``inviter`` (MPN ID), takes the token from the link in it and
  publishes ``event`` with ``data.token`` set;
* ``admin_command``: a command about an admin relationship (GDAP) whose id the service made:
  the demo sets ``data.admin_relationship_id`` to the latest one requested for ``customer``;
* ``query``: a read API call (``path``) the demo makes at the end, before its summary; ``at``
  asks about the instant between the ``nth`` and the next event of ``type`` on a subscription.

Ids are stable and readable so the queries can name them: partners have 7-digit MPN IDs,
customers ``7c2e9d10-51a4-4b8e-a6f3-0000000000NN``, subscriptions ``5a9c1f3e-...-000000000NNN``.

The cast (partners, customers, subscriptions) is in :mod:`samples.cast`, the step builders in
:mod:`samples.steps`; this module tells the story, scenario by scenario.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from samples.cast import (
    ADMIN_AGENT,
    ANADOLU,
    BAYERN,
    BORAS,
    CONTOSO,
    COUNTY,
    EGE,
    FABRIKAM,
    FJORD,
    GLOBAL_ADMINISTRATOR,
    GLOBAL_READER,
    HELPDESK_ADMINISTRATOR,
    IZMIR,
    KESSLER,
    LINDQVIST,
    LITWARE,
    NORTHWIND,
    PANDA,
    PARTNERS,
    RIVAL,
    SAO,
    SUB_EGE,
    SUB_KESSLER,
    SUB_LINDQVIST,
    SYSTEM,
    TAILSPIN,
    UNKNOWN_TENANT,
    XIHU,
    YUNHAI,
    Customer,
    Json,
    Partner,
    subscription,
)
from samples.steps import Stream, accept, decline, line, order, request

OUTPUT = Path(__file__).with_name("stream.jsonl")
DUPLICATE_ID = "00000000-demo-4000-8000-dup000000001"


def register_partners(stream: Stream) -> None:
    stream.note("Partners are registered (reference data from Partner Center)")
    for partner in PARTNERS:
        stream.command("RegisterPartner", partner.registration(), partner.mpn_id)


def invite_customers(stream: Stream) -> None:
    stream.note("Customers are invited in their own locales and clouds (RR-1, RR-2, RR-6)")
    request(stream, CONTOSO, LINDQVIST, True, message="Hej! Som vi pratade om i telefon: här är inbjudan.")
    request(stream, CONTOSO, FJORD, False)
    request(stream, ANADOLU, EGE, True, message="Görüşmemizde konuştuğumuz davet ektedir.")
    request(stream, NORTHWIND, COUNTY, True)
    request(stream, FABRIKAM, BAYERN, True)
    request(stream, CONTOSO, BORAS, False)
    request(stream, ANADOLU, IZMIR, True)


def refuse_requests(stream: Stream) -> None:
    stream.note("Requests that break a rule are refused with a CommandRejected")
    request(stream, NORTHWIND, COUNTY, False)  # RR-3: us-government needs DAP
    request(stream, CONTOSO, SAO, True)  # RR-4: SE partner, BR customer
    request(stream, CONTOSO, RIVAL, True)  # MP-3: the customer is a CSP partner
    request(stream, CONTOSO, EGE, True, actor=CONTOSO.actor(tenant_id=ANADOLU.tenant_id))  # ACT-1: as another
    request(stream, CONTOSO, BORAS, True, actor=CONTOSO.actor(("billing-admin",)))  # ACT-1: role not allowed


def accept_invitations(stream: Stream) -> None:
    stream.note("Global admins accept through the link in the email they received (RR-5, RR-7)")
    accept(stream, LINDQVIST, CONTOSO)
    accept(stream, EGE, ANADOLU)
    accept(stream, COUNTY, NORTHWIND)
    accept(stream, FJORD, CONTOSO, global_admin=False)  # RR-5: not a global admin, refused
    accept(stream, FJORD, CONTOSO)  # then the global admin accepts
    accept(stream, BAYERN, FABRIKAM, mca=False)  # RR-5: MCA not accepted, refused
    accept(stream, BAYERN, FABRIKAM)
    decline(stream, BORAS, CONTOSO, "Vi har redan en partner för detta.")
    accept(stream, BORAS, CONTOSO)  # INV-1: the declined link is spent
    accept(stream, IZMIR, ANADOLU, as_tenant=EGE.tenant_id)  # ACT-1: another tenant's admin


def multi_partner(stream: Stream) -> None:
    stream.note("Multi-partner (MP-1): a second partner invites a customer that already has one")
    request(stream, FABRIKAM, LINDQVIST, False, id_=DUPLICATE_ID)
    stream.note("At-least-once delivery: the same command delivered twice has its effects once")
    request(stream, FABRIKAM, LINDQVIST, False, id_=DUPLICATE_ID)
    stream.note("The customer accepts the second partner too: it now has two (MP-1, MP-2)")
    accept(stream, LINDQVIST, FABRIKAM)


def unreadable_records(stream: Stream) -> None:
    stream.note("Unreadable messages go to the dead-letter topic with the error in headers")
    stream.raw("garbage", "this is not JSON {")
    stream.raw("no-envelope", json.dumps({"type": "RequestResellerRelationship", "partner_id": "1234567"}))
    stream.raw("unknown-type", json.dumps(stream.event("TransferBillingOwnership", {"actor": SYSTEM}, "x")))
    invalid = {
        "actor": CONTOSO.actor(),
        "partner_id": "12-34",
        "customer": {"tenant_id": "not-a-guid"},
        "include_delegated_admin": "maybe",
    }
    stream.raw("schema", json.dumps(stream.event("RequestResellerRelationship", invalid, "x")))


def billing_orders(stream: Stream) -> None:
    stream.note("Billing publishes Partner Center orders on billing.orders (IR-4, IR-6)")
    lines = [
        line(0, "CFQ7TTC0LH18:0001", subscription(101), 25, reseller=TAILSPIN),
        line(1, "DZH318Z0BQ3Q:0001", subscription(102), 1),
    ]
    # IR-6: the reseller on record has no partnership with a provider of the customer yet
    stream.order(order("ord-2026-000101", LINDQVIST.tenant_id, "2026-11-21T10:05:00Z", lines))
    ege = [line(0, "CFQ7TTC0LF8Q:0001", SUB_EGE, 40)]
    stream.order(
        order("ord-2026-000102", EGE.tenant_id, "2026-11-21T10:06:00Z", ege, cycle="annual"), cloudevent=True
    )
    unknown = [line(0, "CFQ7TTC0LH18:0001", subscription(104), 3)]
    # IR-4: a customer Partnerlink does not know
    stream.order(order("ord-2026-000103", UNKNOWN_TENANT, "2026-11-21T10:07:00Z", unknown))
    lindqvist = [line(0, "CFQ7TTC0LF8Q:0001", SUB_LINDQVIST, 12)]
    stream.order(order("ord-2026-000104", LINDQVIST.tenant_id, "2026-11-21T10:08:00Z", lindqvist))


def fabrikam_command(stream: Stream, type_: str, key: str, **data: Any) -> None:
    """A command issued by the indirect provider Fabrikam's sales agent."""
    stream.command(type_, {"actor": FABRIKAM.actor(), **data}, key)


def indirect_model(stream: Stream) -> None:
    stream.note("Indirect provider and indirect reseller: the partnership (IR-1, IR-2, IR-3)")
    partnership = {"provider_id": FABRIKAM.mpn_id, "reseller_id": TAILSPIN.mpn_id}
    fabrikam_command(stream, "RequestPartnership", TAILSPIN.mpn_id, **partnership)
    fabrikam_command(
        stream, "RequestPartnership", LITWARE.mpn_id, provider_id=FABRIKAM.mpn_id, reseller_id=LITWARE.mpn_id
    )
    # IR-4: no customer for the reseller before the partnership is active
    fabrikam_command(stream, "AddCustomer", KESSLER.tenant_id, **partnership, customer=KESSLER.details())
    data = {"actor": TAILSPIN.actor()}
    stream.answer_email(TAILSPIN.contact_email, FABRIKAM, "AcceptPartnership", data, TAILSPIN.mpn_id)

    stream.note(
        "The provider acts for its reseller: customer, order, support contact, association (IR-4..IR-7)"
    )
    fabrikam_command(stream, "AddCustomer", KESSLER.tenant_id, **partnership, customer=KESSLER.details())
    kessler = [line(0, "CFQ7TTC0LH18:0001", SUB_KESSLER, 30, reseller=TAILSPIN)]
    stream.order(order("ord-2026-000105", KESSLER.tenant_id, "2026-11-21T10:09:00Z", kessler))
    on_kessler = {"customer_tenant_id": KESSLER.tenant_id, "subscription_id": SUB_KESSLER}
    contact = {"kind": "reseller", "partner_id": TAILSPIN.mpn_id}
    fabrikam_command(stream, "AssignSupportContact", SUB_KESSLER, **on_kessler, support_contact=contact)
    fabrikam_command(stream, "AssociateReseller", SUB_KESSLER, **on_kessler, reseller_mpn_id=None)
    fabrikam_command(stream, "AssociateReseller", SUB_KESSLER, **on_kessler, reseller_mpn_id=TAILSPIN.mpn_id)

    stream.note("Removing the partnership needs a confirmation and sends no email (IR-8)")
    removal = {**partnership, "confirm_legitimate_business_purpose": False}
    fabrikam_command(stream, "RemovePartnership", TAILSPIN.mpn_id, **removal)
    removal["confirm_legitimate_business_purpose"] = True
    fabrikam_command(stream, "RemovePartnership", TAILSPIN.mpn_id, **removal)


def set_partner_of_record(stream: Stream, customer: Customer, sub: str, mpn_id: str | None) -> None:
    data = {"actor": customer.actor(), "customer_tenant_id": customer.tenant_id, "subscription_id": sub}
    stream.command("SetPartnerOfRecord", {**data, "mpn_id": mpn_id}, sub)


def partner_of_record(stream: Stream) -> None:
    stream.note("The customer adds, changes and deletes a subscription's partner of record (PR-1, PR-2)")
    set_partner_of_record(stream, LINDQVIST, SUB_LINDQVIST, "9999999")  # PR-1: the MPN ID is checked
    set_partner_of_record(stream, LINDQVIST, SUB_LINDQVIST, CONTOSO.mpn_id)
    set_partner_of_record(stream, LINDQVIST, SUB_LINDQVIST, FABRIKAM.mpn_id)
    set_partner_of_record(stream, LINDQVIST, SUB_LINDQVIST, None)


def end_relationship(stream: Stream) -> None:
    stream.note("The customer revokes DAP; the relationship stays (RR-8)")
    pair = {"partner_id": ANADOLU.mpn_id, "customer_tenant_id": EGE.tenant_id}
    stream.command("RevokeDelegatedAdmin", {"actor": EGE.actor(), **pair}, EGE.tenant_id)

    stream.note("Only the partner removes a relationship, and not while it has active subscriptions (PR-4)")
    stream.command("RemoveResellerRelationship", {"actor": EGE.actor(), **pair}, EGE.tenant_id)
    set_partner_of_record(stream, EGE, SUB_EGE, ANADOLU.mpn_id)
    stream.command("RemoveResellerRelationship", {"actor": ANADOLU.actor(), **pair}, EGE.tenant_id)
    cancelled = [line(0, "CFQ7TTC0LF8Q:0001", SUB_EGE, 40)]
    stream.order(
        order("ord-2026-000106", EGE.tenant_id, "2026-11-21T10:10:00Z", cancelled, status="cancelled")
    )
    stream.command("RemoveResellerRelationship", {"actor": ANADOLU.actor(), **pair}, EGE.tenant_id)


def china_21vianet(stream: Stream) -> None:
    stream.note("21Vianet: the partner emails an offer, the customer authorizes it as delegated admin (PR-5)")
    trial = {"offer_id": "O365_E3", "kind": "trial", "quantity": 25}
    request(stream, YUNHAI, XIHU, True, message="您好。这是我们讨论过的 Office 365 E3 试用。", offer=trial)
    request(stream, YUNHAI, PANDA, False)  # PR-5: DAP is required in china-21vianet
    accept(stream, XIHU, YUNHAI)


def admin_request(partner: Partner, customer: Customer, name: str, roles: list[str], **fields: Any) -> Json:
    return {
        "actor": partner.actor(ADMIN_AGENT),
        "partner_id": partner.mpn_id,
        "customer": customer.details(),
        "display_name": name,
        "roles": roles,
        "duration": "P730D",
    } | fields


def granular_admin(stream: Stream) -> None:
    stream.note("GDAP: a partner asks for Entra roles for up to two years (GD-1..GD-3)")
    helpdesk = [GLOBAL_READER, HELPDESK_ADMINISTRATOR]
    tenant = LINDQVIST.tenant_id
    message = "Som avtalat: läs och support."
    request = admin_request(CONTOSO, LINDQVIST, "Helpdesk 2027", helpdesk, message=message)
    stream.command("RequestAdminRelationship", request, tenant)
    too_long = admin_request(CONTOSO, LINDQVIST, "Helpdesk 2028", helpdesk, duration="P800D")
    stream.command("RequestAdminRelationship", too_long, tenant)  # GD-2
    roles = [GLOBAL_ADMINISTRATOR]
    break_glass = admin_request(CONTOSO, LINDQVIST, "Break glass", roles, auto_extend="P180D")
    stream.command("RequestAdminRelationship", break_glass, tenant)  # GD-3

    stream.note("The global admin approves by the link; the partner turns auto-extend on (GD-4, GD-9)")
    approval = {
        "actor": LINDQVIST.actor(),
        "approved_by": {"user": LINDQVIST.admin_email, "is_global_admin": True},
    }
    stream.answer_email(LINDQVIST.admin_email, CONTOSO, "ApproveAdminRelationship", approval, tenant)
    auto_extend = {"actor": CONTOSO.actor(ADMIN_AGENT), "auto_extend": "P180D"}
    stream.admin_command("SetAdminRelationshipAutoExtend", auto_extend, LINDQVIST)
    by_customer = {**auto_extend, "actor": LINDQVIST.actor()}  # GD-9: the partner's choice
    stream.admin_command("SetAdminRelationshipAutoExtend", by_customer, LINDQVIST)

    stream.note("The customer ends it, for good (GD-6); warnings and expiry are the clock's (GD-7, GD-8)")
    stream.admin_command("TerminateAdminRelationship", {"actor": LINDQVIST.actor()}, LINDQVIST)
    stream.admin_command("TerminateAdminRelationship", {"actor": CONTOSO.actor(ADMIN_AGENT)}, LINDQVIST)


def read_api_queries(stream: Stream) -> None:
    """What the demo asks the read API at the end."""
    customer, provider = "/customers/{}", f"/providers/{FABRIKAM.mpn_id}"
    stream.query(
        "PR-3, MP-1: the multi-partner customer's partners",
        f"{customer.format(LINDQVIST.tenant_id)}/partners",
    )
    stream.query(
        "PR-3: an unknown tenant has none (an empty list)", f"{customer.format(UNKNOWN_TENANT)}/partners"
    )
    stream.query(
        "IR-8: the reseller's customer keeps its partners and DAP",
        f"{customer.format(KESSLER.tenant_id)}/partners",
    )
    stream.query("IR-8: the provider's resellers after the removal", f"{provider}/resellers")
    stream.query(
        "IR-9: the provider's customers of one reseller",
        f"{provider}/customers?reseller_id={TAILSPIN.mpn_id}",
    )
    at = {"type": "PartnerOfRecordChanged", "subscription_id": SUB_LINDQVIST, "nth": 2}
    attribution = f"/subscriptions/{SUB_LINDQVIST}/attribution"
    stream.query("PR-2: partner of record between the change and the delete", attribution, at=at)
    stream.query("PR-2: partner of record now (deleted)", attribution)
    stream.query(
        "IR-6, IR-7: the reseller-associated subscription", f"/subscriptions/{SUB_KESSLER}/attribution"
    )
    stream.query("GDAP: the partner's admin relationships", f"/partners/{CONTOSO.mpn_id}/admin-relationships")
    stream.query("The multi-partner customer's timeline", f"{customer.format(LINDQVIST.tenant_id)}/timeline")


SCENARIOS = (
    register_partners,
    invite_customers,
    refuse_requests,
    accept_invitations,
    multi_partner,
    unreadable_records,
    billing_orders,
    indirect_model,
    partner_of_record,
    end_relationship,
    china_21vianet,
    granular_admin,
    read_api_queries,
)


def build() -> Stream:
    stream = Stream()
    for scenario in SCENARIOS:
        scenario(stream)
    return stream


def main() -> None:
    stream = build()
    stream.write(OUTPUT)
    print(f"{len(stream.steps)} steps written to {OUTPUT}")


if __name__ == "__main__":
    main()
