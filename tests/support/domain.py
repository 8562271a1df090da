"""Domain objects for the tests of the pure rules (``service.domain``): a partner, a customer,
a relationship, an invitation, and ``refused`` (the ``Rejected`` a rule must raise).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from service.adapters.regions import load_region_map
from service.domain.errors import Rejected
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    Partner,
    RelationshipStatus,
    ResellerRelationship,
)

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
