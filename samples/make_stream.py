"""Regenerates ``stream.jsonl``, the sample stream of ``python -m tools.demo``:
``python samples/make_stream.py``.

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
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Json = dict[str, Any]

OUTPUT = Path(__file__).with_name("stream.jsonl")
TIME = "2026-11-21T10:00:00Z"
PARTNER_CENTER = "urn:example:partner-center"
ADMIN_PORTAL = "urn:example:admin-portal"
SYSTEM = {"kind": "system", "tenant_id": "partner-center", "user": "onboarding-sync"}
UNKNOWN_TENANT = "7c2e9d10-51a4-4b8e-a6f3-00000000ffff"
DUPLICATE_ID = "00000000-demo-4000-8000-dup000000001"


def tenant(number: int) -> str:
    """A customer's tenant id (a GUID)."""
    return f"7c2e9d10-51a4-4b8e-a6f3-{number:012d}"


def subscription(number: int) -> str:
    """A subscription id (a GUID)."""
    return f"5a9c1f3e-0b7d-4e6a-9f21-{number:012d}"


@dataclass(frozen=True)
class Partner:
    """A partner's registration (reference data from Partner Center)."""

    mpn_id: str
    name: str
    country: str
    contact_email: str
    locale: str
    kind: str = "direct"
    enrolled: bool = True

    @property
    def tenant_id(self) -> str:
        """The partner's Partner Center tenant (a GUID ending in the MPN ID's first digit)."""
        return f"3f8a1c52-6e0b-4d2a-9c71-0a1b2c3d4e{int(self.mpn_id[0]):02d}"

    def actor(self, roles: tuple[str, ...] = ("sales-agent",), tenant_id: str | None = None) -> Json:
        """An agent of the partner, acting as the partner's tenant (or as ``tenant_id``)."""
        user = f"agent@{self.contact_email.split('@')[1]}"
        return {
            "kind": "partner",
            "tenant_id": tenant_id or self.tenant_id,
            "user": user,
            "roles": list(roles),
        }

    def registration(self) -> Json:
        """The ``RegisterPartner`` data, from the system actor."""
        return {
            "actor": SYSTEM,
            "partner_id": self.mpn_id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "country": self.country,
            "kind": self.kind,
            "csp_enrolled": self.enrolled,
            "mpa_active": self.enrolled,
            "contact_email": self.contact_email,
            "locale": self.locale,
        }


@dataclass(frozen=True)
class Customer:
    """A customer's tenant as partners describe it in their requests."""

    tenant_id: str
    company_name: str
    country: str
    admin_email: str
    locale: str
    cloud: str = "public"
    is_csp_partner: bool = False

    def details(self) -> Json:
        """The ``customer`` object of ``RequestResellerRelationship`` and ``AddCustomer``."""
        return {
            "tenant_id": self.tenant_id,
            "company_name": self.company_name,
            "country": self.country,
            "cloud": self.cloud,
            "is_csp_partner": self.is_csp_partner,
            "admin_email": self.admin_email,
            "locale": self.locale,
        }

    def actor(self, tenant_id: str | None = None, global_admin: bool = True) -> Json:
        """The customer's admin, acting for its own tenant (or as ``tenant_id``)."""
        roles = ["global-admin"] if global_admin else []
        return {
            "kind": "customer",
            "tenant_id": tenant_id or self.tenant_id,
            "user": self.admin_email,
            "roles": roles,
        }


CONTOSO = Partner("1234567", "Contoso Cloud AB", "SE", "partners@contoso.example", "sv-SE")
ANADOLU = Partner("2345678", "Anadolu Bulut Bilişim A.Ş.", "TR", "iletisim@anadolubulut.example", "tr-TR")
NORTHWIND = Partner("3456789", "Northwind Federal Solutions", "US", "csp@northwind.example", "en-US")
FABRIKAM = Partner(
    "4567890", "Fabrikam Distribution GmbH", "DE", "csp@fabrikam.example", "en-US", "indirect-provider"
)
TAILSPIN = Partner(
    "5678901", "Tailspin IT Reseller GmbH", "DE", "sales@tailspin.example", "en-US", "indirect-reseller"
)
YUNHAI = Partner("6789012", "上海云海信息技术有限公司", "CN", "partners@yunhai.example", "zh-CN")
LITWARE = Partner(
    "7890123", "Litware Systemhaus GmbH", "DE", "info@litware.example", "de-DE", "indirect-reseller", False
)
PARTNERS = (CONTOSO, ANADOLU, NORTHWIND, FABRIKAM, TAILSPIN, YUNHAI, LITWARE)

LINDQVIST = Customer(tenant(1), "Lindqvist Bygg AB", "SE", "it-admin@lindqvistbygg.example", "sv-SE")
FJORD = Customer(tenant(2), "Fjordkraft Data AS", "NO", "admin@fjordkraftdata.example", "nb-NO")
EGE = Customer(tenant(3), "Ege Tekstil Sanayi A.Ş.", "TR", "bt.yonetici@egetekstil.example", "tr-TR")
COUNTY = Customer(
    tenant(4),
    "Cascade County Health District",
    "US",
    "m365-admin@cascadecounty.example",
    "en-US",
    "us-government",
)
BAYERN = Customer(
    tenant(5), "Bayerische Messtechnik GmbH", "DE", "admin@bayern-messtechnik.example", "de-DE", "germany"
)
SAO = Customer(tenant(6), "São Paulo Logística Ltda", "BR", "ti@splogistica.example", "pt-BR")
RIVAL = Customer(
    tenant(7),
    "Adventure Works Cloud Partner AB",
    "SE",
    "admin@adventureworks.example",
    "sv-SE",
    is_csp_partner=True,
)
BORAS = Customer(tenant(8), "Borås Textilhögskola Service AB", "SE", "admin@borastextil.example", "sv-SE")
IZMIR = Customer(tenant(9), "İzmir Liman Lojistik Ltd. Şti.", "TR", "sistem@izmirliman.example", "tr-TR")
KESSLER = Customer(
    tenant(10), "Kessler Maschinenbau GmbH", "DE", "admin@kessler-maschinenbau.example", "de-DE"
)
XIHU = Customer(
    tenant(11), "杭州西湖纺织有限公司", "CN", "admin@xihu-textile.example", "zh-CN", "china-21vianet"
)
PANDA = Customer(
    tenant(12),
    "Chengdu Panda Logistics Co., Ltd.",
    "CN",
    "it@pandalogistics.example",
    "en-US",
    "china-21vianet",
)

SUB_EGE = subscription(103)
"""Ege's subscription: Anadolu becomes its partner of record, then it is cancelled (PR-4)."""
SUB_LINDQVIST = subscription(105)
"""The multi-partner customer's subscription whose partner of record is added, changed, deleted."""
SUB_KESSLER = subscription(106)
"""The indirect reseller's subscription: associated at purchase, cleared and set again (IR-6)."""


@dataclass
class Stream:
    """The steps, in order, with command ids ``00000000-demo-4000-8000-<n>``."""

    steps: list[Json] = field(default_factory=list)
    issued: int = 0

    def next_id(self) -> str:
        self.issued += 1
        return f"00000000-demo-4000-8000-{self.issued:012d}"

    def event(
        self, type_: str, data: Json, key: str, id_: str | None = None, source: str = PARTNER_CENTER
    ) -> Json:
        """A structured-mode CloudEvent 1.0."""
        return {
            "specversion": "1.0",
            "id": id_ or self.next_id(),
            "source": source,
            "type": type_,
            "subject": key,
            "time": TIME,
            "datacontenttype": "application/json",
            "data": data,
        }

    def note(self, text: str) -> None:
        self.steps.append({"kind": "note", "text": text})

    def command(self, type_: str, data: Json, key: str, id_: str | None = None) -> None:
        self.steps.append({"kind": "command", "key": key, "event": self.event(type_, data, key, id_)})

    def answer_email(self, to: str, inviter: Partner, type_: str, data: Json, key: str) -> None:
        """A command carrying the token of the link in the email ``inviter`` sent to ``to``."""
        event = self.event(type_, data, key, source=ADMIN_PORTAL)
        self.steps.append(
            {"kind": "answer_email", "to": to, "inviter": inviter.mpn_id, "key": key, "event": event}
        )

    def raw(self, key: str, value: str) -> None:
        self.steps.append({"kind": "raw", "key": key, "value": value})

    def order(self, order: Json, cloudevent: bool = False) -> None:
        step: Json = {"kind": "order", "key": order["referenceCustomerId"], "order": order}
        if cloudevent:
            step["cloudevent"] = True
        self.steps.append(step)

    def admin_command(self, type_: str, data: Json, customer: Customer) -> None:
        event = self.event(type_, data, customer.tenant_id)
        step = {"kind": "admin_command", "key": customer.tenant_id, "customer": customer.tenant_id}
        self.steps.append(step | {"event": event})

    def query(self, title: str, path: str, at: Json | None = None) -> None:
        step: Json = {"kind": "query", "title": title, "path": path}
        if at is not None:
            step["at"] = at
        self.steps.append(step)

    def write(self, path: Path) -> None:
        lines = (json.dumps(step, ensure_ascii=False) + "\n" for step in self.steps)
        path.write_text("".join(lines), encoding="utf-8")


def request(
    stream: Stream,
    partner: Partner,
    customer: Customer,
    dap: bool,
    message: str | None = None,
    actor: Json | None = None,
    offer: Json | None = None,
    id_: str | None = None,
) -> None:
    """``RequestResellerRelationship`` (an offer, in china-21vianet) from ``partner`` to ``customer``."""
    data: Json = {
        "actor": actor or partner.actor(),
        "partner_id": partner.mpn_id,
        "customer": customer.details(),
        "include_delegated_admin": dap,
    }
    if message:
        data["message"] = message
    if offer:
        data["offer"] = offer
    stream.command("RequestResellerRelationship", data, customer.tenant_id, id_)


def accept(
    stream: Stream,
    customer: Customer,
    inviter: Partner,
    global_admin: bool = True,
    mca: bool = True,
    as_tenant: str | None = None,
) -> None:
    """The customer's admin accepts with the link in ``inviter``'s email (RR-5, RR-7)."""
    data = {
        "actor": customer.actor(as_tenant, global_admin),
        "accepted_by": {"user": customer.admin_email, "is_global_admin": global_admin},
        "accept_customer_agreement": mca,
    }
    stream.answer_email(customer.admin_email, inviter, "AcceptResellerRelationship", data, customer.tenant_id)


def decline(stream: Stream, customer: Customer, inviter: Partner, reason: str) -> None:
    data = {"actor": customer.actor(), "reason": reason}
    stream.answer_email(customer.admin_email, inviter, "DeclineInvitation", data, customer.tenant_id)


def order(
    id_: str,
    customer: str,
    created: str,
    lines: list[Json],
    status: str = "completed",
    cycle: str = "monthly",
) -> Json:
    """A Partner Center ``Order`` (camelCase, as billing publishes it)."""
    return {
        "id": id_,
        "referenceCustomerId": customer,
        "billingCycle": cycle,
        "creationDate": created,
        "status": status,
        "lineItems": lines,
    }


def line(number: int, offer: str, sub: str, quantity: int, reseller: Partner | None = None) -> Json:
    item: Json = {"lineItemNumber": number, "offerId": offer, "subscriptionId": sub, "quantity": quantity}
    if reseller is not None:
        item["partnerIdOnRecord"] = reseller.mpn_id
    return item


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


ADMIN_AGENT = ("admin-agent",)
"""Partner Center's GDAP FAQ: the Admin agent role manages admin relationships (ACT-1)."""
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
"""Entra role template ids, from Microsoft's permissions reference (the shipped table)."""


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
    stream.query(
        "GDAP: the partner's admin relationships", f"/partners/{CONTOSO.mpn_id}/admin-relationships"
    )
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
