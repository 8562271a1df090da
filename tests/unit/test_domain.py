"""The pure domain rules (``service.domain``), one rule id at a time, accepted and refused.

Rule ids are those of ``docs/domain.md``; INV-* (invitations) and ACT-1 (actor
check) are the service's own decisions for what the documents leave open. Here RR-3..RR-7;
MP-1, MP-3, INV-1, INV-2 and ACT-1 are in ``test_domain_parties``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.adapters.regions import load_region_map
from service.domain import rules
from service.domain.model import (
    RelationshipStatus,
)
from service.domain.regions import RegionMap
from tests.support.domain import NOW, REGIONS, a_customer, a_relationship, refused

# --- RR-3: DAP is mandatory in the us-government and germany clouds -----------------------


def test_rr3_us_government_requires_delegated_admin() -> None:
    with refused("delegated_admin_required", "RR-3"):
        rules.ensure_delegated_admin_allowed("us-government", include_delegated_admin=False)


def test_rr3_germany_requires_delegated_admin() -> None:
    with refused("delegated_admin_required", "RR-3"):
        rules.ensure_delegated_admin_allowed("germany", include_delegated_admin=False)


@pytest.mark.parametrize("cloud", ["us-government", "germany"])
def test_rr3_sovereign_cloud_allows_request_with_dap(cloud: str) -> None:
    rules.ensure_delegated_admin_allowed(cloud, include_delegated_admin=True)


@pytest.mark.parametrize("cloud", ["public", "china-21vianet"])
def test_rr3_public_cloud_allows_request_without_dap(cloud: str) -> None:
    rules.ensure_delegated_admin_allowed(cloud, include_delegated_admin=False)


# --- RR-4: same country or same region ----------------------------------------------------


def test_rr4_same_country_is_allowed() -> None:
    REGIONS.ensure_same_region("SE", "SE")


def test_rr4_same_country_is_allowed_even_without_region_data() -> None:
    RegionMap().ensure_same_region("se", "SE")


def test_rr4_same_region_is_allowed_sweden_and_norway_in_europe() -> None:
    assert REGIONS.region_of("SE") == REGIONS.region_of("NO") == "Europe"

    REGIONS.ensure_same_region("SE", "NO")


def test_rr4_different_region_is_refused_with_region_mismatch() -> None:
    with refused("region_mismatch", "RR-4"):
        REGIONS.ensure_same_region("SE", "US")


def test_rr4_country_without_region_only_matches_itself() -> None:
    with refused("region_mismatch", "RR-4"):
        RegionMap({"SE": "Europe"}).ensure_same_region("SE", "NO")


def test_rr4_region_override_moves_a_country_into_the_partners_region() -> None:
    with refused("region_mismatch", "RR-4"):
        REGIONS.ensure_same_region("SE", "TR")  # Türkiye is in Asia in Continent_7

    load_region_map(overrides={"tr": "Europe"}).ensure_same_region("SE", "TR")


@pytest.mark.parametrize(("partner_country", "customer_country"), [("GB", "IE"), ("GR", "CY")])
def test_rr4_united_kingdom_and_greece_are_in_europe(partner_country: str, customer_country: str) -> None:
    assert REGIONS.region_of(partner_country) == "Europe"

    REGIONS.ensure_same_region(partner_country, customer_country)


# --- RR-5: only a global admin accepts, and the MCA must be accepted ----------------------


def test_rr5_global_admin_may_accept() -> None:
    rules.ensure_global_admin(True)


def test_rr5_non_global_admin_is_refused() -> None:
    with refused("not_global_admin", "RR-5"):
        rules.ensure_global_admin(False)


def test_rr5_mca_accepted_before_keeps_its_original_date() -> None:
    earlier = NOW - timedelta(days=300)
    customer = a_customer(mca_accepted_at=earlier)

    agreed_at = customer.accept_customer_agreement(False, NOW)

    assert agreed_at == earlier
    assert customer.customer_agreement_accepted_at == earlier


def test_rr5_mca_accepted_now_is_recorded_with_the_current_time() -> None:
    customer = a_customer()

    agreed_at = customer.accept_customer_agreement(True, NOW)

    assert agreed_at == NOW
    assert customer.customer_agreement_accepted_at == NOW


def test_rr5_mca_never_accepted_is_refused() -> None:
    customer = a_customer()

    with refused("customer_agreement_not_accepted", "RR-5"):
        customer.accept_customer_agreement(False, NOW)
    assert customer.customer_agreement_accepted_at is None


# --- RR-7 (and RR-2): acceptance activates; DAP only if it was requested ------------------


def test_rr7_activation_with_dap_request_grants_delegated_admin() -> None:
    relationship = a_relationship(dap=True)

    relationship.activate(NOW)

    assert relationship.status is RelationshipStatus.ACTIVE
    assert relationship.delegated_admin is True
    assert relationship.accepted_at == NOW


def test_rr2_activation_without_dap_request_grants_no_delegated_admin() -> None:
    relationship = a_relationship(dap=False)

    relationship.activate(NOW)

    assert relationship.status is RelationshipStatus.ACTIVE
    assert relationship.delegated_admin is False


def test_declining_a_pending_relationship_marks_it_declined() -> None:
    relationship = a_relationship()

    relationship.close(RelationshipStatus.DECLINED, NOW)

    assert relationship.status is RelationshipStatus.DECLINED


def test_declining_does_not_touch_an_active_relationship() -> None:
    relationship = a_relationship(status=RelationshipStatus.ACTIVE)

    relationship.close(RelationshipStatus.DECLINED, NOW)

    assert relationship.status is RelationshipStatus.ACTIVE
