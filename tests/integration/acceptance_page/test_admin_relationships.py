"""Admin relationships (GDAP) on the acceptance page: the customer's Global Administrator
approves in the browser; a user without that role cannot, and spends nothing."""

from __future__ import annotations

from typing import Any

import pytest

from service.domain.signin import GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR
from tests.integration.harness import Harness
from tests.support.acceptance_page import (
    DOCS,
    GLOBAL_READER,
    HELPDESK_ADMINISTRATOR,
    SCREENSHOTS,
    a_user,
    admin_events,
    request_admin_relationship,
    sign_in,
    sign_in_again,
)
from tools.embedded.mailbox import FileMailbox

pytestmark = [pytest.mark.kafka, pytest.mark.smtp]


async def test_the_customers_global_admin_approves_an_admin_relationship_on_the_page(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    """GD-4 end to end: the emailed link shows the roles, each with what it allows, the duration
    and auto-extend; the customer's global admin signs in and approves; the page publishes
    ``ApproveAdminRelationship`` and shows ``AdminRelationshipActivated``'s outcome."""
    h = page_service
    requested = await request_admin_relationship(h, module_mailbox)
    admin = a_user(
        oidc_issuer, requested["tenant"], roles=[GLOBAL_ADMINISTRATOR], name="ga@lindqvist.example"
    )

    await tab.goto(requested["link"])
    assert "token=" not in tab.url
    assert await tab.inner_text("h1") == (
        "Contoso Cloud AB asks Lindqvist Bygg AB for granular delegated admin privileges (GDAP)"
    )
    roles = await tab.locator("#roles li").all_inner_texts()
    assert [role.split(":")[0] for role in roles] == [
        "Global Reader (privileged)",
        "Helpdesk Administrator (privileged)",
    ]
    assert "Can read everything that a Global Administrator can, but not update anything." in roles[0]
    assert await tab.inner_text("#duration") == "Duration: 40 days from your approval."
    assert (await tab.inner_text("#auto-extend")).startswith("Automatic extension: off.")
    assert await tab.locator("#agreement").count() == 0
    if SCREENSHOTS:
        await tab.screenshot(path=str(DOCS / "acceptance-page-admin-relationship.png"), full_page=True)
    await tab.goto(f"{h.settings.public_url}/invitations/public?lang=tr-TR")
    assert "itibaren 40 g\u00fcn" in await tab.inner_text("#duration")
    await tab.goto(f"{h.settings.public_url}/invitations/public?lang=en-US")

    await sign_in(tab, admin)
    assert await tab.inner_text("#accept") == "Approve"
    await tab.click("#accept")
    await tab.wait_for_selector("#outcome.ok")
    outcome = await tab.inner_text("#outcome")
    assert outcome.startswith(
        "Approved. Contoso Cloud AB holds the roles of \u201cHelpdesk\u201d in Lindqvist Bygg AB's tenant until "
    )
    assert await tab.get_attribute("#continue", "href") == "https://admin.microsoft.com/"

    await h.wait_until(lambda r: any(admin_events(h, "AdminRelationshipActivated", requested["tenant"])))
    (activated,) = admin_events(h, "AdminRelationshipActivated", requested["tenant"])
    assert activated["data"]["approved_by"] == "ga@lindqvist.example"
    assert activated["data"]["roles"] == [GLOBAL_READER, HELPDESK_ADMINISTRATOR]
    assert activated["_key"] == requested["tenant"].encode()

    await tab.goto(requested["link"])  # the used link: nothing more to spend
    assert "already been approved" in await tab.inner_text("#notice")


async def test_a_user_without_global_admin_cannot_approve_an_admin_relationship_and_spends_nothing(
    page_service: Harness, module_mailbox: FileMailbox, oidc_issuer: str, tab: Any
) -> None:
    """GD-4: a User Administrator of the customer sees why not and nothing is published; the
    same link then lets the customer's global admin decline it."""
    h = page_service
    requested = await request_admin_relationship(h, module_mailbox)
    helpdesk = a_user(
        oidc_issuer, requested["tenant"], roles=[USER_ADMINISTRATOR], name="helpdesk@lindqvist.example"
    )
    await tab.goto(requested["link"])
    await sign_in(tab, helpdesk)
    assert await tab.inner_text("#refusal") == (
        "The account helpdesk@lindqvist.example is not a Global Administrator of Lindqvist Bygg AB. Only a "
        "Global Administrator can answer this invitation. Nothing was changed."
    )
    assert await tab.locator("#accept").count() == 0
    assert not admin_events(h, "AdminRelationshipActivated", requested["tenant"])

    boss = a_user(
        oidc_issuer, requested["tenant"], roles=[GLOBAL_ADMINISTRATOR], name="boss@lindqvist.example"
    )
    await sign_in_again(tab, boss)
    await tab.click("#decline")
    await tab.wait_for_selector("#outcome.ok")
    assert await tab.inner_text("#outcome") == "You declined the invitation from Contoso Cloud AB."
    await h.wait_until(lambda r: any(admin_events(h, "InvitationDeclined", requested["tenant"])))
    (declined,) = admin_events(h, "InvitationDeclined", requested["tenant"])
    assert (declined["data"]["kind"], declined["data"]["declined_by"]) == (
        "admin_relationship",
        "boss@lindqvist.example",
    )
    assert not admin_events(h, "AdminRelationshipActivated", requested["tenant"])
