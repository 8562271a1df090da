"""Reading a Kafka record into a command, or saying precisely why it cannot be read.

Unreadable records go to the dead-letter topic byte for byte; their error names one of
``not_json``, ``not_cloudevent``, ``unknown_type``, ``schema_invalid``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from contracts.billing import ORDER_CREATED, Order
from contracts.commands import Command
from contracts.envelope import CloudEvent
from contracts.registry import COMMANDS, command_model
from service.domain.actors import ActorRef

BILLING_ACTOR = ActorRef.of("system", "billing", ())
"""Orders come from the billing system itself."""

MAX_ERROR_CHARS = 1000


class UnreadableMessage(Exception):
    """A record that is not a readable command: ``reason`` and a ``message`` free of input values."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message[:MAX_ERROR_CHARS]


@dataclass(frozen=True)
class IncomingCommand:
    """A readable command: its envelope, its typed ``data`` and who issued it."""

    envelope: CloudEvent
    command: BaseModel
    actor: ActorRef


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_input=False)
    )


def _json(raw: bytes | None) -> object:
    if raw is None:
        raise UnreadableMessage("not_json", "the record has no value (tombstone)")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise UnreadableMessage(
            "not_json", f"{type(exc).__name__} at position {getattr(exc, 'pos', '?')}"
        ) from None


def read_envelope(raw: bytes | None) -> CloudEvent:
    """Parse a CloudEvents 1.0 structured-mode JSON object. Raises ``UnreadableMessage``."""
    return _envelope(_json(raw))


def _envelope(document: object) -> CloudEvent:
    try:
        return CloudEvent.model_validate(document)
    except ValidationError as exc:
        raise UnreadableMessage("not_cloudevent", _errors(exc)) from None


def read_data(envelope: CloudEvent, model: type[BaseModel]) -> BaseModel:
    """Validate ``envelope.data`` against ``model``. Raises ``UnreadableMessage(schema_invalid)``."""
    try:
        return model.model_validate(envelope.data)
    except ValidationError as exc:
        raise UnreadableMessage("schema_invalid", f"{envelope.type}: {_errors(exc)}") from None


@cache
def _one_pass() -> TypeAdapter[CloudEvent]:
    """Every command's envelope in one model, told apart by ``type``, its ``data`` the
    command's model: JSON bytes to a typed command in one pydantic-core pass."""
    envelopes = tuple(
        create_model(
            f"{name}Envelope",
            __base__=CloudEvent,
            type=(Literal[name], ...),  # type: ignore[arg-type]
            data=(model, ...),
        )
        for name, model in COMMANDS.items()
    )
    one_of_them: Any = Annotated[Union[envelopes], Field(discriminator="type")]  # noqa: UP007
    return TypeAdapter(one_of_them)


def read_command(raw: bytes | None) -> IncomingCommand:
    """Envelope, then the command model named by its ``type``. Raises ``UnreadableMessage``.

    Read in one pass (``_one_pass``); a record that pass refuses is read again step by step
    (``read_envelope``, ``command_model``, ``read_data``), which names the precise reason."""
    if raw is not None:
        try:
            envelope = _one_pass().validate_json(raw)
        except ValidationError:
            pass
        else:
            return _incoming(envelope, envelope.data)
    return _read_command_stepwise(raw)


def _incoming(envelope: CloudEvent, command: Command) -> IncomingCommand:
    actor = ActorRef.of(command.actor.kind, command.actor.tenant_id, command.actor.roles, command.actor.user)
    return IncomingCommand(envelope, command, actor)


def _read_command_stepwise(raw: bytes | None) -> IncomingCommand:
    envelope = read_envelope(raw)
    model = command_model(envelope.type)
    if model is None:
        raise UnreadableMessage("unknown_type", f"no command of type {envelope.type[:128]!r} in contract v1")
    command = read_data(envelope, model)
    assert isinstance(command, Command)
    return _incoming(envelope, command)


def read_order(raw: bytes | None) -> IncomingCommand:
    """A Partner Center ``Order``, bare or as an ``OrderCreated`` CloudEvent. Raises ``UnreadableMessage``.

    A bare order gets the idempotency key ``billing-order:<order id>``.
    """
    document = _json(raw)
    if isinstance(document, dict) and "specversion" in document:
        envelope = _envelope(document)
        if envelope.type != ORDER_CREATED:
            raise UnreadableMessage(
                "unknown_type", f"billing.orders carries {ORDER_CREATED}, not {envelope.type[:128]!r}"
            )
        return IncomingCommand(envelope, read_data(envelope, Order), BILLING_ACTOR)
    try:
        order = Order.model_validate(document)
    except ValidationError as exc:
        raise UnreadableMessage("schema_invalid", f"Order: {_errors(exc)}") from None
    envelope = CloudEvent(
        specversion="1.0",
        id=f"billing-order:{order.id}",
        source="urn:partnerlink:billing-orders",
        type=ORDER_CREATED,
        subject=order.reference_customer_id,
        data=None,
    )
    return IncomingCommand(envelope, order, BILLING_ACTOR)
