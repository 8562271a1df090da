"""The pure domain rules (``service.domain``) about parties, one rule id at a time, accepted and
refused: MP-1 (several partners per customer), MP-3 (no CSP partner as a customer), INV-1 and
INV-2 (invitations: single use, expiry) and ACT-1 (who may issue a command, for whom).
RR-3..RR-7 are in ``test_domain``."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

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
    InvitationStatus,
    RelationshipStatus,
)
from tests.support.domain import NOW, a_partner, a_relationship, an_invitation, refused

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
