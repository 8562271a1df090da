"""Who may answer on the acceptance page (RR-5, GD-4, IR-3), the contract commands it builds with
the verified identity, and what it shows of an admin relationship (GD-3, GD-4)."""

from __future__ import annotations

import html
import json
import uuid
from datetime import UTC, datetime

import pytest

from contracts.commands import AcceptResellerRelationship, ApproveAdminRelationship
from handlers.acceptance import command_for
from handlers.page_views import PageViews
from service.adapters.invitation_queries import AdminRequestView, InvitationView
from service.bus import Outcome
from service.domain.entra_roles import EntraRole, entra_roles
from service.domain.model import InvitationKind
from service.domain.signin import (
    GLOBAL_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    SignedInUser,
    refusal,
    verified_global_admin,
)
from tests.support.commands import accept_command, customer_details, new_partner
from tests.support.fake_bus import Harness
from tests.support.page_signin import ISSUER, TENANT

# -- who may answer --------------------------------------------------------------------------


def user(tenant: str = TENANT, roles: frozenset[str] = frozenset({GLOBAL_ADMINISTRATOR})) -> SignedInUser:
    return SignedInUser("s", tenant, roles, "u@fabrikam.example", ISSUER)


@pytest.mark.parametrize("kind", [InvitationKind.RESELLER_RELATIONSHIP, InvitationKind.ADMIN_RELATIONSHIP])
def test_rr5_gd4_only_the_customers_global_admin_may_answer(kind: InvitationKind) -> None:
    assert refusal(user(), TENANT.upper(), kind) is None
    assert refusal(user(roles=frozenset({USER_ADMINISTRATOR})), TENANT, kind) == "not_global_admin"
    assert refusal(user(roles=frozenset()), TENANT, kind) == "not_global_admin"
    assert refusal(user(tenant=str(uuid.uuid4())), TENANT, kind) == "wrong_tenant"


def test_ir3_only_an_administrator_of_the_reseller_may_answer() -> None:
    partnership = InvitationKind.PARTNERSHIP
    assert refusal(user(roles=frozenset({USER_ADMINISTRATOR})), TENANT, partnership) is None
    assert refusal(user(roles=frozenset()), TENANT, partnership) == "not_partner_admin"
    assert refusal(user(tenant=str(uuid.uuid4())), TENANT, partnership) == "wrong_tenant"


def test_rr5_verified_role_ids_decide_over_the_flag() -> None:
    assert verified_global_admin(True, None, None, TENANT) is True  # v1 producers: the flag
    assert verified_global_admin(False, None, None, TENANT) is False
    assert verified_global_admin(True, TENANT, [USER_ADMINISTRATOR], TENANT) is False
    assert verified_global_admin(False, TENANT, [GLOBAL_ADMINISTRATOR.upper()], TENANT) is True
    assert verified_global_admin(True, str(uuid.uuid4()), [GLOBAL_ADMINISTRATOR], TENANT) is False


def verified_accept(token: str, tenant: str, roles: list[str], user_tenant: str | None = None) -> bytes:
    raw = json.loads(accept_command(token, tenant, global_admin=True))
    raw["data"]["accepted_by"] |= {"tenant_id": user_tenant or tenant, "directory_role_ids": roles}
    return json.dumps(raw).encode()


async def test_rr5_a_verified_acceptance_without_global_administrator_is_refused(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    assert (
        await h.send(verified_accept(token, customer["tenant_id"], [USER_ADMINISTRATOR])) is Outcome.REJECTED
    )
    assert (h.rejection()["reason"], h.rejection()["rule"]) == ("not_global_admin", "RR-5")


async def test_rr5_a_verified_global_admin_of_another_tenant_is_refused(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    raw = verified_accept(token, customer["tenant_id"], [GLOBAL_ADMINISTRATOR], user_tenant=str(uuid.uuid4()))
    assert await h.send(raw) is Outcome.REJECTED
    assert h.rejection()["reason"] == "not_global_admin"


async def test_rr5_a_verified_global_admin_accepts_and_the_event_names_the_user(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    customer = customer_details()
    token = await h.invite(partner, customer)
    assert (
        await h.send(verified_accept(token, customer["tenant_id"], [GLOBAL_ADMINISTRATOR])) is Outcome.APPLIED
    )
    assert h.event_data("ResellerRelationshipAccepted")["accepted_by"] == "admin@fabrikam.example"


def test_the_page_builds_contract_commands_with_the_verified_identity() -> None:
    view = InvitationView(
        invitation_id="i",
        kind="reseller-relationship",
        status="pending",
        expires_at=None,  # type: ignore[arg-type]
        inviter_id="1234567",
        inviter_name="Contoso",
        invitee_id=TENANT,
        invitee_tenant_id=TENANT,
        invitee_name="Fabrikam",
    )
    kind, data = command_for("accept", view, user(), "tok", accept_agreement=True, reason=None)
    command = AcceptResellerRelationship.model_validate(data)
    assert kind == "AcceptResellerRelationship"
    assert (command.actor.kind, command.actor.tenant_id, command.actor.user) == (
        "customer",
        TENANT,
        "u@fabrikam.example",
    )
    assert command.accepted_by.directory_role_ids == [GLOBAL_ADMINISTRATOR]
    assert command.accepted_by.tenant_id == TENANT and command.accept_customer_agreement is True
    kind, data = command_for("decline", view, user(), "tok", accept_agreement=False, reason="no")
    assert kind == "DeclineInvitation" and data["reason"] == "no"
    partnership = InvitationView(**{**view.__dict__, "kind": "partnership"})
    kind, data = command_for("accept", partnership, user(), "tok", accept_agreement=False, reason=None)
    assert kind == "AcceptPartnership" and data["actor"]["kind"] == "partner"
    assert data["actor"]["roles"] == ["global-admin"]


def test_gd4_the_page_approves_an_admin_relationship_with_the_verified_identity() -> None:
    view = admin_view()
    kind, data = command_for("accept", view, user(), "tok", accept_agreement=False, reason=None)
    command = ApproveAdminRelationship.model_validate(data)
    assert kind == "ApproveAdminRelationship"
    assert (command.actor.kind, command.actor.tenant_id) == ("customer", TENANT)
    assert command.approved_by.model_dump(exclude_none=True) == {
        "user": "u@fabrikam.example",
        "is_global_admin": True,
        "tenant_id": TENANT,
        "directory_role_ids": [GLOBAL_ADMINISTRATOR],
    }
    kind, data = command_for("decline", view, user(), "tok", accept_agreement=False, reason=None)
    assert kind == "DeclineInvitation" and data["actor"]["kind"] == "customer"


def admin_view(auto_extend_days: int = 0, duration_days: int = 40) -> InvitationView:
    table = entra_roles()
    global_reader = table.by_name("Global Reader")
    return InvitationView(
        invitation_id="i",
        kind="admin_relationship",
        status="pending",
        expires_at=datetime(2027, 3, 1, 12, tzinfo=UTC),
        inviter_id="1234567",
        inviter_name="Contoso",
        invitee_id=TENANT,
        invitee_tenant_id=TENANT,
        invitee_name="Fabrikam",
        cloud="public",
        admin_request=AdminRequestView(
            display_name="Helpdesk 2027",
            roles=(
                global_reader,
                EntraRole(
                    "0000aaaa-0000-0000-0000-000000000000", "0000aaaa-0000-0000-0000-000000000000", "", False
                ),
            ),
            duration_days=duration_days,
            auto_extend_days=auto_extend_days,
        ),
    )


def rendered(view: InvitationView, locale: str) -> str:
    views = PageViews()
    return views.render(
        "invitation.html.j2",
        views.locale_for([locale]),
        static_url="/s.css",
        page_url="/invitations/public",
        title="t",
        view=view,
        customer=False,
        admin=view.admin_request,
        expires_text="soon",
        user=None,
        refusal=None,
        csrf="",
        command_id="c",
        message=None,
        sign_in_url="/invitations/public/sign-in",
        respond_url="/invitations/public/respond",
    )


@pytest.mark.parametrize(
    ("locale", "heading", "duration", "extension"),
    [
        ("en-US", "Contoso asks Fabrikam for granular", "Duration: 40 days from", "Automatic extension: off"),
        ("de-DE", "Contoso asks Fabrikam for granular", "Duration: 40 days from", "Automatic extension: off"),
        (
            "sv-SE",
            "Contoso ber Fabrikam om detaljerade",
            "Varaktighet: 40 dagar",
            "Automatisk förlängning: av",
        ),
        ("tr-TR", "Contoso, Fabrikam kuruluşundan", "itibaren 40 gün", "Otomatik uzatma: kapal\u0131"),
        ("zh-CN", "Contoso 请求 Fabrikam 授予", "自你批准起 40 天", "自动延期\uff1a关闭"),
    ],
)
def test_gd4_the_page_shows_each_role_with_what_it_allows_the_duration_and_auto_extend(
    locale: str, heading: str, duration: str, extension: str
) -> None:
    page = rendered(admin_view(), locale)
    global_reader = entra_roles().by_name("Global Reader")
    assert heading in page and duration in page and extension in page
    assert '<strong lang="en">Global Reader</strong>' in page
    assert html.escape(global_reader.description, quote=True) in page, "its one line, Microsoft's English"
    assert "0000aaaa-0000-0000-0000-000000000000</strong>" in page, "a role the table lost: by its id"
    assert "agreement" not in page, "no Microsoft Customer Agreement to accept for GDAP"


def test_gd3_the_page_says_a_relationship_with_auto_extend_is_extended_180_days_at_a_time() -> None:
    page = rendered(admin_view(auto_extend_days=180, duration_days=1), "en-US")
    assert "Duration: 1 day from your approval." in page
    assert "extended by 180 days at a time, until you or Contoso end it" in page
