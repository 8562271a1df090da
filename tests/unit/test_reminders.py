"""INV-4: one reminder before an invitation expires, from the background task, with a second
link to the same invitation (fake database; invitations made through the real command bus)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.bus import Outcome
from service.domain.model import InvitationStatus
from service.expiry import InvitationExpiry
from service.tokens import hash_token
from tests.support.commands import accept_command, cloud_event, decline_command, new_partner, partner_actor
from tests.support.emails import bodies, link_in, parse_email, token_of
from tests.support.expiry import EXPIRY_SOURCE, World

from .fakes import DEFAULT_TTL

REMINDER = timedelta(days=3)


def reminders(w: World) -> InvitationExpiry:
    return InvitationExpiry(w.h.db.unit_of_work, w.deps, EXPIRY_SOURCE, 1.0, 100, reminder=REMINDER)


async def test_inv4_one_reminder_with_a_new_link_before_expiry(w: World) -> None:
    partner = w.h.add_partner(new_partner())
    tenant, first_token = await w.invite_customer(partner)  # the customer reads en-US
    (invitation,) = w.h.db.invitations.values()
    task = reminders(w)

    w.h.clock.advance(DEFAULT_TTL - REMINDER - timedelta(seconds=1))
    assert await task.remind_once() == 0, "not yet within three days of expiry"
    now = w.h.clock.advance(timedelta(seconds=2))
    assert await task.remind_once() == 1
    assert await task.remind_once() == 0, "one reminder only"

    ((key, event),) = w.staged("InvitationReminderSent")
    assert key == tenant.encode()
    assert event["causationid"] == invitation.invitation_id
    assert event["data"] == {
        "invitation_id": invitation.invitation_id,
        "kind": "reseller-relationship",
        "partner_id": partner.partner_id,
        "customer_tenant_id": tenant,
        "provider_id": None,
        "reseller_id": None,
        "expires_at": invitation.expires_at.isoformat().replace("+00:00", "Z"),
    }
    reminder = parse_email(w.h.db.emails[-1])
    assert reminder["Subject"] == "Reminder: Reseller relationship invitation from Contoso Partner AB"
    text, html = bodies(reminder)
    assert text.startswith("Reminder: this invitation is still waiting for an answer and expires on ")
    new_token = token_of(link_in(text))
    assert new_token != first_token and new_token in html
    stored = w.h.db.invitations[invitation.invitation_id]
    assert stored.reminder_token_hash == hash_token(new_token) and stored.reminded_at == now
    assert stored.token_hash == hash_token(first_token), "the first link still works"


@pytest.mark.parametrize("which", ["first", "reminder"])
async def test_inv4_either_link_works_and_using_one_spends_both(w: World, which: str) -> None:
    partner = w.h.add_partner(new_partner())
    tenant, first_token = await w.invite_customer(partner)
    w.h.clock.advance(DEFAULT_TTL - REMINDER)
    assert await reminders(w).remind_once() == 1
    reminder_token = token_of(link_in(bodies(parse_email(w.h.db.emails[-1]))[0]))
    used, other = (first_token, reminder_token) if which == "first" else (reminder_token, first_token)

    assert await w.h.send(accept_command(used, tenant)) is Outcome.APPLIED
    assert await w.h.send(decline_command(other, tenant)) is Outcome.REJECTED
    assert (w.h.rejection()["reason"], w.h.rejection()["rule"]) == ("invitation_already_used", "INV-1")
    (invitation,) = w.h.db.invitations.values()
    assert invitation.status is InvitationStatus.ACCEPTED


async def test_inv4_no_reminder_for_an_answered_or_expired_invitation_nor_when_off(w: World) -> None:
    partner = w.h.add_partner(new_partner())
    tenant, token = await w.invite_customer(partner)
    await w.invite_customer(partner)  # another, left to expire
    assert await w.h.send(decline_command(token, tenant)) is Outcome.APPLIED
    w.h.clock.advance(DEFAULT_TTL - REMINDER)
    off = InvitationExpiry(w.h.db.unit_of_work, w.deps, EXPIRY_SOURCE, 1.0, 100, reminder=None)
    assert await off.remind_once() == 0
    w.h.clock.advance(REMINDER)
    assert await reminders(w).remind_once() == 0, "declined, or at its expiry"


async def test_inv4_a_partnership_reminder_goes_to_the_reseller(w: World) -> None:
    provider = w.h.add_partner(new_partner(name="Northwind"))
    provider.kind = "indirect-provider"
    reseller = w.h.add_partner(new_partner(name="Tailspin", locale="tr-TR"))
    reseller.kind = "indirect-reseller"
    raw = cloud_event(
        "RequestPartnership",
        {
            "actor": partner_actor(provider),
            "provider_id": provider.partner_id,
            "reseller_id": reseller.partner_id,
        },
        subject=reseller.partner_id,
    )
    assert await w.h.send(raw) is Outcome.APPLIED
    w.h.clock.advance(DEFAULT_TTL - REMINDER)
    assert await reminders(w).remind_once() == 1
    reminder = parse_email(w.h.db.emails[-1])
    assert reminder["To"] == reseller.contact_email
    assert reminder["Subject"].startswith("Hatırlatma: Northwind")  # noqa: RUF001 (Turkish)
    ((_, event),) = w.staged("InvitationReminderSent")
    assert (event["data"]["provider_id"], event["data"]["reseller_id"]) == (
        provider.partner_id,
        reseller.partner_id,
    )
