"""Rows ↔ domain objects, one pair of functions per state table (``service.adapters.orm``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from operator import attrgetter
from typing import Any

from service.domain.admin_relationships import AdminRelationship, AdminRelationshipStatus
from service.domain.attribution import Attribute, Attribution, AttributionLedger
from service.domain.model import (
    Customer,
    Invitation,
    InvitationKind,
    InvitationStatus,
    Offer,
    Partner,
    PartnerKind,
    Partnership,
    PartnershipStatus,
    RelationshipStatus,
    ResellerRelationship,
    Subscription,
    SubscriptionStatus,
)

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


def partner(row: Mapping[str, Any]) -> Partner:
    values = dict(row)
    values["kind"] = PartnerKind(values["kind"])
    return Partner(**values)


def customer(row: Mapping[str, Any]) -> Customer:
    return Customer(**row)


def invitation(row: Mapping[str, Any]) -> Invitation:
    values = dict(row)
    values["kind"] = InvitationKind(values["kind"])
    values["status"] = InvitationStatus(values["status"])
    return Invitation(**values)


def invitation_row(record: Invitation) -> dict[str, Any]:
    values = columns(record)
    values["kind"] = record.kind.value
    values["status"] = record.status.value
    return values


def relationship(row: Mapping[str, Any]) -> ResellerRelationship:
    values = dict(row)
    values["status"] = RelationshipStatus(values["status"])
    offer_id, kind, quantity = (values.pop(f"offer_{name}") for name in ("id", "kind", "quantity"))
    values["offer"] = Offer(offer_id, kind, quantity) if offer_id else None
    values["partner_of_record_subscriptions"] = tuple(values.pop("partner_of_record_subscription_ids") or ())
    return ResellerRelationship(**values)


def relationship_row(record: ResellerRelationship) -> dict[str, Any]:
    values = columns(record)
    offer = values.pop("offer")
    values["status"] = record.status.value
    values["offer_id"] = offer.offer_id if offer else None
    values["offer_kind"] = offer.kind if offer else None
    values["offer_quantity"] = offer.quantity if offer else None
    named = values.pop("partner_of_record_subscriptions")
    values["partner_of_record_subscription_ids"] = list(named) if named else None
    return values


def partnership(row: Mapping[str, Any]) -> Partnership:
    values = dict(row)
    values["status"] = PartnershipStatus(values["status"])
    return Partnership(**values)


def partnership_row(record: Partnership) -> dict[str, Any]:
    values = columns(record)
    values["status"] = record.status.value
    return values


def subscription(row: Mapping[str, Any]) -> Subscription:
    values = dict(row)
    values["status"] = SubscriptionStatus(values["status"])
    return Subscription(**values)


def subscription_row(record: Subscription) -> dict[str, Any]:
    values = columns(record)
    values["status"] = record.status.value
    return values


def admin_relationship(row: Mapping[str, Any]) -> AdminRelationship:
    values = dict(row)
    values["status"] = AdminRelationshipStatus(values["status"])
    values["roles"] = tuple(values["roles"])
    return AdminRelationship(**values)


def admin_relationship_row(record: AdminRelationship) -> dict[str, Any]:
    values = columns(record)
    values["status"] = record.status.value
    values["roles"] = list(record.roles)
    return values


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
