"""T7's second attack: guessed tokens.

``Guesser`` makes seeded guesses (random, a real token tampered, truncated, extended or
reformatted, junk, unreadable), each with the command, the actor and the expected outcome;
``guess_in_batches`` puts many of them through the token lookup path per transaction.
"""

from __future__ import annotations

import base64
import random

from bench.faults.security.estate import accept_data
from bench.faults.security.lab import DEAD, Lab, Verdicts
from bench.faults.security.misuse import Attempt, TokenEstate
from bench.faults.wiring import use_case
from service.adapters.uow import SqlUnitOfWork
from service.domain.errors import Rejected
from service.inbound import UnreadableMessage, read_command

__all__ = ["Guesser", "guess_in_batches"]

URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


GUESS_KINDS = (
    ("random-43", 40),
    ("tampered-1-char", 20),
    ("truncated", 8),
    ("extended", 8),
    ("reformatted", 8),
    ("junk", 14),
    ("unreadable", 2),
)
"""Kinds of guesses and their weights (percent)."""

NEAR_MISSES = frozenset({"tampered-1-char", "truncated", "extended", "reformatted"})
"""Guesses made from a real token; they are presented by that token's rightful owner."""

TOKEN_COMMANDS = ("AcceptResellerRelationship", "DeclineInvitation", "AcceptPartnership")

JUNK = (
    " ",
    "=",
    "%",
    "_",
    "*",
    "\u0000",
    "' OR '1'='1",
    "%' OR token_hash LIKE '%",
    "null",
    "undefined",
    "token",
    "ä" * 43,
    "🔑" * 43,
)


class Guesser:
    """Seeded guesses at tokens, each with the command, the actor and the expected outcome."""

    def __init__(self, rng: random.Random, estate: TokenEstate) -> None:
        self.rng = rng
        customers = [c.admin() for c in estate.customers]
        resellers = [r.actor() for r in estate.resellers]
        self.live_for = {
            "AcceptResellerRelationship": [t for t in estate.live if t.kind == "customer"],
            "DeclineInvitation": estate.live,
            "AcceptPartnership": [t for t in estate.live if t.kind == "reseller"],
        }
        self.actors_for = {
            "AcceptResellerRelationship": customers,
            "DeclineInvitation": customers + resellers,
            "AcceptPartnership": resellers,
        }
        self.kinds = [name for name, _ in GUESS_KINDS]
        self.weights = [weight for _, weight in GUESS_KINDS]

    def random_token(self, length: int = 43) -> str:
        text = base64.urlsafe_b64encode(self.rng.randbytes(length)).decode().rstrip("=")
        return text[:length]

    def text(self, kind: str, base: str) -> str:
        rng = self.rng
        if kind == "random-43":
            return self.random_token()
        if kind == "tampered-1-char":
            at = rng.randrange(len(base))
            other = rng.choice(URLSAFE.replace(base[at], ""))
            return base[:at] + other + base[at + 1 :]
        if kind == "truncated":
            return base[: rng.randrange(1, len(base))]
        if kind == "extended":
            return base + self.random_token(rng.randrange(1, 512 - len(base) + 1))
        if kind == "reformatted":
            return rng.choice(
                (
                    f" {base}",
                    f"{base}\n",
                    f"{base}=",
                    base.swapcase(),
                    base[::-1],
                    f"token={base}",
                    f"https://admin.microsoft.com/Adminportal/Home/PartnerInvitation?token={base}",
                    base.replace("-", "+").replace("_", "/"),
                )
            )
        if kind == "junk":
            if rng.random() < 0.5:
                return rng.choice(JUNK)
            return "".join(chr(rng.randrange(32, 0xD7FF)) for _ in range(rng.randrange(1, 513)))
        # unreadable: outside the schema (1..512 characters of valid Unicode), refused when read
        roll = rng.random()
        if roll < 0.2:
            return ""
        if roll < 0.4:
            return "\ud800" + base  # a lone surrogate: not a Unicode string
        return self.random_token(rng.choice((513, 600, 4096, 70_000)))

    def attempt(self) -> Attempt:
        rng = self.rng
        kind = rng.choices(self.kinds, self.weights)[0]
        type_ = rng.choice(TOKEN_COMMANDS)
        target = rng.choice(self.live_for[type_])
        guess = self.text(kind, target.token)
        if guess == target.token:  # a near-miss equal to the token cannot happen; never count one
            guess += "x"
        # a near-miss is presented by the rightful owner, with the token slightly wrong
        actor = target.owner if kind in NEAR_MISSES else rng.choice(self.actors_for[type_])
        data = accept_data(guess) if type_ == "AcceptResellerRelationship" else {"token": guess}
        if "\x00" in guess:  # no stored text may hold NUL: the contract refuses it when read
            kind = "unreadable"
        expected = DEAD + "schema_invalid" if kind == "unreadable" else "invalid_token"
        return Attempt(type_, data, actor, kind, expected)


async def guess_in_batches(lab: Lab, guesser: Guesser, count: int, per_transaction: int = 1000) -> Verdicts:
    """``count`` guesses through the token lookup path, many per transaction: each is read from
    its CloudEvent bytes by ``read_command`` and given to the real use case (``USE_CASES``) on a
    real ``SqlUnitOfWork``, each in a savepoint as the bus does; no inbox, no
    outbox, and the transaction is never committed. A use case that returns instead of
    raising ``Rejected`` is an accepted guess."""
    verdicts = Verdicts()
    done = 0
    while done < count:
        async with SqlUnitOfWork(lab.engine) as uow:
            for _ in range(min(per_transaction, count - done)):
                done += 1
                a = guesser.attempt()
                verdicts.sent += 1
                verdicts.by_type[a.type] += 1
                verdicts.by_label[a.label] += 1
                try:
                    incoming = read_command(lab.raw(a.type, lab.command_id("batch"), a.data, a.actor))
                except UnreadableMessage as exc:
                    verdicts.dead_lettered[exc.reason] += 1
                    if DEAD + exc.reason != a.expected:
                        verdicts.wrong_reason += 1
                        verdicts.miss(f"batched {a.label} {a.type}: {exc.reason}, expected {a.expected}")
                    continue
                try:
                    async with uow.savepoint():
                        await use_case(a.type)(incoming.command, incoming.actor, uow, lab.deps)
                except Rejected as rejection:
                    verdicts.rejected[rejection.reason] += 1
                    if rejection.reason != a.expected:
                        verdicts.wrong_reason += 1
                        verdicts.miss(
                            f"batched {a.label} {a.type}: {rejection.reason}, expected {a.expected}"
                        )
                    continue
                verdicts.applied += 1
                verdicts.miss(f"batched {a.label} {a.type}: ACCEPTED")
    return verdicts
