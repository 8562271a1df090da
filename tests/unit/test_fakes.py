"""The fakes behave like the SQL unit of work where the other tests rely on it."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from uuid import uuid4

import pytest

from service.domain.model import Partner, RelationshipStatus, ResellerRelationship
from service.ports import DuplicateCommit

from .fakes import DEFAULT_NOW, FakeDatabase, SequentialIds


def a_partner(name: str = "Contoso Partner AB") -> Partner:
    return Partner(
        partner_id="1234567", tenant_id=str(uuid4()), name=name, country="SE", kind="direct",
        csp_enrolled=True, mpa_active=True, contact_email="csp@contoso.example", locale="sv-SE",
    )  # fmt: skip


def a_relationship(status: RelationshipStatus, minutes_ago: int) -> ResellerRelationship:
    return ResellerRelationship(
        relationship_id=str(uuid4()), partner_id="1234567", customer_tenant_id="c", status=status,
        include_delegated_admin=True, requested_at=DEFAULT_NOW - timedelta(minutes=minutes_ago),
    )  # fmt: skip


async def test_writes_reach_the_database_only_on_commit() -> None:
    db = FakeDatabase()
    partner = a_partner()

    async with db.unit_of_work() as uow:
        await uow.partners.save(partner)
        assert db.partners == {}
        assert await uow.partners.get(partner.partner_id) == partner
        await uow.commit()

    assert db.partners == {partner.partner_id: partner}
    assert (uow.committed, uow.commits, db.commits) == (True, 1, 1)


async def test_savepoint_undoes_only_the_writes_of_the_block_that_raised() -> None:
    db = FakeDatabase()

    async with db.unit_of_work() as uow:
        await uow.inbox.record("cmd-0", "RegisterPartner")
        with contextlib.suppress(ValueError):
            async with uow.savepoint():
                await uow.partners.save(a_partner())
                await uow.inbox.record("cmd-1", "RegisterPartner")
                raise ValueError
        assert await uow.partners.get("1234567") is None
        assert await uow.inbox.seen_among(["cmd-1"]) == set()
        async with uow.savepoint():
            await uow.inbox.record("cmd-2", "RegisterPartner")
        await uow.commit()

    assert (db.partners, db.inbox, db.events, db.emails) == (
        {},
        {"cmd-0": "RegisterPartner", "cmd-2": "RegisterPartner"},
        [],
        [],
    )
    assert uow.rollbacks == 1


async def test_leaving_without_commit_discards_everything() -> None:
    db = FakeDatabase()

    async with db.unit_of_work() as uow:
        await uow.partners.save(a_partner())

    assert db.partners == {}
    assert uow.committed is False


async def test_objects_read_are_copies_until_saved() -> None:
    db = FakeDatabase()
    partner = a_partner("Before")
    db.partners[partner.partner_id] = partner

    async with db.unit_of_work() as uow:
        loaded = await uow.partners.get(partner.partner_id)
        assert loaded is not None
        loaded.name = "After"
        assert (await uow.partners.get(partner.partner_id)).name == "Before"  # type: ignore[union-attr]
        await uow.commit()

    assert db.partners[partner.partner_id].name == "Before"


async def test_inbox_record_of_an_id_committed_meanwhile_raises_duplicate_commit() -> None:
    db = FakeDatabase()

    async with db.unit_of_work() as late:
        assert await late.inbox.seen_among(["cmd-1"]) == set()
        async with db.unit_of_work() as early:
            await early.inbox.record("cmd-1", "RegisterPartner")
            await early.commit()

        with pytest.raises(DuplicateCommit):
            await late.inbox.record("cmd-1", "RegisterPartner")


async def test_find_prefers_the_active_relationship_then_the_newest() -> None:
    db = FakeDatabase()
    active = a_relationship(RelationshipStatus.ACTIVE, minutes_ago=60)
    old_declined = a_relationship(RelationshipStatus.DECLINED, minutes_ago=90)
    new_pending = a_relationship(RelationshipStatus.PENDING, minutes_ago=5)

    async with db.unit_of_work() as uow:
        await uow.relationships.save(old_declined)
        await uow.relationships.save(new_pending)
        assert await uow.relationships.find("1234567", "c") == new_pending
        await uow.relationships.save(active)
        assert await uow.relationships.find("1234567", "c") == active
        assert await uow.relationships.find("7654321", "c") is None


def test_sequential_ids_are_deterministic() -> None:
    ids = SequentialIds("rel")

    assert [ids(), ids(), ids()] == ["rel-0001", "rel-0002", "rel-0003"]
