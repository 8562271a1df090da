"""The wire data of the parties the fault harness invents, shared by T6 and T7/T8.

Each scenario names its own partners and customers; the shape of what it sends for them is
the contract's, built here once.
"""

from __future__ import annotations

from typing import Any

__all__ = ["customer_details", "partner_registration"]


def partner_registration(
    partner_id: str,
    tenant_id: str,
    name: str,
    country: str,
    kind: str,
    contact_email: str,
    locale: str,
) -> dict[str, Any]:
    """A ``RegisterPartner``'s data (no actor): a CSP-enrolled partner with an active MPA."""
    return {
        "partner_id": partner_id,
        "tenant_id": tenant_id,
        "name": name,
        "country": country,
        "kind": kind,
        "csp_enrolled": True,
        "mpa_active": True,
        "contact_email": contact_email,
        "locale": locale,
    }


def customer_details(
    tenant_id: str, company_name: str, admin_email: str, *, country: str, cloud: str, locale: str
) -> dict[str, Any]:
    """A customer as commands carry it (``customer``): not a CSP partner itself."""
    return {
        "tenant_id": tenant_id,
        "company_name": company_name,
        "country": country,
        "cloud": cloud,
        "is_csp_partner": False,
        "admin_email": admin_email,
        "locale": locale,
    }
