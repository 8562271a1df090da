"""Finding an invitation by its token, and building its personalized link."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from service.domain import rules
from service.domain.model import Invitation, InvitationKind
from service.ports import UnitOfWork
from service.tokens import hash_token, hashes_match


async def invitation_for(uow: UnitOfWork, token: str, kind: InvitationKind | None) -> Invitation:
    """The invitation whose token is ``token`` (of ``kind`` if given). Raises ``Rejected(invalid_token)``."""
    found = await uow.invitations.get_by_token_hash(hash_token(token))
    if found is not None and not hashes_match(found.token_hash, token):
        found = None
    return rules.ensure_invitation_found(found, kind)


def invitation_link(base: str, token: str) -> str:
    """``<base>?token=<token>`` (RR-1, RR-6); keeps any query the configured base already has."""
    parts = urlsplit(base)
    query = f"{parts.query}&{urlencode({'token': token})}" if parts.query else urlencode({"token": token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
