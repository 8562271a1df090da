"""The pure domain rules (``service.domain``), one rule id at a time, accepted and refused.

Rule ids are those of ``docs/domain.md``; INV-* (invitations) and ACT-1 (actor
check) are the service's own decisions for what the documents leave open.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from service.adapters.regions import load_region_map
from service.domain import rules
from service.domain.actors import (
    PARTNER_ADMIN_ROLES,
    PARTNER_RELATIONSHIP_ROLES,
    ActorRef,
    require_customer,
    require_partner,
    require_system_or_partner,
)
from service.domain.errors import Rejected
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    InvitationStatus,
    Partner,
    RelationshipStatus,
    ResellerRelationship,
)
from service.domain.regions import RegionMap

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
REGIONS = load_region_map()


def a_partner(country: str = "SE") -> Partner:
    return Partner(
        partner_id="1234567",
        tenant_id=str(uuid4()),
        name="Contoso Partner AB",
        country=country,
        kind="direct",
        csp_enrolled=True,
        mpa_active=True,
        contact_email="csp@contoso.example",
        locale="sv-SE",
    )


def a_customer(mca_accepted_at: datetime | None = None) -> Customer:
    return Customer(
        tenant_id=str(uuid4()),
        company_name="Fabrikam AB",
        country="SE",
        cloud="public",
        is_csp_partner=False,
        admin_email="admin@fabrikam.example",
        locale="sv-SE",
        customer_agreement_accepted_at=mca_accepted_at,
    )


def a_relationship(
    *,
    partner_id: str = "1234567",
    customer_tenant_id: str | None = None,
    dap: bool = True,
    status: RelationshipStatus = RelationshipStatus.PENDING,
) -> ResellerRelationship:
    return ResellerRelationship(
        relationship_id=str(uuid4()),
        partner_id=partner_id,
        customer_tenant_id=customer_tenant_id or str(uuid4()),
        include_delegated_admin=dap,
        status=status,
        requested_at=NOW,
    )


def an_invitation(*, expires_at: datetime = NOW + timedelta(days=14)) -> Invitation:
    return Invitation(
        invitation_id=str(uuid4()),
        kind=InvitationKind.RESELLER_RELATIONSHIP,
        token_hash="0" * 64,
        subject_id=str(uuid4()),
        inviter_id="1234567",
        invitee_id=str(uuid4()),
        created_at=NOW,
        expires_at=expires_at,
    )


def refused(reason: str, rule: str) -> AbstractContextManager[pytest.ExceptionInfo[Rejected]]:
    """``pytest.raises`` for a ``Rejected`` with exactly this reason and rule id."""
    return pytest.raises(Rejected, match=rf"^{reason} \({rule}\): ")


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


# --- MP-1: several partners per customer, one active relationship per pair ----------------


def test_mp1_other_partners_active_relationship_does_not_block() -> None:
    customer_tenant_id = str(uuid4())
    relationships = [
        a_relationship(
            partner_id="7654321",
            customer_tenant_id=customer_tenant_id,
            status=RelationshipStatus.ACTIVE,
        ),
    ]
    # The use case looks up the (partner, customer) pair; the other partner's does not match.
    same_pair = next(
        (
            r
            for r in relationships
            if r.partner_id == "1234567" and r.customer_tenant_id == customer_tenant_id
        ),
        None,
    )

    rules.ensure_no_active_relationship(same_pair)


@pytest.mark.parametrize(
    "status", [RelationshipStatus.PENDING, RelationshipStatus.DECLINED, RelationshipStatus.REMOVED]
)
def test_mp1_same_partner_may_invite_again_when_not_active(status: RelationshipStatus) -> None:
    rules.ensure_no_active_relationship(a_relationship(status=status))


def test_mp1_same_partner_with_active_relationship_is_refused_as_already_exists() -> None:
    with refused("already_exists", "MP-1"):
        rules.ensure_no_active_relationship(a_relationship(status=RelationshipStatus.ACTIVE))


# --- MP-3: no CSP partner as a customer ---------------------------------------------------


def test_mp3_ordinary_customer_may_be_invited() -> None:
    rules.ensure_customer_is_not_csp_partner(False)


def test_mp3_customer_that_is_a_csp_partner_is_refused() -> None:
    with refused("customer_is_csp_partner", "MP-3"):
        rules.ensure_customer_is_not_csp_partner(True)


def test_unknown_partner_is_refused() -> None:
    with refused("unknown_partner", "RR-1"):
        rules.ensure_partner_known(None, "1234567")


def test_known_partner_is_returned() -> None:
    partner = a_partner()

    assert rules.ensure_partner_known(partner, partner.partner_id) is partner


# --- INV-1: single use; INV-2: expiry -----------------------------------------------------


def test_inv1_pending_invitation_can_be_used_once() -> None:
    invitation = an_invitation()

    invitation.use(InvitationStatus.ACCEPTED, NOW)

    assert invitation.status is InvitationStatus.ACCEPTED
    assert invitation.used_at == NOW


@pytest.mark.parametrize("first_use", [InvitationStatus.ACCEPTED, InvitationStatus.DECLINED])
def test_inv1_used_invitation_is_refused_as_already_used(first_use: InvitationStatus) -> None:
    invitation = an_invitation()
    invitation.use(first_use, NOW)

    with refused("invitation_already_used", "INV-1"):
        invitation.use(InvitationStatus.ACCEPTED, NOW + timedelta(minutes=1))
    assert invitation.status is first_use


def test_inv1_used_invitation_stays_already_used_after_its_expiry() -> None:
    invitation = an_invitation(expires_at=NOW + timedelta(hours=1))
    invitation.use(InvitationStatus.ACCEPTED, NOW)

    with refused("invitation_already_used", "INV-1"):
        invitation.ensure_usable(NOW + timedelta(days=1))


def test_inv2_invitation_is_usable_just_before_it_expires() -> None:
    invitation = an_invitation(expires_at=NOW)

    invitation.ensure_usable(NOW - timedelta(microseconds=1))


def test_inv2_invitation_is_expired_exactly_at_expires_at() -> None:
    invitation = an_invitation(expires_at=NOW)

    with refused("invitation_expired", "INV-2"):
        invitation.ensure_usable(NOW)


def test_inv2_expired_invitation_cannot_be_used() -> None:
    invitation = an_invitation(expires_at=NOW)

    with refused("invitation_expired", "INV-2"):
        invitation.use(InvitationStatus.ACCEPTED, NOW + timedelta(seconds=1))
    assert invitation.status is InvitationStatus.PENDING
    assert invitation.used_at is None


def test_inv2_invitation_marked_expired_is_refused_even_before_its_date() -> None:
    invitation = an_invitation()
    invitation.status = InvitationStatus.EXPIRED

    with refused("invitation_expired", "INV-2"):
        invitation.ensure_usable(NOW)


# --- ACT-1: who may issue a command, for whom ---------------------------------------------


def test_act1_partner_acting_as_itself_with_a_relationship_role_is_allowed() -> None:
    tenant = str(uuid4())
    actor = ActorRef.of("partner", tenant.upper(), ["admin-agent"])

    require_partner(actor, tenant, PARTNER_RELATIONSHIP_ROLES)


def test_act1_partner_acting_as_another_partner_is_forbidden() -> None:
    actor = ActorRef.of("partner", str(uuid4()), ["global-admin"])

    with refused("forbidden", "ACT-1"):
        require_partner(actor, str(uuid4()), PARTNER_RELATIONSHIP_ROLES)


def test_act1_partner_without_a_required_role_is_forbidden() -> None:
    tenant = str(uuid4())
    actor = ActorRef.of("partner", tenant, ["billing-admin"])

    with refused("forbidden", "ACT-1"):
        require_partner(actor, tenant, PARTNER_RELATIONSHIP_ROLES)


@pytest.mark.parametrize("kind", ["customer", "system"])
def test_act1_non_partner_issuing_a_partner_command_is_forbidden(kind: str) -> None:
    tenant = str(uuid4())
    actor = ActorRef.of(kind, tenant, ["global-admin"])

    with refused("forbidden", "ACT-1"):
        require_partner(actor, tenant, PARTNER_RELATIONSHIP_ROLES)


def test_act1_customer_acting_for_its_own_tenant_is_allowed() -> None:
    tenant = str(uuid4())

    require_customer(ActorRef.of("customer", tenant.upper(), []), tenant)


def test_act1_customer_acting_for_another_tenant_is_forbidden() -> None:
    actor = ActorRef.of("customer", str(uuid4()), ["global-admin"])

    with refused("forbidden", "ACT-1"):
        require_customer(actor, str(uuid4()))


@pytest.mark.parametrize("kind", ["partner", "system"])
def test_act1_non_customer_issuing_a_customer_command_is_forbidden(kind: str) -> None:
    tenant = str(uuid4())

    with refused("forbidden", "ACT-1"):
        require_customer(ActorRef.of(kind, tenant, ["global-admin"]), tenant)


def test_act1_system_may_maintain_reference_data() -> None:
    require_system_or_partner(ActorRef.of("system", "partnerlink-integration", []), str(uuid4()))


def test_act1_partner_global_admin_may_maintain_its_own_registration() -> None:
    tenant = str(uuid4())

    require_system_or_partner(ActorRef.of("partner", tenant, PARTNER_ADMIN_ROLES), tenant)


def test_act1_partner_agent_may_not_maintain_its_registration() -> None:
    tenant = str(uuid4())

    with refused("forbidden", "ACT-1"):
        require_system_or_partner(ActorRef.of("partner", tenant, ["admin-agent"]), tenant)


def test_rejected_carries_reason_rule_and_detail() -> None:
    rejection = Rejected("forbidden", "ACT-1", "a partner may act only as itself")

    assert (rejection.reason, rejection.rule, rejection.detail) == (
        "forbidden",
        "ACT-1",
        "a partner may act only as itself",
    )
    assert str(rejection) == "forbidden (ACT-1): a partner may act only as itself"
