"""Rows ↔ domain objects: one ``Mapper`` per state table (``service.adapters.orm``), and its
pair of functions (e.g. ``invitation`` and ``invitation_row``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from enum import Enum
from operator import attrgetter
from typing import Any, Generic, TypeVar

from service.domain import model
from service.domain.admin_relationships import AdminRelationship, AdminRelationshipStatus
from service.domain.attribution import Attribute, Attribution, AttributionLedger

T = TypeVar("T")


_Reader = tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]
_READERS: dict[type, _Reader] = {}


def _reader(kind: type) -> _Reader:
    """A dataclass's field names, and one getter of all their values (built once per class)."""
    if kind not in _READERS:
        names = tuple(item.name for item in fields(kind))
        getter = attrgetter(*names)
        _READERS[kind] = names, (getter if len(names) > 1 else lambda record: (getter(record),))
    return _READERS[kind]


def columns(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a row, shallow (``dataclasses.asdict`` deep-copies every value)."""
    names, values = _reader(type(record))
    return dict(zip(names, values(record), strict=True))


class Mapper(Generic[T]):
    """One state table's rows ↔ domain objects, in one shape for every table: the columns are
    the dataclass's fields; ``enums`` (column → enum type) are stored by value; ``tuples`` are
    stored as lists; ``load`` and ``store`` convert, in place, columns of another shape."""

    def __init__(
        self,
        make: Callable[..., T],
        enums: Mapping[str, type[Enum]] | None = None,
        tuples: tuple[str, ...] = (),
        load: Callable[[dict[str, Any]], None] | None = None,
        store: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._make = make
        self._enums = dict(enums or {})
        self._tuples = tuples
        self._load = load
        self._store = store

    def record(self, row: Mapping[str, Any]) -> T:
        """The domain object of a row (a mapping of column → value)."""
        values = dict(row)
        for name, enum in self._enums.items():
            values[name] = enum(values[name])
        for name in self._tuples:
            values[name] = tuple(values[name])
        if self._load is not None:
            self._load(values)
        return self._make(**values)

    def row(self, record: T) -> dict[str, Any]:
        """The row of a domain object, ready to insert or upsert."""
        values = columns(record)
        for name in self._enums:
            values[name] = values[name].value
        for name in self._tuples:
            values[name] = list(values[name])
        if self._store is not None:
            self._store(values)
        return values


def _load_offer(values: dict[str, Any]) -> None:
    offer_id, kind, quantity = (values.pop(f"offer_{name}") for name in ("id", "kind", "quantity"))
    values["offer"] = model.Offer(offer_id, kind, quantity) if offer_id else None
    values["partner_of_record_subscriptions"] = tuple(values.pop("partner_of_record_subscription_ids") or ())


def _store_offer(values: dict[str, Any]) -> None:
    offer = values.pop("offer")
    values["offer_id"] = offer.offer_id if offer else None
    values["offer_kind"] = offer.kind if offer else None
    values["offer_quantity"] = offer.quantity if offer else None
    named = values.pop("partner_of_record_subscriptions")
    values["partner_of_record_subscription_ids"] = list(named) if named else None


PARTNERS = Mapper(model.Partner, {"kind": model.PartnerKind})
CUSTOMERS = Mapper(model.Customer)
INVITATIONS = Mapper(model.Invitation, {"kind": model.InvitationKind, "status": model.InvitationStatus})
RELATIONSHIPS = Mapper(
    model.ResellerRelationship, {"status": model.RelationshipStatus}, load=_load_offer, store=_store_offer
)
"""the offer is stored in three columns; the partner-of-record subscriptions as a list or NULL"""
PARTNERSHIPS = Mapper(model.Partnership, {"status": model.PartnershipStatus})
SUBSCRIPTIONS = Mapper(model.Subscription, {"status": model.SubscriptionStatus})
ADMIN_RELATIONSHIPS = Mapper(AdminRelationship, {"status": AdminRelationshipStatus}, tuples=("roles",))

partner = PARTNERS.record
customer = CUSTOMERS.record
invitation, invitation_row = INVITATIONS.record, INVITATIONS.row
relationship, relationship_row = RELATIONSHIPS.record, RELATIONSHIPS.row
partnership, partnership_row = PARTNERSHIPS.record, PARTNERSHIPS.row
subscription, subscription_row = SUBSCRIPTIONS.record, SUBSCRIPTIONS.row
admin_relationship, admin_relationship_row = ADMIN_RELATIONSHIPS.record, ADMIN_RELATIONSHIPS.row


def ledgers(subscription_ids: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> list[AttributionLedger]:
    """Both ledgers (reseller, partner of record) of each subscription, from its attribution
    rows in any order; a ledger with no row is empty."""
    found: dict[tuple[str, str], list[Attribution]] = {}
    for row in rows:
        entry = Attribution(row["value"], row["valid_from"], row["valid_to"])
        found.setdefault((row["subscription_id"], row["attribute"]), []).append(entry)
    return [
        AttributionLedger(
            subscription_id,
            attribute,
            sorted(found.get((subscription_id, attribute.value), []), key=lambda e: e.valid_from),
        )
        for subscription_id in subscription_ids
        for attribute in Attribute
    ]


def ledger_rows(ledger: AttributionLedger) -> list[dict[str, Any]]:
    return [
        {
            "subscription_id": ledger.subscription_id,
            "attribute": ledger.attribute.value,
            "valid_from": entry.valid_from,
            "valid_to": entry.valid_to,
            "value": entry.value,
        }
        for entry in ledger.entries
    ]


def copy_ledger(ledger: AttributionLedger) -> AttributionLedger:
    """A ledger whose entry list can change without changing ``ledger``'s."""
    return AttributionLedger(ledger.subscription_id, ledger.attribute, list(ledger.entries))
