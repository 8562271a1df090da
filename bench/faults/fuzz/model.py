"""The reference model T6's stateful test compares the service with: RR-1, RR-3, RR-5,
INV-1..3 and PR-4 for one partner and a few customers of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["ModelInvitation", "ReferenceModel"]


@dataclass
class ModelInvitation:
    token: str
    tenant: str
    expires_at: datetime
    status: str = "pending"  # accepted, declined, withdrawn


@dataclass
class ReferenceModel:
    """What the rules say should happen, for one partner and a few customers of its own."""

    now: datetime
    clouds: dict[str, str]
    active: set[str] = field(default_factory=set)
    agreed: set[str] = field(default_factory=set)
    invitations: list[ModelInvitation] = field(default_factory=list)

    def request(self, tenant: str, dap: bool) -> tuple[str, str | None]:
        if not dap and self.clouds[tenant] in ("us-government", "germany"):
            return "rejected", "delegated_admin_required"  # RR-3
        if tenant in self.active:
            return "rejected", "already_exists"  # MP-1: one active relationship per pair
        return "applied", None  # RR-1: an invitation (added by the caller, with its token)

    def _answerable(self, inv: ModelInvitation | None, actor_tenant: str) -> str | None:
        """Why ``actor_tenant`` may not answer ``inv`` (accept or decline), or ``None``."""
        if inv is None:
            return "invalid_token"
        if actor_tenant != inv.tenant:
            return "forbidden"
        return self._usable(inv)

    def _usable(self, inv: ModelInvitation) -> str | None:
        if inv.status == "pending" and self.now >= inv.expires_at:
            return "invitation_expired"  # INV-2
        if inv.status == "withdrawn":
            return "invalid_token"  # INV-3
        if inv.status != "pending":
            return "invitation_already_used"  # INV-1
        return None

    def accept(
        self, inv: ModelInvitation | None, actor_tenant: str, global_admin: bool, mca: bool
    ) -> tuple[str, str | None]:
        refused = self._answerable(inv, actor_tenant)
        if refused:
            return "rejected", refused
        assert inv is not None
        if not global_admin:
            return "rejected", "not_global_admin"  # RR-5
        if inv.tenant in self.active:
            return "rejected", "already_exists"
        if inv.tenant not in self.agreed and not mca:
            return "rejected", "customer_agreement_not_accepted"  # RR-5
        inv.status = "accepted"
        self.active.add(inv.tenant)
        self.agreed.add(inv.tenant)
        self._withdraw(inv.tenant)  # the pair's other pending invitations
        return "applied", None

    def decline(self, inv: ModelInvitation | None, actor_tenant: str) -> tuple[str, str | None]:
        refused = self._answerable(inv, actor_tenant)
        if refused:
            return "rejected", refused
        assert inv is not None
        inv.status = "declined"
        return "applied", None

    def remove(self, tenant: str, by_customer: bool) -> tuple[str, str | None]:
        if by_customer:
            return "rejected", "customer_cannot_remove_relationship"  # PR-4
        if tenant not in self.active:
            return "rejected", "unknown_customer"
        self.active.discard(tenant)
        self._withdraw(tenant)
        return "applied", None

    def _withdraw(self, tenant: str) -> None:
        for other in self.invitations:
            if other.tenant == tenant and other.status == "pending":
                other.status = "withdrawn"
