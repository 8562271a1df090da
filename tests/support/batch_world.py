"""The small world of the batch tests: partners (a direct one, one in China, an indirect provider
and its resellers), customers in several countries and clouds, and subscriptions; what each
holds once seeded is in ``Run.seed`` (``tests.support.batches``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bench.faults.fuzz.estate import PartnerInfo

# --------------------------------------------------------------------------- the world


def tenant(n: int) -> str:
    return str(uuid.UUID(f"7e000000-0000-4000-8000-{n:012x}"))


D = PartnerInfo("1200001", tenant(1), "Contoso Partner AB", "SE", "direct", "csp@contoso.example", "sv-SE")
CN = PartnerInfo("1200002", tenant(2), "世纪互联伙伴", "CN", "direct", "csp@partner.example.cn", "zh-CN")
P = PartnerInfo(
    "1300001", tenant(3), "Contoso Distribution AB", "SE", "indirect-provider", "dist@contoso.example"
)
R1 = PartnerInfo(
    "1300002", tenant(4), "Bayi Bilişim AŞ", "SE", "indirect-reseller", "satis@bayi.example", "tr-TR"
)
R2 = PartnerInfo(
    "1300003", tenant(5), "Fabrikam Resell GmbH", "DE", "indirect-reseller", "sales@resell.example", "de-DE"
)
X = PartnerInfo(
    "1300004", tenant(6), "Myöhäinen Oy", "FI", "indirect-reseller", "myynti@late.example", "fi-FI"
)
UNKNOWN = "1999999"
"""An MPN ID never registered."""
PARTNERS = {p.partner_id: p for p in (D, CN, P, R1, R2, X)}


@dataclass(frozen=True)
class CustomerSpec:
    tenant_id: str
    country: str
    cloud: str
    company: str
    locale: str

    def details(self, *, locale: str | None = None, csp: bool = False) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "company_name": self.company,
            "country": self.country,
            "cloud": self.cloud,
            "is_csp_partner": csp,
            "admin_email": f"admin@{self.tenant_id[-4:]}.customer.example",
            "locale": locale or self.locale,
        }


C1 = CustomerSpec(tenant(11), "SE", "public", "Fabrikam AB", "sv-SE")
"""Added by ``P`` for ``R1``; subscription ``S1`` with ``R1`` as its reseller."""
C2 = CustomerSpec(tenant(12), "SE", "public", "Northwind AB", "sv-SE")
"""Active reseller relationship with ``D``; subscription ``S2``."""
C3 = CustomerSpec(tenant(13), "SE", "public", "Tailspin AB", "en-US")
"""Invited by ``D`` at T0 (pending, expires at T0 + 14 days)."""
C4 = CustomerSpec(tenant(14), "DK", "public", "Wingtip ApS", "da-DK")
CG = CustomerSpec(tenant(15), "DE", "germany", "Adatum GmbH", "de-DE")
CC = CustomerSpec(tenant(16), "CN", "china-21vianet", "示例公司", "zh-CN")
C5 = CustomerSpec(tenant(17), "FI", "public", "Litware Oy", "fi-FI")
CUSTOMERS = (C1, C2, C3, C4, CG, CC, C5)
S1, S2, S3, S4 = "sub-0001", "sub-0002", "sub-0003", "sub-0004"
