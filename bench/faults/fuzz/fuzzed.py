"""One fuzzed input: a valid command whose fields ``mutated`` made hostile, in its
(now and then mutated) envelope, as (maybe corrupted) bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from bench.faults.fuzz.delivery import Delivery
from bench.faults.fuzz.estate import PartnerInfo
from bench.faults.fuzz.inputs import hostile_strings, mutated, raw_bytes
from bench.faults.fuzz.world import Reader, World, encode
from service.inbound import read_command

__all__ = ["TOKEN", "Draw", "Fuzzed", "fuzzed", "hostile_name", "rename"]

Draw = Callable[[st.SearchStrategy[Any]], Any]

# --- one fuzzed command per case ------------------------------------------------------------
#
# Every case draws everything first (``Fuzzed``, ``hostile_name``), then acts: hypothesis
# may stop an example at any draw (``StopTest``), and the world's state must never be left
# half-changed by an example that stopped. Values known only after the setup (tokens) are
# drawn as ``TOKEN`` and put in place in the bytes afterwards.

TOKEN = "T0KEN-PLACEHOLDER-0000000000000000000000000"
"""Stands for the invitation token in a drawn document (as long as a real token)."""


@dataclass
class Fuzzed:
    """A drawn input: its bytes (``TOKEN`` not yet replaced), reader, and whether it is sent twice."""

    label: str
    raw: bytes
    read: Reader
    redeliver: bool

    async def send(self, world: World, token: str | None = None) -> Delivery:
        raw = self.raw if token is None else self.raw.replace(TOKEN.encode(), token.encode())
        delivery = await world.send(raw, self.read, self.label)
        world.tally.examples[self.label] += 1
        if self.redeliver:
            await world.redeliver(delivery, self.read, self.label)
        return delivery


def fuzzed(
    world: World,
    draw: Draw,
    type_: str,
    data: dict[str, Any],
    subject: str | None,
    read: Reader = read_command,
) -> Fuzzed:
    """``data`` mutated, in its envelope (itself mutated now and then), as (maybe corrupted) bytes."""
    doc: Any = world.envelope(type_, draw(mutated(data)), subject)
    if type_ == "OrderCreated" and draw(st.booleans()):
        doc = doc["data"]  # a bare order
    elif draw(st.integers(0, 9)) == 0:
        doc = draw(mutated(doc))
    raw = draw(raw_bytes(doc))
    return Fuzzed(type_, raw, read, draw(st.integers(0, 3)) == 0)


def hostile_name(world: World, draw: Draw, partner: PartnerInfo) -> bytes | None:
    """Now and then, ``partner`` re-registered with a hostile name and contact address."""
    if draw(st.integers(0, 2)) == 0:
        return None
    hostile = draw(hostile_strings())
    name = draw(st.sampled_from([partner.name + hostile, hostile + partner.name, hostile]))
    contact = draw(
        st.sampled_from(
            [partner.contact_email, "Evil <evil@partner.example>", "jörg@exämple.example", hostile]
        )
    )
    data = partner.command() | {"name": name, "contact_email": contact}
    return encode(world.envelope("RegisterPartner", data, partner.partner_id))


async def rename(world: World, raw: bytes | None) -> None:
    if raw is not None:
        await world.send(raw)
