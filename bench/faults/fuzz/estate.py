"""The parties T6 sends commands for, as the contract carries them: partners
(``PartnerInfo``), customers and their actors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.faults import parties
from bench.faults.parties import partner_registration

__all__ = ["SYSTEM_ACTOR", "PartnerInfo", "customer_actor", "customer_details", "token_of"]


SYSTEM_ACTOR = {"kind": "system", "tenant_id": "partnerlink-reference-data", "user": "crm-sync"}


@dataclass
class PartnerInfo:
    partner_id: str
    tenant_id: str
    name: str
    country: str
    kind: str
    contact_email: str
    locale: str = "en-US"

    def command(self) -> dict[str, Any]:
        """Its ``RegisterPartner`` data, sent by the reference-data system."""
        registration = partner_registration(
            self.partner_id,
            self.tenant_id,
            self.name,
            self.country,
            self.kind,
            self.contact_email,
            self.locale,
        )
        return {"actor": SYSTEM_ACTOR, **registration}

    def actor(self, *roles: str) -> dict[str, Any]:
        return {
            "kind": "partner",
            "tenant_id": self.tenant_id,
            "user": "agent@partner.example",
            "roles": list(roles or ("sales-agent",)),
        }


def customer_actor(tenant_id: str) -> dict[str, Any]:
    return {"kind": "customer", "tenant_id": tenant_id, "user": "admin@customer.example", "roles": []}


def customer_details(tenant_id: str, *, country: str = "SE", cloud: str = "public") -> dict[str, Any]:
    """Fabrikam AB, a Swedish-speaking customer, in ``country`` and ``cloud``."""
    return parties.customer_details(
        tenant_id, "Fabrikam AB", "admin@fabrikam.example", country=country, cloud=cloud, locale="sv-SE"
    )


def token_of(url: str) -> str:
    (token,) = parse_qs(urlsplit(url).query)["token"]
    return token
