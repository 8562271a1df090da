"""End to end over real servers: the commands a partner and a customer send, the link in
the email, and the invitation's round trip (request → email over SMTP → accept).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select, text

from service.adapters import orm
from service.adapters.database import create_engine
from tests.integration.harness import Harness

LINK = re.compile(r"https?://\S+?\?token=[A-Za-z0-9_\-]+")


def a_partner(country: str = "SE", locale: str = "sv-SE") -> dict[str, Any]:
    return {
        "actor": {"kind": "system", "tenant_id": "partner-center"},
        "partner_id": str(uuid.uuid4().int % 9_000_000 + 1_000_000),
        "tenant_id": str(uuid.uuid4()),
        "name": "Contoso Cloud AB",
        "country": country,
        "kind": "direct",
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": "partners@contoso.example",
        "locale": locale,
    }


def a_request(
    partner: dict[str, Any], *, cloud: str = "public", dap: bool = True, locale: str = "sv-SE"
) -> dict[str, Any]:
    tenant = str(uuid.uuid4())
    return {
        "actor": {
            "kind": "partner",
            "tenant_id": partner["tenant_id"],
            "user": "agent@contoso.example",
            "roles": ["sales-agent"],
        },
        "partner_id": partner["partner_id"],
        "include_delegated_admin": dap,
        "customer": {
            "tenant_id": tenant,
            "company_name": "Lindqvist Bygg AB",
            "country": "SE",
            "cloud": cloud,
            "is_csp_partner": False,
            "admin_email": f"admin-{tenant[:8]}@lindqvist.example",
            "locale": locale,
        },
    }


def the_link(mail: EmailMessage) -> str:
    links = LINK.findall(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert len(links) == 1, "the text part carries exactly one personalized link"
    return str(links[0])


async def invitation_round_trip(kafka: Any, mailbox: Any, database_url: str) -> None:
    """Request → email over SMTP → accept with the link's token → events and state (RR-1, RR-5..7)."""
    async with Harness(kafka, mailbox, database_url) as h:
        partner = a_partner()
        request = a_request(partner)
        customer = request["customer"]
        registered_id = await h.send("RegisterPartner", partner, key=partner["partner_id"])
        requested_id = await h.send("RequestResellerRelationship", request, key=customer["tenant_id"])

        mail = await mailbox.wait_for(lambda m: m["To"] == customer["admin_email"], timeout=60)
        assert mail["From"] == h.settings.mail_from
        assert "Contoso Cloud AB" in mail["Subject"] and "\n" not in mail["Subject"]
        assert mail["Content-Language"] == "sv-SE"
        assert mail.get_content_type() == "multipart/alternative"
        assert mailbox.envelopes[-1][1] == [customer["admin_email"]], "exactly one recipient, no Bcc"
        link = the_link(mail)
        assert link.startswith(h.settings.link_base_public + "?token=")  # RR-6: public cloud's portal
        html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert f'href="{link}"' in html
        token = parse_qs(urlsplit(link).query)["token"][0]

        accepted_id = await h.send(
            "AcceptResellerRelationship",
            {
                "actor": {"kind": "customer", "tenant_id": customer["tenant_id"], "roles": ["global-admin"]},
                "token": token,
                "accepted_by": {"user": customer["admin_email"], "is_global_admin": True},
                "accept_customer_agreement": True,
            },
            key=customer["tenant_id"],
        )
        got = await h.wait_until(
            lambda r: r.of_type("ResellerRelationshipAccepted") and r.of_type("EmailSent")
        )

        assert got.of_type("PartnerRegistered")[0]["causationid"] == registered_id
        requested = got.of_type("ResellerRelationshipRequested")[0]
        assert requested["causationid"] == requested_id and requested["correlationid"] == requested_id
        assert requested["_key"] == customer["tenant_id"].encode()
        assert requested["_headers"]["content-type"] == b"application/cloudevents+json"
        assert requested["data"]["invitation_url"] == link
        assert got.of_type("EmailSent")[0]["data"]["causationid"] == requested_id
        accepted = got.of_type("ResellerRelationshipAccepted")[0]
        assert accepted["causationid"] == accepted_id
        assert accepted["data"]["delegated_admin_granted"] is True
        assert accepted["data"]["customer_tenant_id"] == customer["tenant_id"]

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        relationship = (await conn.execute(select(orm.reseller_relationships))).one()
        assert relationship.status == "active" and relationship.delegated_admin is True
        invitation = (await conn.execute(select(orm.invitations))).one()
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert invitation.status == "accepted"
        for table in orm.metadata.sorted_tables:  # the token itself is stored nowhere
            for row in (await conn.execute(select(table))).all():
                assert token not in repr(tuple(row)), f"the token is stored in {table.name}"
        assert (await conn.execute(text("select count(*) from inbox"))).scalar() == 3
    await engine.dispose()


def partnerlink() -> list[str]:
    script = shutil.which("partnerlink", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "service.cli"]


def rr8_partner() -> dict[str, Any]:
    """RR-8's direct partner's registration, with a random MPN ID and tenant."""
    return {
        "actor": {"kind": "system", "tenant_id": "partner-center"},
        "partner_id": str(uuid.uuid4().int % 9_000_000 + 1_000_000),
        "tenant_id": str(uuid.uuid4()),
        "name": "Contoso Cloud AB",
        "country": "SE",
        "kind": "direct",
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": "partners@contoso.example",
        "locale": "sv-SE",
    }


def rr8_request(partner: dict[str, Any], tenant: str, admin: str) -> dict[str, Any]:
    """RR-8's ``RequestResellerRelationship`` with DAP to a new sv-SE customer ``tenant``."""
    return {
        "actor": {"kind": "partner", "tenant_id": partner["tenant_id"], "roles": ["sales-agent"]},
        "partner_id": partner["partner_id"],
        "include_delegated_admin": True,
        "customer": {
            "tenant_id": tenant,
            "company_name": "Lindqvist Bygg AB",
            "country": "SE",
            "cloud": "public",
            "admin_email": admin,
            "locale": "sv-SE",
        },
    }


def rr8_acceptance(customer_actor: dict[str, Any], admin: str, link: str) -> dict[str, Any]:
    """The customer's Global Administrator ``admin`` accepts with the token of ``link``."""
    return {
        "actor": customer_actor,
        "token": parse_qs(urlsplit(link).query)["token"][0],
        "accepted_by": {"user": admin, "is_global_admin": True},
        "accept_customer_agreement": True,
    }
