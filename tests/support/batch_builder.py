"""The commands of a batch-equivalence stream, built one step at a time, each knowing the
tokens issued before it (``Builder``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bench.faults.fuzz.estate import customer_actor
from service.adapters import orm
from tests.support.batch_steps import (
    ADMIN_NAMES,
    AR,
    AUTO_EXTENDS,
    DURATIONS,
    N_PARTNERS,
    N_SUBS,
    PARTNER_IDS,
    PARTNER_POOL,
    PS,
    ROLE_SETS,
    RR,
    SUBSCRIPTIONS,
    Step,
)
from tests.support.batch_world import C1, C2, C3, C4, C5, CUSTOMERS, PARTNERS, R1, R2, S1, S2, UNKNOWN, D, P
from tests.support.batches import Item, Run, Tick, accept_relationship, line, register


@dataclass
class Builder:
    """Builds each step's command in the reference run, from what it issued so far."""

    run: Run
    sent: list[Item] = field(default_factory=list)
    orders: Iterator[int] = field(default_factory=itertools.count)
    last_order: str | None = None
    owners: dict[str, str] = field(default_factory=lambda: {S1: C1.tenant_id, S2: C2.tenant_id})
    """subscription → the customer of the first order that named it (to aim commands well)"""
    admins: list[tuple[str, str, str]] = field(default_factory=list)
    """admin relationships requested so far, oldest first: (id, partner id, customer tenant)"""

    async def learn(self, item: Item) -> None:
        """After an applied ``RequestAdminRelationship``: note its relationship's id (read from
        the reference database; the run's ids are deterministic, so the batched run has the same)."""
        if item.label != "RequestAdminRelationship":
            return
        table = orm.admin_relationships
        async with self.run.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(table.c.admin_relationship_id, table.c.partner_id, table.c.customer_tenant_id)
                )
            ).all()
        known = {a[0] for a in self.admins}
        self.admins += [(r[0], r[1], r[2]) for r in rows if r[0] not in known]

    def admin(self, ref: int) -> tuple[str, str, str]:
        """A recent admin relationship (``ref`` 0, or none yet: an id never issued)."""
        if ref == 0 or not self.admins:
            return "no-such-admin-relationship", D.partner_id, C4.tenant_id
        return self.admins[-1 - (ref - 1) % len(self.admins)]

    def build(self, s: Step) -> tuple[Item | Tick | None, tuple[str, str, str] | None]:
        if s.kind == "Tick":
            return Tick(s.args["days"]), None
        if s.kind == "Redeliver":
            return (self.sent[-1 - s.args["ref"] % len(self.sent)] if self.sent else None), None
        method: Callable[[dict[str, int]], tuple[Item, tuple[str, str, str] | None]] = getattr(self, s.kind)
        return method(s.args)

    def item(self, type_: str, data: dict[str, Any], subject: str) -> Item:
        return self.run.envelopes.item(type_, data, subject)

    def invitation(self, kind: str | None, ref: int) -> tuple[str, str | None, str]:
        """``(token, kind, invitee)`` of a recent invitation (``ref`` 0: a token never issued)."""
        issued = [i for i in self.run.issued if kind is None or i.kind == kind]
        if ref == 0 or not issued:
            return f"no-such-token-{len(self.sent)}", None, CUSTOMERS[3].tenant_id
        chosen = issued[-1 - (ref - 1) % len(issued)]
        return chosen.token, chosen.kind, chosen.invitee

    @staticmethod
    def partner_actor(partner_id: str, roles: tuple[str, ...] = ()) -> dict[str, Any]:
        info = PARTNERS.get(partner_id, D)
        return info.actor(*roles)

    def RegisterPartner(self, a: dict[str, int]) -> tuple[Item, None]:
        p = PARTNER_POOL[a["partner"]]
        changes: dict[str, Any] = {
            "name": [p.name, f"{p.name} (ny)", "Renamed Partner Ltd"][a["name"]],
            "locale": [p.locale, "en-US", "sv-SE"][a["locale"]],
        }
        if a["enrolled"] == 0:
            changes["mpa_active"] = False
        elif a["enrolled"] == 1:
            changes["csp_enrolled"] = False
        if a["actor"] == 0:  # another partner: forbidden (ACT-1)
            other = PARTNER_POOL[(a["partner"] + 1) % len(PARTNER_POOL)]
            changes["actor"] = other.actor("global-admin")
        elif a["actor"] == 1:  # the partner's own global admin
            changes["actor"] = p.actor("global-admin")
        return self.item("RegisterPartner", register(p, **changes), p.partner_id), None

    def RequestResellerRelationship(self, a: dict[str, int]) -> tuple[Item, tuple[str, str, str]]:
        partner_id = PARTNER_IDS[a["partner"]]
        customer = CUSTOMERS[a["customer"]]
        details = customer.details(locale=[None, "en-US", "tr-TR"][a["locale"]], csp=a["csp"] == 0)
        data: dict[str, Any] = {
            "actor": customer_actor(customer.tenant_id)
            if a["actor"] == 0
            else self.partner_actor(partner_id),
            "partner_id": partner_id,
            "customer": details,
            "include_delegated_admin": a["dap"] > 0,
            "message": "Välkommen!" if a["locale"] == 2 else None,
        }
        if a["offer"]:
            data["offer"] = {
                "offer_id": "CFQ7TTC0LH18",
                "kind": ["trial", "purchase"][a["offer"] - 1],
                "quantity": 3,
            }
        item = self.item("RequestResellerRelationship", data, customer.tenant_id)
        return item, (RR, partner_id, customer.tenant_id)

    def AcceptResellerRelationship(self, a: dict[str, int]) -> tuple[Item, None]:
        token, _, invitee = self.invitation(RR, a["ref"])
        tenant = invitee if a["actor"] > 0 else CUSTOMERS[(a["ref"] + 1) % len(CUSTOMERS)].tenant_id
        data = accept_relationship(token, tenant, admin=a["admin"] > 0, mca=a["mca"] > 0)
        return self.item("AcceptResellerRelationship", data, tenant), None

    def DeclineInvitation(self, a: dict[str, int]) -> tuple[Item, None]:
        token, kind, invitee = self.invitation(None, a["ref"] % 8)
        if a["actor"] == 0:
            actor = customer_actor(CUSTOMERS[6].tenant_id)
        elif kind == PS:
            actor = self.partner_actor(invitee)
        else:
            actor = customer_actor(invitee)
        data = {"actor": actor, "token": token, "reason": "Nej tack." if a["ref"] >= 8 else None}
        return self.item("DeclineInvitation", data, invitee), None

    def RevokeDelegatedAdmin(self, a: dict[str, int]) -> tuple[Item, None]:
        partner_id, tenant = PARTNER_IDS[a["partner"]], CUSTOMERS[a["customer"]].tenant_id
        actor = self.partner_actor(partner_id) if a["actor"] == 0 else customer_actor(tenant)
        data = {"actor": actor, "partner_id": partner_id, "customer_tenant_id": tenant}
        return self.item("RevokeDelegatedAdmin", data, tenant), None

    def RemoveResellerRelationship(self, a: dict[str, int]) -> tuple[Item, None]:
        partner_id, tenant = PARTNER_IDS[a["partner"]], CUSTOMERS[a["customer"]].tenant_id
        actor = customer_actor(tenant) if a["actor"] == 0 else self.partner_actor(partner_id)
        data = {"actor": actor, "partner_id": partner_id, "customer_tenant_id": tenant}
        return self.item("RemoveResellerRelationship", data, tenant), None

    def _provider(self, index: int) -> str:
        return [P.partner_id, D.partner_id, UNKNOWN][index]

    def RequestPartnership(self, a: dict[str, int]) -> tuple[Item, tuple[str, str, str]]:
        provider, reseller = self._provider(a["provider"]), PARTNER_IDS[a["reseller"]]
        actor = R1.actor() if a["actor"] == 0 else self.partner_actor(provider)
        data = {"actor": actor, "provider_id": provider, "reseller_id": reseller}
        return self.item("RequestPartnership", data, reseller), (PS, provider, reseller)

    def AcceptPartnership(self, a: dict[str, int]) -> tuple[Item, None]:
        token, _, invitee = self.invitation(PS, a["ref"])
        actor = P.actor() if a["actor"] == 0 else self.partner_actor(invitee)
        return self.item("AcceptPartnership", {"actor": actor, "token": token}, invitee), None

    def RemovePartnership(self, a: dict[str, int]) -> tuple[Item, None]:
        provider, reseller = self._provider(a["provider"]), PARTNER_IDS[a["reseller"]]
        data = {
            "actor": R1.actor() if a["actor"] == 0 else self.partner_actor(provider),
            "provider_id": provider,
            "reseller_id": reseller,
            "confirm_legitimate_business_purpose": a["confirm"] > 0,
        }
        return self.item("RemovePartnership", data, reseller), None

    def AddCustomer(self, a: dict[str, int]) -> tuple[Item, None]:
        provider, reseller = self._provider(a["provider"]), PARTNER_IDS[a["reseller"]]
        customer = CUSTOMERS[a["customer"]]
        data = {
            "actor": R1.actor() if a["actor"] == 0 else self.partner_actor(provider),
            "provider_id": provider,
            "reseller_id": reseller,
            "customer": customer.details(),
        }
        return self.item("AddCustomer", data, customer.tenant_id), None

    def _optional_partner(self, index: int) -> str | None:
        return PARTNER_IDS[index] if index < N_PARTNERS else None

    def _owner(self, owner: int, subscription: str) -> str:
        """Mostly the subscription's customer; ``owner`` 0: another one."""
        mine = self.owners.get(subscription, C3.tenant_id)
        return mine if owner else next(c.tenant_id for c in CUSTOMERS if c.tenant_id != mine)

    def AssociateReseller(self, a: dict[str, int]) -> tuple[Item, None]:
        tenant = self._owner(a["owner"], SUBSCRIPTIONS[a["sub"]])
        data = {
            "actor": [D, P, P, P][a["actor"]].actor(),
            "customer_tenant_id": tenant,
            "subscription_id": SUBSCRIPTIONS[a["sub"]],
            "reseller_mpn_id": self._optional_partner(a["reseller"]),
        }
        return self.item("AssociateReseller", data, SUBSCRIPTIONS[a["sub"]]), None

    def AssignSupportContact(self, a: dict[str, int]) -> tuple[Item, None]:
        tenant = self._owner(a["owner"], SUBSCRIPTIONS[a["sub"]])
        kind = ["provider", "reseller"][a["kind"]]
        if a["partner"] == 0:  # any partner
            partner_id = PARTNER_IDS[a["sub"] + a["kind"]]
        else:  # the provider itself, or one of its resellers
            partner_id = P.partner_id if kind == "provider" else [R1, R2][a["partner"] % 2].partner_id
        data = {
            "actor": [D, P, P, P][a["actor"]].actor(),
            "customer_tenant_id": tenant,
            "subscription_id": SUBSCRIPTIONS[a["sub"]],
            "support_contact": {"kind": kind, "partner_id": partner_id},
        }
        return self.item("AssignSupportContact", data, SUBSCRIPTIONS[a["sub"]]), None

    def SetPartnerOfRecord(self, a: dict[str, int]) -> tuple[Item, None]:
        tenant = self._owner(a["owner"], SUBSCRIPTIONS[a["sub"]])
        if a["actor"] == 0:
            actor = customer_actor(C5.tenant_id)
        elif a["actor"] == 1:
            actor = D.actor()
        else:
            actor = customer_actor(tenant)
        data = {
            "actor": actor,
            "customer_tenant_id": tenant,
            "subscription_id": SUBSCRIPTIONS[a["sub"]],
            "mpn_id": self._optional_partner(a["mpn"]),
        }
        return self.item("SetPartnerOfRecord", data, SUBSCRIPTIONS[a["sub"]]), None

    def RequestAdminRelationship(self, a: dict[str, int]) -> tuple[Item, tuple[str, str, str]]:
        partner_id = PARTNER_IDS[a["partner"]]
        customer = CUSTOMERS[a["customer"]]
        data = {
            "actor": customer_actor(customer.tenant_id)
            if a["actor"] == 0
            else self.partner_actor(partner_id, ("admin-agent",) if a["actor"] > 1 else ("sales-agent",)),
            "partner_id": partner_id,
            "customer": customer.details(csp=a["csp"] == 0),
            "display_name": ADMIN_NAMES[a["name"]],
            "roles": ROLE_SETS[a["roles"]],
            "duration": DURATIONS[a["duration"]],
            "auto_extend": AUTO_EXTENDS[a["auto"]],
        }
        item = self.item("RequestAdminRelationship", data, customer.tenant_id)
        return item, (AR, partner_id, customer.tenant_id)

    def ApproveAdminRelationship(self, a: dict[str, int]) -> tuple[Item, None]:
        token, _, invitee = self.invitation(AR, a["ref"])
        tenant = invitee if a["actor"] > 0 else CUSTOMERS[(a["ref"] + 2) % len(CUSTOMERS)].tenant_id
        data = {
            "actor": customer_actor(tenant),
            "token": token,
            "approved_by": {"user": "admin@customer.example", "is_global_admin": a["admin"] > 0},
        }
        return self.item("ApproveAdminRelationship", data, tenant), None

    def _admin_actor(self, actor: int, partner_id: str, tenant: str) -> dict[str, Any]:
        """0: the customer; 1, 3: the partner; 2: another partner; 4: the system."""
        if actor == 0:
            return customer_actor(tenant)
        if actor == 2:
            return (P if partner_id != P.partner_id else D).actor("admin-agent")
        if actor == 4:
            return {"kind": "system", "tenant_id": "partnerlink-ops"}
        return self.partner_actor(partner_id, ("admin-agent",))

    def TerminateAdminRelationship(self, a: dict[str, int]) -> tuple[Item, None]:
        relationship_id, partner_id, tenant = self.admin(a["ref"])
        data = {
            "actor": self._admin_actor(a["actor"], partner_id, tenant),
            "admin_relationship_id": relationship_id,
        }
        return self.item("TerminateAdminRelationship", data, tenant), None

    def SetAdminRelationshipAutoExtend(self, a: dict[str, int]) -> tuple[Item, None]:
        relationship_id, partner_id, tenant = self.admin(a["ref"])
        data = {
            "actor": self._admin_actor(a["actor"], partner_id, tenant),
            "admin_relationship_id": relationship_id,
            "auto_extend": AUTO_EXTENDS[a["value"]],
        }
        return self.item("SetAdminRelationshipAutoExtend", data, tenant), None

    def Order(self, a: dict[str, int]) -> tuple[Item, None]:
        tenant = CUSTOMERS[a["customer"]].tenant_id
        if a["reuse"] == 0 and self.last_order is not None:
            order_id = self.last_order
        else:
            order_id = self.last_order = f"ord-{next(self.orders):04d}"
        lines = []
        for i in range(2):
            if f"line{i}_sub" not in a:
                break
            sub = a[f"line{i}_sub"]
            reseller = a[f"line{i}_reseller"]
            if sub < N_SUBS:
                self.owners.setdefault(SUBSCRIPTIONS[sub], tenant)
            lines.append(
                line(
                    i,
                    SUBSCRIPTIONS[sub] if sub < N_SUBS else None,
                    a[f"line{i}_qty"],
                    PARTNER_IDS[reseller] if reseller < N_PARTNERS else None,
                )
            )
        now = self.run.det.now
        created = None if a["created"] == 0 else now - timedelta(days=a["created"] - 1, hours=1)
        status = "cancelled" if a["status"] == 0 else "completed"
        item = self.run.envelopes.order(
            order_id, tenant, lines, status=status, created=created, bare=a["bare"] > 0
        )
        return item, None
