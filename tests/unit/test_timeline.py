"""The customer timeline, and the billing order's numbers, through the real ``CommandBus``
and ``USE_CASES`` on the fake unit of work.
"""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from service.inbound import UnreadableMessage, read_order
from tests.support.commands import (
    SYSTEM_ACTOR,
    accept_command,
    customer_details,
    new_partner,
    register_command,
    request_command,
)
from tests.support.emails import token_of
from tests.support.fake_bus import (
    Harness,
    Indirect,
    added_customer,
    applied,
    refused,
    request_partnership_token,
)
from tests.support.indirect import (
    accept_partnership,
    advisor_partner,
    line,
    order,
    provider_partner,
    reseller_partner,
    set_partner_of_record,
)

# --- the customer timeline -----------------------------------------------------------------


async def test_timeline_records_each_customer_event_with_its_actor_and_command(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    advisor = h.add_partner(advisor_partner())
    customer = customer_details()
    tenant = customer["tenant_id"]
    commands = [
        request_command(partner, customer),
        register_command(advisor),  # no customer: not in the timeline
    ]
    for raw in commands:
        await applied(h, raw)
    accept = accept_command(token_of(h.last_link()), tenant)
    await applied(h, accept)
    purchase = order(tenant, line(subscription_id := str(uuid4())))
    await applied(h, purchase, is_order=True)
    set_por = set_partner_of_record(tenant, subscription_id, advisor.partner_id)
    await applied(h, set_por)
    await refused(
        h, set_partner_of_record(tenant, subscription_id, advisor.partner_id), "already_exists", "PR-2"
    )

    entries = [
        (e.event_type, e.actor_kind, e.actor_tenant_id, e.command_id, e.command_type) for e in h.db.timeline
    ]
    ids = [json.loads(raw)["id"] for raw in (commands[0], accept, set_por)]
    assert entries == [
        (
            "ResellerRelationshipRequested",
            "partner",
            partner.tenant_id,
            ids[0],
            "RequestResellerRelationship",
        ),
        ("ResellerRelationshipAccepted", "customer", tenant, ids[1], "AcceptResellerRelationship"),
        ("SubscriptionRecorded", "system", "billing", read_order(purchase).envelope.id, "OrderCreated"),
        ("PartnerOfRecordChanged", "customer", tenant, ids[2], "SetPartnerOfRecord"),
    ]
    assert {e.customer_tenant_id for e in h.db.timeline} == {tenant}
    staged = {event["id"]: event for event in h.events()}
    for entry in h.db.timeline:
        assert staged[entry.event_id]["type"] == entry.event_type
        # the event's data, without the token-bearing link (README: tokens only on the events topic)
        event_data = staged[entry.event_id]["data"]
        assert entry.data == {key: value for key, value in event_data.items() if key != "invitation_url"}
        assert entry.at == h.clock.now
    assert h.db.timeline[0].actor_user == "agent@contoso.example"
    assert h.db.timeline[1].actor_user == "admin@fabrikam.example"
    assert SYSTEM_ACTOR["tenant_id"] not in {e.actor_tenant_id for e in h.db.timeline}


async def test_timeline_has_no_entry_for_partnership_events(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    await applied(h, accept_partnership(token, reseller))

    assert h.db.timeline == []

    tenant = await added_customer(h, Indirect(provider, reseller))

    assert [(e.event_type, e.customer_tenant_id, e.command_type) for e in h.db.timeline] == [
        ("CustomerAdded", tenant, "AddCustomer")
    ]


@pytest.mark.parametrize("field", ["quantity", "lineItemNumber"])
def test_an_order_number_no_column_can_hold_is_schema_invalid(field: str) -> None:
    """Found by T6 at full size: a quantity of 10^30 passed the contract and crashed the insert
    (the columns are 32-bit integers); the bound is the one a 21Vianet offer has."""
    item = line(str(uuid4()))
    read_order(order(str(uuid4()), item))  # readable as it is

    with pytest.raises(UnreadableMessage) as raised:
        read_order(order(str(uuid4()), {**item, field: 10**30}))

    assert raised.value.reason == "schema_invalid"
