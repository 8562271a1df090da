"""Issue 17, point 5, through the real ``CommandBus`` on the fakes: ACT-1, each command's roles
come from the document that governs it (001 or 003); and ``RequestPartnership.message`` in the
partnership email (document 001: the text may be edited, the link must stay)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.domain.actors import PARTNER_ROLES
from service.domain.model import InvitationStatus
from tests.support.commands import (
    customer_details,
    new_partner,
    partner_actor,
    request_command,
)
from tests.support.emails import bodies, link_in, parse_email, token_of
from tests.support.fake_bus import (
    Harness,
    Indirect,
    added_customer,
    applied,
    bought,
    refused,
)
from tests.support.indirect import (
    accept_partnership,
    add_customer,
    associate_reseller,
    command,
    provider_partner,
    remove_partnership,
    reseller_partner,
)

ROOT = Path(__file__).resolve().parents[2]


# --- 5. ACT-1: the roles of the document that governs each command ---------------------------


@pytest.mark.parametrize("role", ["global-admin", "user-admin", "sales-agent"])
async def test_act1_document_003_roles_may_request_a_reseller_relationship(h: Harness, role: str) -> None:
    partner = h.add_partner(new_partner())

    await applied(h, request_command(partner, customer_details(), actor=partner_actor(partner, role)))


@pytest.mark.parametrize("role", ["admin-agent", "billing-admin", "helpdesk-agent"])
async def test_act1_other_roles_may_not_request_a_reseller_relationship(h: Harness, role: str) -> None:
    partner = h.add_partner(new_partner())

    await refused(
        h,
        request_command(partner, customer_details(), actor=partner_actor(partner, role)),
        "forbidden",
        "ACT-1",
    )


async def test_act1_an_admin_agent_takes_the_provider_actions_of_document_001(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner())
    agent = partner_actor(provider, "admin-agent")
    await applied(
        h,
        command(
            "RequestPartnership",
            agent,
            reseller.partner_id,
            provider_id=provider.partner_id,
            reseller_id=reseller.partner_id,
        ),
    )
    await applied(
        h, accept_partnership(token_of(h.last_link()), reseller, actor=partner_actor(reseller, "admin-agent"))
    )
    pair = Indirect(provider, reseller)
    tenant = await added_customer(h, pair)
    subscription_id = await bought(h, tenant)

    await applied(h, associate_reseller(provider, tenant, subscription_id, reseller.partner_id, actor=agent))
    await refused(
        h,
        associate_reseller(
            provider, tenant, subscription_id, None, actor=partner_actor(provider, "billing-admin")
        ),
        "forbidden",
        "ACT-1",
    )
    await refused(
        h,
        add_customer(provider, reseller, customer_details(), actor=partner_actor(provider, "billing-admin")),
        "forbidden",
        "ACT-1",
    )
    await applied(h, remove_partnership(provider, reseller, actor=agent))


def test_act1_the_domain_docs_give_each_commands_roles_and_their_document() -> None:
    """docs/domain.md's table "Who may send each command" says what ``PARTNER_ROLES`` says."""
    page = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    section = page.split("### Who may send each command", 1)[1].split("\n#", 1)[0]
    documented: dict[str, tuple[frozenset[str], str]] = {}
    for row in re.findall(r"^\| `(\w+)` \|(.+)\|$", section, flags=re.MULTILINE):
        name, rest = row
        cells = [cell.strip() for cell in rest.split("|")]
        roles = frozenset(re.findall(r"`([a-z-]+)`", cells[1]))
        documented[name] = (roles, cells[2])
    expected = {name: (roles.allowed, roles.source) for name, roles in PARTNER_ROLES.items()}
    assert documented == expected


# --- smaller: the provider's own text in the partnership email -------------------------------


async def test_request_partnership_message_is_shown_next_to_the_link(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner(locale="tr-TR"))
    message = "Merhaba! Görüşmemize göre\ndavetimiz ekte."

    await applied(
        h,
        command(
            "RequestPartnership",
            partner_actor(provider),
            reseller.partner_id,
            provider_id=provider.partner_id,
            reseller_id=reseller.partner_id,
            message=message,
        ),
    )

    text, html = bodies(parse_email(h.db.emails[-1]))
    assert message in text
    assert "Görüşmemize göre" in html
    link_in(text)  # the personalized link is still there, once
    await applied(h, accept_partnership(token_of(h.last_link()), reseller))


async def test_request_partnership_without_message_has_no_message_section(h: Harness) -> None:
    provider = h.add_partner(provider_partner())
    reseller = h.add_partner(reseller_partner(locale="en-US"))

    await applied(
        h,
        command(
            "RequestPartnership",
            partner_actor(provider),
            reseller.partner_id,
            provider_id=provider.partner_id,
            reseller_id=reseller.partner_id,
        ),
    )

    text, _ = bodies(parse_email(h.db.emails[-1]))
    assert "Personal message" not in text
    assert "\n\n\n" not in text
    assert {i.status for i in h.db.invitations.values()} == {InvitationStatus.PENDING}
