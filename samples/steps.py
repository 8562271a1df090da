"""The sample stream's steps (see :mod:`samples.make_stream` for their kinds): ``Stream`` collects
them with stable command ids; ``request``, ``accept``, ``decline``, ``order`` and ``line`` build the
usual ones."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from samples.cast import Customer, Json, Partner

TIME = "2026-11-21T10:00:00Z"
PARTNER_CENTER = "urn:example:partner-center"
ADMIN_PORTAL = "urn:example:admin-portal"


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
