"""The sample stream's cast: partners (7-digit MPN IDs), customers (tenant ids
``7c2e9d10-51a4-4b8e-a6f3-0000000000NN``), subscriptions and the Entra roles GDAP asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
SYSTEM = {"kind": "system", "tenant_id": "partner-center", "user": "onboarding-sync"}
UNKNOWN_TENANT = "7c2e9d10-51a4-4b8e-a6f3-00000000ffff"


def tenant(number: int) -> str:
    """A customer's tenant id (a GUID)."""
    return f"7c2e9d10-51a4-4b8e-a6f3-{number:012d}"


def subscription(number: int) -> str:
    """A subscription id (a GUID)."""
    return f"5a9c1f3e-0b7d-4e6a-9f21-{number:012d}"


@dataclass(frozen=True)
class Partner:
    """A partner's registration (reference data from Partner Center)."""

    mpn_id: str
    name: str
    country: str
    contact_email: str
    locale: str
    kind: str = "direct"
    enrolled: bool = True

    @property
    def tenant_id(self) -> str:
        """The partner's Partner Center tenant (a GUID ending in the MPN ID's first digit)."""
        return f"3f8a1c52-6e0b-4d2a-9c71-0a1b2c3d4e{int(self.mpn_id[0]):02d}"

    def actor(self, roles: tuple[str, ...] = ("sales-agent",), tenant_id: str | None = None) -> Json:
        """An agent of the partner, acting as the partner's tenant (or as ``tenant_id``)."""
        user = f"agent@{self.contact_email.split('@')[1]}"
        return {
            "kind": "partner",
            "tenant_id": tenant_id or self.tenant_id,
            "user": user,
            "roles": list(roles),
        }

    def registration(self) -> Json:
        """The ``RegisterPartner`` data, from the system actor."""
        return {
            "actor": SYSTEM,
            "partner_id": self.mpn_id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "country": self.country,
            "kind": self.kind,
            "csp_enrolled": self.enrolled,
            "mpa_active": self.enrolled,
            "contact_email": self.contact_email,
            "locale": self.locale,
        }


@dataclass(frozen=True)
class Customer:
    """A customer's tenant as partners describe it in their requests."""

    tenant_id: str
    company_name: str
    country: str
    admin_email: str
    locale: str
    cloud: str = "public"
    is_csp_partner: bool = False

    def details(self) -> Json:
        """The ``customer`` object of ``RequestResellerRelationship`` and ``AddCustomer``."""
        return {
            "tenant_id": self.tenant_id,
            "company_name": self.company_name,
            "country": self.country,
            "cloud": self.cloud,
            "is_csp_partner": self.is_csp_partner,
            "admin_email": self.admin_email,
            "locale": self.locale,
        }

    def actor(self, tenant_id: str | None = None, global_admin: bool = True) -> Json:
        """The customer's admin, acting for its own tenant (or as ``tenant_id``)."""
        roles = ["global-admin"] if global_admin else []
        return {
            "kind": "customer",
            "tenant_id": tenant_id or self.tenant_id,
            "user": self.admin_email,
            "roles": roles,
        }


CONTOSO = Partner("1234567", "Contoso Cloud AB", "SE", "partners@contoso.example", "sv-SE")
ANADOLU = Partner("2345678", "Anadolu Bulut Bilişim A.Ş.", "TR", "iletisim@anadolubulut.example", "tr-TR")
NORTHWIND = Partner("3456789", "Northwind Federal Solutions", "US", "csp@northwind.example", "en-US")
FABRIKAM = Partner(
    "4567890", "Fabrikam Distribution GmbH", "DE", "csp@fabrikam.example", "en-US", "indirect-provider"
)
TAILSPIN = Partner(
    "5678901", "Tailspin IT Reseller GmbH", "DE", "sales@tailspin.example", "en-US", "indirect-reseller"
)
YUNHAI = Partner("6789012", "上海云海信息技术有限公司", "CN", "partners@yunhai.example", "zh-CN")
LITWARE = Partner(
    "7890123", "Litware Systemhaus GmbH", "DE", "info@litware.example", "de-DE", "indirect-reseller", False
)
PARTNERS = (CONTOSO, ANADOLU, NORTHWIND, FABRIKAM, TAILSPIN, YUNHAI, LITWARE)

LINDQVIST = Customer(tenant(1), "Lindqvist Bygg AB", "SE", "it-admin@lindqvistbygg.example", "sv-SE")
FJORD = Customer(tenant(2), "Fjordkraft Data AS", "NO", "admin@fjordkraftdata.example", "nb-NO")
EGE = Customer(tenant(3), "Ege Tekstil Sanayi A.Ş.", "TR", "bt.yonetici@egetekstil.example", "tr-TR")
COUNTY = Customer(
    tenant(4),
    "Cascade County Health District",
    "US",
    "m365-admin@cascadecounty.example",
    "en-US",
    "us-government",
)
BAYERN = Customer(
    tenant(5), "Bayerische Messtechnik GmbH", "DE", "admin@bayern-messtechnik.example", "de-DE", "germany"
)
SAO = Customer(tenant(6), "São Paulo Logística Ltda", "BR", "ti@splogistica.example", "pt-BR")
RIVAL = Customer(
    tenant(7),
    "Adventure Works Cloud Partner AB",
    "SE",
    "admin@adventureworks.example",
    "sv-SE",
    is_csp_partner=True,
)
BORAS = Customer(tenant(8), "Borås Textilhögskola Service AB", "SE", "admin@borastextil.example", "sv-SE")
IZMIR = Customer(tenant(9), "İzmir Liman Lojistik Ltd. Şti.", "TR", "sistem@izmirliman.example", "tr-TR")
KESSLER = Customer(
    tenant(10), "Kessler Maschinenbau GmbH", "DE", "admin@kessler-maschinenbau.example", "de-DE"
)
XIHU = Customer(
    tenant(11), "杭州西湖纺织有限公司", "CN", "admin@xihu-textile.example", "zh-CN", "china-21vianet"
)
PANDA = Customer(
    tenant(12),
    "Chengdu Panda Logistics Co., Ltd.",
    "CN",
    "it@pandalogistics.example",
    "en-US",
    "china-21vianet",
)

SUB_EGE = subscription(103)
"""Ege's subscription: Anadolu becomes its partner of record, then it is cancelled (PR-4)."""
SUB_LINDQVIST = subscription(105)
"""The multi-partner customer's subscription whose partner of record is added, changed, deleted."""
SUB_KESSLER = subscription(106)
"""The indirect reseller's subscription: associated at purchase, cleared and set again (IR-6)."""


ADMIN_AGENT = ("admin-agent",)
"""Partner Center's GDAP FAQ: the Admin agent role manages admin relationships (ACT-1)."""
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
"""Entra role template ids, from Microsoft's permissions reference (the shipped table)."""
