"""The state a unit of work holds for one fetch: loaded by ``Needs`` in one query per table
and kind of key, answered from memory, written back once per table.

``HeldState.load`` sends, for the keys it does not hold yet: one advisory-lock statement
(PostgreSQL), then one ``SELECT`` per kind of key. ``HeldState.write`` sends one upsert per
table with changed rows, and for attribution ledgers one ``DELETE`` and one ``INSERT``.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.adapters import orm, rows
from service.adapters.batch_sql import BatchSql, Key, keys_of
from service.adapters.identity_map import Journal, Rows
from service.domain import model
from service.domain.admin_relationships import AdminRelationship
from service.domain.attribution import Attribute, AttributionLedger
from service.ports import Needs

PENDING_RESELLER = model.InvitationKind.RESELLER_RELATIONSHIP.value


def lock_names(needs: Needs) -> set[str]:
    """The advisory locks a load takes: one per key under which a concurrent fetch could
    create rows this one depends on, where no existing row could be locked instead: a
    customer (its row, relationships, reseller invitations and subscriptions are created
    by requests, AddCustomer and orders), a subscription (created by orders and offers,
    with its ledgers), a provider-reseller pair whose pending partnership invitations or
    associated customers are read. Rows that exist are locked one by one (``FOR UPDATE``)
    as they load, which is enough for partners and partnerships: they are only updated,
    or created by an upsert whose outcome is that of some serial order. The customers and
    subscriptions associated with a reseller (``reseller_customers``, read by a partnership's
    removal) are locked row by row as they load, next to the partnership row the removal
    locks, which every action of that provider for that reseller locks too."""
    names = {f"customer:{c}" for c in needs.customers | needs.customer_subscriptions}
    names |= {f"subscription:{s}" for s in needs.subscriptions}
    for kind, inviter, invitee in needs.pending_invitations:
        names.add(f"customer:{invitee}" if kind == PENDING_RESELLER else f"pair:{inviter}:{invitee}")
    names |= {f"customer:{c}" for _, c in needs.admin_relationship_pairs}  # GD-1: created per customer
    return names


class HeldState:
    """Every state table's ``Rows``, sharing one ``Journal``."""

    def __init__(self, journal: Journal) -> None:
        self.partners: Rows[model.Partner] = Rows(
            lambda p: p.partner_id, journal, {"tenant": lambda p: p.tenant_id}
        )
        self.customers: Rows[model.Customer] = Rows(
            lambda c: c.tenant_id, journal, {"reseller": lambda c: c.associated_reseller_id}
        )
        self.invitations: Rows[model.Invitation] = Rows(
            lambda i: i.invitation_id,
            journal,
            {
                "token": lambda i: i.token_hash,
                "reminder_token": lambda i: i.reminder_token_hash,
                "pair": lambda i: (i.kind.value, i.inviter_id, i.invitee_id),
                "inviter": lambda i: i.inviter_id,
                "invitee": lambda i: i.invitee_id,
            },
        )
        self.relationships: Rows[model.ResellerRelationship] = Rows(
            lambda r: r.relationship_id, journal, {"customer": lambda r: r.customer_tenant_id}
        )
        self.partnerships: Rows[model.Partnership] = Rows(
            lambda p: p.partnership_id, journal, {"pair": lambda p: (p.provider_id, p.reseller_id)}
        )
        self.subscriptions: Rows[model.Subscription] = Rows(
            lambda s: s.subscription_id,
            journal,
            {"customer": lambda s: s.customer_tenant_id, "reseller": lambda s: s.reseller_mpn_id},
        )
        self.admin_relationships: Rows[AdminRelationship] = Rows(
            lambda r: r.admin_relationship_id,
            journal,
            {"pair": lambda r: (r.partner_id, r.customer_tenant_id)},
        )
        self.ledgers: Rows[AttributionLedger] = Rows(
            lambda ledger: (ledger.subscription_id, ledger.attribute.value), journal, copy=rows.copy_ledger
        )

    def unknown(self, needs: Needs) -> Needs:
        """The part of ``needs`` not held yet."""
        admins = self.admin_relationships
        return Needs(
            partners={p for p in needs.partners if not self.partners.knows(p)},
            partner_tenants={t for t in needs.partner_tenants if ("tenant", t) not in self.partners.scopes},
            customers={c for c in needs.customers if ("customer", c) not in self.relationships.scopes},
            customer_subscriptions={
                c for c in needs.customer_subscriptions if ("customer", c) not in self.subscriptions.scopes
            },
            subscriptions={s for s in needs.subscriptions if not self._holds_subscription(s)},
            partnerships={p for p in needs.partnerships if ("pair", *p) not in self.partnerships.scopes},
            pending_invitations={t for t in needs.pending_invitations if self._misses_pending(t)},
            pending_invitations_of={
                p for p in needs.pending_invitations_of if ("party", p) not in self.invitations.scopes
            },
            invitation_tokens={
                h for h in needs.invitation_tokens if ("token", h) not in self.invitations.scopes
            },
            reseller_customers={
                r for r in needs.reseller_customers if ("reseller", r) not in self.customers.scopes
            },
            relationships={r for r in needs.relationships if not self.relationships.knows(r)},
            partnerships_by_id={p for p in needs.partnerships_by_id if not self.partnerships.knows(p)},
            admin_relationships={r for r in needs.admin_relationships if not admins.knows(r)},
            admin_relationship_pairs={
                p for p in needs.admin_relationship_pairs if ("pair", *p) not in admins.scopes
            },
        )

    def _holds_subscription(self, subscription_id: str) -> bool:
        return self.subscriptions.knows(subscription_id) and all(
            self.ledgers.knows((subscription_id, attribute.value)) for attribute in Attribute
        )

    def _misses_pending(self, triple: tuple[str, str, str]) -> bool:
        _, inviter, invitee = triple
        scopes = self.invitations.scopes
        return ("pair", *triple) not in scopes and not {("party", inviter), ("party", invitee)} & scopes

    async def load(self, sql: BatchSql, needs: Needs) -> None:
        """Lock and load what ``needs`` names and is not held yet (nothing is sent when all is)."""
        needs = self.unknown(needs)
        if not needs:
            return
        await sql.lock(lock_names(needs))
        await self._load_reseller_customers(sql, needs)
        await self._load_partners(sql, needs)
        await self._load_customers(sql, needs)
        await self._load_invitations(sql, needs)
        await self._load_partnerships(sql, needs)
        await self._load_subscriptions(sql, needs)
        await self._load_admin_relationships(sql, needs)

    async def _load_reseller_customers(self, sql: BatchSql, needs: Needs) -> None:
        """The customers created for each reseller and the subscriptions associated with it
        (two statements); their customers are added to ``needs.customers`` (loaded next,
        with their relationships, in the same statements as the others)."""
        resellers = keys_of(needs.reseller_customers)
        if not resellers:
            return
        customers = list(
            map(rows.customer, await sql.select(orm.customers, ("associated_reseller_id",), resellers))
        )
        subscriptions = list(
            map(rows.subscription, await sql.select(orm.subscriptions, ("reseller_mpn_id",), resellers))
        )
        self.customers.absorb(customers)
        self.subscriptions.absorb(subscriptions)
        self.customers.scopes.update(("reseller", r) for r in needs.reseller_customers)
        self.subscriptions.scopes.update(("reseller", r) for r in needs.reseller_customers)
        tenants = {c.tenant_id for c in customers} | {s.customer_tenant_id for s in subscriptions}
        needs.customers |= {t for t in tenants if ("customer", t) not in self.relationships.scopes}

    async def _load_partners(self, sql: BatchSql, needs: Needs) -> None:
        found = await sql.select(orm.partners, ("partner_id",), keys_of(needs.partners))
        self.partners.absorb(map(rows.partner, found))
        self.partners.absent(needs.partners)
        found = await sql.select(orm.partners, ("tenant_id",), keys_of(needs.partner_tenants))
        self.partners.absorb(map(rows.partner, found))
        self.partners.scopes.update(("tenant", t) for t in needs.partner_tenants)

    async def _load_customers(self, sql: BatchSql, needs: Needs) -> None:
        found = await sql.select(orm.customers, ("tenant_id",), keys_of(needs.customers))
        self.customers.absorb(map(rows.customer, found))
        self.customers.absent(needs.customers)
        table = orm.reseller_relationships
        found = await sql.select(table, ("customer_tenant_id",), keys_of(needs.customers))
        found += await sql.select(table, ("relationship_id",), keys_of(needs.relationships))
        self.relationships.absorb(map(rows.relationship, found))
        self.relationships.absent(needs.relationships)
        self.relationships.scopes.update(("customer", c) for c in needs.customers)

    async def _load_invitations(self, sql: BatchSql, needs: Needs) -> None:
        table = orm.invitations
        found = await sql.select(table, ("token_hash",), keys_of(needs.invitation_tokens))
        found += await sql.select(table, ("reminder_token_hash",), keys_of(needs.invitation_tokens))
        found += await sql.select(
            table, ("kind", "inviter_id", "invitee_id"), list(needs.pending_invitations), pending_only=True
        )
        parties = keys_of(needs.pending_invitations_of)
        found += await sql.select(table, ("inviter_id",), parties, pending_only=True)
        found += await sql.select(table, ("invitee_id",), parties, pending_only=True)
        self.invitations.absorb(map(rows.invitation, found))
        scopes = self.invitations.scopes
        scopes.update(("token", h) for h in needs.invitation_tokens)
        scopes.update(("pair", *t) for t in needs.pending_invitations)
        scopes.update(("party", p) for p in needs.pending_invitations_of)

    async def _load_partnerships(self, sql: BatchSql, needs: Needs) -> None:
        table = orm.partnerships
        found = await sql.select(table, ("provider_id", "reseller_id"), list(needs.partnerships))
        found += await sql.select(table, ("partnership_id",), keys_of(needs.partnerships_by_id))
        self.partnerships.absorb(map(rows.partnership, found))
        self.partnerships.absent(needs.partnerships_by_id)
        self.partnerships.scopes.update(("pair", *p) for p in needs.partnerships)

    async def _load_subscriptions(self, sql: BatchSql, needs: Needs) -> None:
        table = orm.subscriptions
        found = await sql.select(table, ("subscription_id",), keys_of(needs.subscriptions))
        found += await sql.select(table, ("customer_tenant_id",), keys_of(needs.customer_subscriptions))
        self.subscriptions.absorb(map(rows.subscription, found))
        self.subscriptions.absent(needs.subscriptions)
        self.subscriptions.scopes.update(("customer", c) for c in needs.customer_subscriptions)
        entries = await sql.select(orm.attributions, ("subscription_id",), keys_of(needs.subscriptions))
        self.ledgers.absorb(rows.ledgers(sorted(needs.subscriptions), entries))

    async def _load_admin_relationships(self, sql: BatchSql, needs: Needs) -> None:
        table = orm.admin_relationships
        found = await sql.select(table, ("admin_relationship_id",), keys_of(needs.admin_relationships))
        pairs: list[Key] = list(needs.admin_relationship_pairs)
        found += await sql.select(table, ("partner_id", "customer_tenant_id"), pairs)
        self.admin_relationships.absorb(map(rows.admin_relationship, found))
        self.admin_relationships.absent(needs.admin_relationships)
        self.admin_relationships.scopes.update(("pair", *p) for p in needs.admin_relationship_pairs)

    async def write(self, sql: BatchSql) -> None:
        """Write every changed row: one upsert per table, and the changed ledgers replaced
        (one ``DELETE``, one ``INSERT``)."""
        await sql.upsert(orm.partners, ("partner_id",), [rows.columns(p) for p in self.partners.changed()])
        await sql.upsert(orm.customers, ("tenant_id",), [rows.columns(c) for c in self.customers.changed()])
        await sql.upsert(
            orm.reseller_relationships,
            ("relationship_id",),
            [rows.relationship_row(r) for r in self.relationships.changed()],
        )
        await sql.upsert(
            orm.invitations, ("invitation_id",), [rows.invitation_row(i) for i in self.invitations.changed()]
        )
        await sql.upsert(
            orm.partnerships,
            ("partnership_id",),
            [rows.partnership_row(p) for p in self.partnerships.changed()],
        )
        await sql.upsert(
            orm.subscriptions,
            ("subscription_id",),
            [rows.subscription_row(s) for s in self.subscriptions.changed()],
        )
        await sql.upsert(
            orm.admin_relationships,
            ("admin_relationship_id",),
            [rows.admin_relationship_row(r) for r in self.admin_relationships.changed()],
        )
        await self._write_ledgers(sql, self.ledgers.changed())

    @staticmethod
    async def _write_ledgers(sql: BatchSql, ledgers: Iterable[AttributionLedger]) -> None:
        ledgers = list(ledgers)
        keys: list[Key] = [(ledger.subscription_id, ledger.attribute.value) for ledger in ledgers]
        await sql.delete(orm.attributions, ("subscription_id", "attribute"), keys)
        await sql.insert(orm.attributions, [row for ledger in ledgers for row in rows.ledger_rows(ledger)])
