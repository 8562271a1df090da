"""``PARTNERLINK_EMAIL_TRANSPORT=kafka``: each composed email is handed to a notification
pipeline as ``EmailRequested`` on the notifications topic (real Tansu), and ``EmailSent``
follows the broker's acknowledgement; nothing goes over SMTP."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from service.adapters.notifications import email_requested_id
from tests.integration.harness import Harness
from tests.support.end_to_end import LINK, a_partner, a_request

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


async def test_emails_go_to_the_notifications_topic_keyed_like_their_cause(
    kafka: Any, mailbox: Any, sqlite_url: str
) -> None:
    topic = f"notifications-{uuid.uuid4().hex[:8]}"
    await kafka.create_topics([topic])
    async with Harness(kafka, mailbox, sqlite_url, email_transport="kafka", notifications_topic=topic) as h:
        partner = a_partner()
        request = a_request(partner)
        customer = request["customer"]
        await h.send("RegisterPartner", partner, key=partner["partner_id"])
        requested_id = await h.send("RequestResellerRelationship", request, key=customer["tenant_id"])
        got = await h.wait_until(lambda r: r.of_type("EmailSent"))

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=f"n-{uuid.uuid4().hex[:6]}",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 30)
        finally:
            await consumer.stop()

    event = json.loads(record.value)
    assert record.key == customer["tenant_id"].encode()
    assert event["type"] == "EmailRequested" and event["causationid"] == requested_id
    data = event["data"]
    sent = got.of_type("EmailSent")[0]["data"]
    assert event["id"] == email_requested_id(sent["email_id"])
    assert (data["email_id"], data["template"], data["locale"], data["to"]) == (
        sent["email_id"],
        "reseller_relationship_invitation",
        "sv-SE",
        customer["admin_email"],
    )
    message = email.message_from_bytes(base64.b64decode(data["message"]), policy=email.policy.default)
    assert message["To"] == customer["admin_email"] and message["Subject"] == data["subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert len(set(LINK.findall(text))) == 1, "the invitation's link travels in the message"
    assert mailbox.messages() == [], "nothing over SMTP"
