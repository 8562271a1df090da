"""The steps of the partner-of-record ledger scenario over real servers (PR-1, PR-2): the
partner of record added, changed and deleted, then what the read API and the ledger's rows
say at each instant around those changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from service.adapters import orm
from tests.integration.harness import Harness
from tests.support.domain_flows import MS, database, get_json, instant, iso, read_api, set_partner_of_record


async def add_change_delete(
    h: Harness, tenant: str, subscription_id: str, first: str, second: str, purchased: datetime
) -> tuple[datetime, datetime, datetime]:
    """The partner of record set to ``first``, then ``second``, then none; each change's
    ``valid_from``."""
    added = await set_partner_of_record(h, tenant, subscription_id, first)
    assert added["data"]["previous_mpn_id"] is None
    changed = await set_partner_of_record(h, tenant, subscription_id, second)
    assert changed["data"]["previous_mpn_id"] == first
    deleted = await set_partner_of_record(h, tenant, subscription_id, None)
    assert deleted["data"]["previous_mpn_id"] == second
    t1, t2, t3 = (instant(e["data"]["valid_from"]) for e in (added, changed, deleted))
    assert purchased < t1 < t2 < t3
    return t1, t2, t3


async def read_api_answers_who_at_each_instant(
    h: Harness,
    tenant: str,
    subscription_id: str,
    first: str,
    second: str,
    purchased: datetime,
    changes: tuple[datetime, datetime, datetime],
) -> None:
    """PR-2: "who at instant T" around each change ([valid_from, valid_to)), and the history."""
    t1, t2, t3 = changes
    async with read_api(h) as api:

        async def partner_of_record_at(when: datetime) -> str | None:
            answer = await get_json(api, f"/subscriptions/{subscription_id}/attribution", at=iso(when))
            assert answer["subscription_id"] == subscription_id
            assert answer["customer_tenant_id"] == tenant
            assert instant(answer["at"]) == when
            value: str | None = answer["partner_of_record"]
            return value

        expected = [
            (purchased, None),  # bought without a partner of record
            (t1 - MS, None),  # just before the add
            (t1, first),  # valid_from is inclusive
            (t1 + (t2 - t1) / 2, first),
            (t2 - MS, first),  # valid_to is exclusive
            (t2, second),
            (t2 + (t3 - t2) / 2, second),
            (t3 - MS, second),
            (t3, None),  # deleted
            (t3 + MS, None),
            (t3 + timedelta(days=1), None),
        ]
        seen = [(when, await partner_of_record_at(when)) for when, _ in expected]
        assert seen == expected

        answer = await get_json(api, f"/subscriptions/{subscription_id}/attribution", at=iso(t3 + MS))
        history = [
            (i["value"], instant(i["valid_from"]), i["valid_to"] and instant(i["valid_to"]))
            for i in answer["history"]["partner_of_record"]
        ]
        assert history == [
            (first, t1, t2),
            (second, t2, t3),
            (None, t3, None),
        ]
        assert answer["history"]["reseller"] == []
        assert answer["reseller_mpn_id"] is None and answer["status"] == "active"


async def ledger_rows(
    database_url: str,
    subscription_id: str,
    first: str,
    second: str,
    changes: tuple[datetime, datetime, datetime],
) -> None:
    """PR-1 in the database: no partner of record left; the ledger's three intervals."""
    t1, t2, t3 = changes
    async with database(database_url) as conn:
        row = (
            await conn.execute(
                select(orm.subscriptions).where(orm.subscriptions.c.subscription_id == subscription_id)
            )
        ).one()
        assert row.partner_of_record is None and row.status == "active"
        ledger = (
            await conn.execute(
                select(orm.attributions)
                .where(orm.attributions.c.subscription_id == subscription_id)
                .order_by(orm.attributions.c.valid_from)
            )
        ).all()
        assert [(r.attribute, r.value, r.valid_from, r.valid_to) for r in ledger] == [
            ("partner_of_record", first, t1, t2),
            ("partner_of_record", second, t2, t3),
            ("partner_of_record", None, t3, None),
        ]
