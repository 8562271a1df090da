"""Whole domain scenarios end to end over real servers: the Tansu broker, aiosmtpd, SQLite and
PostgreSQL, and the service's read API over HTTP.

Each test runs one scenario in one Harness (a start costs about 10 s of consumer-group joins):
commands and billing orders go in over Kafka, and the tests check what comes out — events
(type, data, key, causationid) read back from the events topic, emails as the SMTP server
received them (the personalized link is taken from the message), rows in the database and
the answers of the read API (``h.http_base``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.harness import Harness
from tests.support.attribution_flow import (
    add_change_delete,
    ledger_rows,
    read_api_answers_who_at_each_instant,
)
from tests.support.domain_flows import (
    a_customer,
    a_partner,
    an_order,
    invite_and_accept,
    outcome,
    register,
    send_order,
)
from tests.support.indirect_flow import (
    IndirectWorld,
    add_customer_for_the_reseller,
    order_associates_the_reseller,
    partnership_by_emailed_link,
    read_side_after_the_removal,
    read_side_shows_the_reseller,
    remove_the_partnership_silently,
    reseller_becomes_support_contact,
    rows_after_the_removal,
)

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


# ----------------------------------------------------------------------------- scenarios


async def test_indirect_reseller_lifecycle(kafka, mailbox, database_url) -> None:
    """IR-1..IR-9: partnership by emailed link, a customer added for the reseller, an order
    associating the reseller, its support contact, then the partnership removed silently
    (the steps and their assertions: ``tests/support/indirect_flow.py``)."""
    w = IndirectWorld()

    async with Harness(kafka, mailbox, database_url) as h:
        await register(h, w.provider, w.reseller)
        await partnership_by_emailed_link(h, mailbox, w)
        added_id = await add_customer_for_the_reseller(h, w)
        associated_from = await order_associates_the_reseller(h, w)
        await reseller_becomes_support_contact(h, w)
        await read_side_shows_the_reseller(h, w, added_id, associated_from)
        await remove_the_partnership_silently(h, mailbox, w)
        await read_side_after_the_removal(h, w)

    await rows_after_the_removal(database_url, w)


async def test_partner_of_record_add_change_delete_ledger(kafka, mailbox, database_url) -> None:
    """PR-1, PR-2: add, change and delete a subscription's partner of record; the ledger
    answers "who at instant T" with [valid_from, valid_to) intervals (the steps:
    ``tests/support/attribution_flow.py``)."""
    partner = a_partner("direct", "Contoso Cloud AB")
    first = a_partner("advisor", "Advisory One AB")
    second = a_partner("advisor", "Advisory Two AB")
    customer = a_customer()
    tenant = customer["tenant_id"]
    subscription_id = f"sub-{uuid.uuid4().hex[:12]}"
    first_id, second_id = first["partner_id"], second["partner_id"]

    async with Harness(kafka, mailbox, database_url) as h:
        await register(h, partner, first, second)
        await invite_and_accept(h, mailbox, partner, customer)
        purchased = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        order_id = await send_order(h, an_order(tenant, subscription_id, created=purchased))
        recorded = await outcome(h, order_id, "SubscriptionRecorded")
        assert recorded["data"]["subscription_id"] == subscription_id

        changes = await add_change_delete(h, tenant, subscription_id, first_id, second_id, purchased)
        await read_api_answers_who_at_each_instant(
            h, tenant, subscription_id, first_id, second_id, purchased, changes
        )

    await ledger_rows(database_url, subscription_id, first_id, second_id, changes)
