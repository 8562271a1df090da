"""RR-4: which countries form one region.

The grouping is data handed in by the composition root (see ``service.adapters.regions``):
by default the 7-continent classification of the ``country_converter`` package's
ISO 3166 table, configurable by ``PARTNERLINK_REGION_CLASSIFICATION`` and
``PARTNERLINK_REGION_OVERRIDES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from service.domain.errors import Rejected


@dataclass(frozen=True)
class RegionMap:
    """ISO 3166-1 alpha-2 country code → region name."""

    regions: Mapping[str, str] = field(default_factory=dict)

    def region_of(self, country: str) -> str | None:
        return self.regions.get(country.upper())

    def ensure_same_region(self, partner_country: str, customer_country: str) -> None:
        """RR-4: same country, or both in one known region. Raises ``Rejected(region_mismatch)``."""
        if partner_country.upper() == customer_country.upper():
            return
        partner_region = self.region_of(partner_country)
        if partner_region is not None and partner_region == self.region_of(customer_country):
            return
        raise Rejected(
            "region_mismatch",
            "RR-4",
            f"a partner in {partner_country} ({partner_region or 'no region'}) cannot request a "
            f"relationship with a customer in {customer_country} "
            f"({self.region_of(customer_country) or 'no region'})",
        )
