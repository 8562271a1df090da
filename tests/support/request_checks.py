"""What an applied ``RequestResellerRelationship`` leaves behind on the in-memory fakes, checked
part by part (RR-1, RR-2, RR-6): the stored customer, relationship and invitation; the
``ResellerRelationshipRequested`` event's envelope; the invitation email staged in the outbox.
"""

from __future__ import annotations

from typing import Any

from service.domain.model import InvitationKind, InvitationStatus, Partner, RelationshipStatus
from tests.support.commands import SOURCE, TEMPLATE
from tests.support.emails import bodies, link_in, parse_email
from tests.support.fake_bus import Harness
from tests.unit.fakes import DEFAULT_TTL, MAIL_FROM


def pending_relationship_stored(h: Harness, partner: Partner, tenant: str) -> tuple[Any, Any]:
    """The customer, a pending relationship and a pending invitation keeping only the token's
    hash; returns the relationship and the invitation."""
    stored_customer = h.db.customers[tenant]
    assert (stored_customer.company_name, stored_customer.cloud, stored_customer.admin_email) == (
        "Fabrikam AB",
        "public",
        "admin@fabrikam.example",
    )
    assert stored_customer.customer_agreement_accepted_at is None
    (relationship,) = h.db.relationships.values()
    assert (relationship.partner_id, relationship.customer_tenant_id) == (
        partner.partner_id,
        tenant,
    )
    assert relationship.include_delegated_admin is True
    assert relationship.status is RelationshipStatus.PENDING
    assert relationship.delegated_admin is False
    (invitation,) = h.db.invitations.values()
    assert invitation.kind is InvitationKind.RESELLER_RELATIONSHIP
    assert (invitation.subject_id, invitation.inviter_id, invitation.invitee_id) == (
        relationship.relationship_id,
        partner.partner_id,
        tenant,
    )
    assert invitation.status is InvitationStatus.PENDING
    assert invitation.expires_at == h.clock.now + DEFAULT_TTL
    return relationship, invitation


def requested_event(h: Harness, command_id: str, tenant: str) -> dict[str, Any]:
    """The one event: ``ResellerRelationshipRequested`` caused and correlated by the command,
    keyed by the customer's tenant; returns it."""
    (event,) = h.events()
    assert event["type"] == "ResellerRelationshipRequested"
    assert (event["causationid"], event["correlationid"], event["subject"]) == (
        command_id,
        command_id,
        tenant,
    )
    assert (event["specversion"], event["source"], event["time"]) == (
        "1.0",
        SOURCE,
        "2026-11-21T10:00:00Z",
    )
    assert event["id"] == h.db.events[0].event_id
    assert h.db.events[0].key == tenant.encode()
    return event


def invitation_email(h: Harness, command_id: str, tenant: str) -> str:
    """The one email staged: to the customer's admin, in en-US, with DAP included and the
    expiry date; returns the link in its text (the same in its HTML)."""
    (staged,) = h.db.emails
    assert (staged.to, staged.template, staged.locale) == (
        "admin@fabrikam.example",
        TEMPLATE,
        "en-US",
    )
    assert (staged.causation_id, staged.correlation_id, staged.key) == (
        command_id,
        command_id,
        tenant.encode(),
    )
    message = parse_email(staged)
    assert message["To"] == "admin@fabrikam.example"
    assert message["From"] == MAIL_FROM
    assert message["Subject"] == "Reseller relationship invitation from Contoso Partner AB"
    assert message["Content-Language"] == "en-US"
    assert message["X-Partnerlink-Email-Id"] == staged.email_id
    assert message["Message-ID"].endswith("@partnerlink.example>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = bodies(message)
    link = link_in(text)
    assert f'href="{link}"' in html
    assert "Delegated administration privileges: included" in text
    assert "Delegated administration privileges: included" in html
    assert "December 5, 2026" in text  # expires_at, formatted for the locale
    return link
