"""IR-3, the partnership invitation, through the real ``CommandBus`` and ``USE_CASES`` on the
fake unit of work: the request emails the reseller, the link accepted activates the
partnership; who may accept or decline; which token accepts what."""

from __future__ import annotations

from urllib.parse import urlsplit
from uuid import uuid4

import pytest

from service.domain.model import (
    InvitationKind,
    InvitationStatus,
    PartnershipStatus,
)
from service.settings import DEFAULT_LINK_BASES
from service.tokens import hash_token
from tests.support.commands import (
    customer_actor,
    customer_details,
    new_partner,
    partner_actor,
)
from tests.support.emails import (
    bodies,
    link_in,
    parse_email,
    token_of,
)
from tests.support.fake_bus import (
    Harness,
    applied,
    only,
    refused,
    request_partnership_token,
)
from tests.support.indirect import (
    accept_partnership,
    command,
    decline_partnership,
    provider_partner,
    request_partnership,
    reseller_partner,
)

# --- IR-3: the partnership invitation ------------------------------------------------------


async def test_ir3_request_emails_the_reseller_and_the_link_accepted_activates_the_partnership(
    h: Harness,
) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner(locale="tr-TR"))

    requested = only(await applied(h, request_partnership(provider, reseller)), "PartnershipRequested")

    (partnership,) = h.db.partnerships.values()
    assert partnership.status is PartnershipStatus.PENDING
    (staged,) = h.db.emails
    assert (staged.to, staged.locale, staged.template) == (
        "satis@bayi.example",
        "tr-TR",
        "partnership_invitation",
    )
    message = parse_email(staged)
    assert message.get_all("To") == ["satis@bayi.example"]
    assert message["Content-Language"] == "tr-TR"
    text, html = bodies(message)
    link = link_in(text)  # exactly one personalized link
    assert f'href="{link}"' in html
    base, parts = urlsplit(DEFAULT_LINK_BASES["partnership"]), urlsplit(link)
    assert (parts.netloc, parts.path) == (base.netloc, base.path)
    token = token_of(link)
    assert requested == {
        "partnership_id": partnership.partnership_id,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
        "invitation_url": link,
        "expires_at": "2026-12-05T10:00:00Z",
    }
    (invitation,) = h.db.invitations.values()
    assert invitation.kind is InvitationKind.PARTNERSHIP
    assert invitation.token_hash == hash_token(token)
    h.clock.advance(hours=1)

    events = await applied(h, accept_partnership(token, reseller))

    assert [event["type"] for event in events] == ["PartnershipAccepted"]
    assert events[0]["data"] == {
        "partnership_id": partnership.partnership_id,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
        "accepted_by": "agent@contoso.example",
    }
    accepted = h.db.partnerships[partnership.partnership_id]
    assert (accepted.status, accepted.accepted_at) == (PartnershipStatus.ACTIVE, h.clock.now)
    assert h.db.invitations[invitation.invitation_id].status is InvitationStatus.ACCEPTED
    assert len(h.db.emails) == 1
    await refused(h, accept_partnership(token, reseller), "invitation_already_used", "INV-1")


@pytest.mark.parametrize("intruder", ["provider", "other-reseller", "customer", "reseller-without-role"])
async def test_ir3_accept_by_anyone_but_the_invited_reseller_is_forbidden(h: Harness, intruder: str) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    other = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    actor = {
        "provider": partner_actor(provider),
        "other-reseller": partner_actor(other),
        "customer": customer_actor(str(uuid4())),
        "reseller-without-role": partner_actor(reseller, "helpdesk-agent"),
    }[intruder]

    await refused(h, accept_partnership(token, reseller, actor=actor), "forbidden", "ACT-1")
    assert {i.status for i in h.db.invitations.values()} == {InvitationStatus.PENDING}


async def test_ir3_reseller_declines_a_partnership_invitation(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    (invitation,) = h.db.invitations.values()

    events = await applied(h, decline_partnership(token, reseller))

    assert [event["type"] for event in events] == ["InvitationDeclined"]
    assert events[0]["data"] == {
        "invitation_id": invitation.invitation_id,
        "kind": "partnership",
        "partner_id": None,
        "customer_tenant_id": None,
        "provider_id": provider.partner_id,
        "reseller_id": reseller.partner_id,
        "reason": None,
        "declined_by": "agent@contoso.example",
    }
    (partnership,) = h.db.partnerships.values()
    assert partnership.status is PartnershipStatus.DECLINED
    await refused(h, accept_partnership(token, reseller), "invitation_already_used", "INV-1")


async def test_ir3_decline_by_the_provider_is_forbidden(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    token = await request_partnership_token(h, provider, reseller)
    raw = command("DeclineInvitation", partner_actor(provider), reseller.partner_id, token=token)

    await refused(h, raw, "forbidden", "ACT-1")


async def test_ir3_request_by_a_partner_that_is_not_an_indirect_provider_is_forbidden(h: Harness) -> None:
    direct = h.add_partner(new_partner())
    reseller = h.add_partner(reseller_partner())

    await refused(h, request_partnership(direct, reseller), "forbidden", "IR-3")


async def test_ir3_a_reseller_relationship_token_does_not_accept_a_partnership(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    reseller = h.add_partner(reseller_partner())
    token = await h.invite(partner, customer_details())

    await refused(h, accept_partnership(token, reseller), "invalid_token", "INV-3")
