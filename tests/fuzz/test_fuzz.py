"""T6 at CI size: the fuzzing and the stateful test of ``bench.faults.fuzz``, on in-memory
SQLite through the real reader, ``CommandBus``, use cases and email composer.

Each hypothesis example fails on the first problem (then shrinks): a crash, an input
without exactly one outcome, an email with another header or recipient than expected, or
template syntax / HTML from data rendered live. The checkers themselves are tested on
messages that break each rule, and the bugs T6 found have their own regression tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.faults.fuzz.cases import COMMAND_CASES, run_case
from bench.faults.fuzz.delivery import DEAD, Commit, Delivery, outcome_problems
from bench.faults.fuzz.email_checks import email_problems
from bench.faults.fuzz.estate import customer_details
from bench.faults.fuzz.inputs import hostile_strings, mutated
from bench.faults.fuzz.inspection import MAIL_FROM
from bench.faults.fuzz.scenario import MEMORY, open_world, quiet
from bench.faults.fuzz.stateful import run_stateful
from bench.faults.fuzz.world import NOW, World
from service.adapters.email import JinjaEmailComposer, UnsafeEmail, default_templates_dir
from service.bus import Outcome
from service.inbound import read_command
from service.ports import RenderedEmail, StagedEmail, StagedEvent

EXAMPLES = 50
"""per command: about 1 s each on an idle machine; the whole file about 20 s (the full T6 runs 10,000)"""


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[World, asyncio.AbstractEventLoop]]:
    """One seeded world for the module, on its own event loop (hypothesis tests are sync)."""
    loop = asyncio.new_event_loop()
    with quiet():
        opened = open_world(MEMORY)
        yield loop.run_until_complete(opened.__aenter__()), loop
        loop.run_until_complete(opened.__aexit__(None, None, None))
    loop.close()


# --- the fuzzing and the stateful test --------------------------------------------------------


@pytest.mark.parametrize("name", list(COMMAND_CASES))
def test_hostile_commands_have_one_outcome_and_safe_emails(
    world: tuple[World, asyncio.AbstractEventLoop], name: str
) -> None:
    w, loop = world
    before = w.tally.examples.copy()
    with quiet():
        run_case(w, loop, name, EXAMPLES, strict=True)
    key = "OrderCreated" if name == "Order" else name
    assert w.tally.examples[key] - before[key] >= EXAMPLES
    assert w.tally.crashes == 0 and w.tally.not_one_outcome == 0 and w.tally.bad_emails == 0


def test_the_fuzzing_reaches_every_outcome_and_checks_emails(
    world: tuple[World, asyncio.AbstractEventLoop],
) -> None:
    """Not only dead letters: valid commands among the hostile ones apply, get rejected,
    are redelivered, and send emails (whichever order the tests ran in)."""
    w, loop = world
    with quiet():
        for name in ("RequestResellerRelationship", "RequestPartnership", "AcceptResellerRelationship"):
            run_case(w, loop, name, EXAMPLES, strict=True)
    outcomes = w.tally.outcomes
    assert all(outcomes[o] > 0 for o in (DEAD, "applied", "rejected", "duplicate")), outcomes
    assert w.tally.emails_checked >= EXAMPLES
    assert w.tally.redeliveries > 0


def test_the_relationship_rules_agree_with_the_reference_model(
    world: tuple[World, asyncio.AbstractEventLoop],
) -> None:
    w, loop = world
    with quiet():
        steps = run_stateful(w, loop, runs=15, steps_per_run=25)
    assert steps["RequestResellerRelationship"] > 0 and steps["AcceptResellerRelationship"] > 0
    assert sum(steps.values()) >= 100


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutation_keeps_the_document_json(data: st.DataObject) -> None:
    doc = {"actor": {"kind": "partner", "tenant_id": "t"}, "name": "x", "n": 1, "items": [{"a": "b"}]}
    out = data.draw(mutated(doc))
    json.dumps(out)  # still a JSON document (the bytes may then be corrupted on purpose)
    assert doc == {"actor": {"kind": "partner", "tenant_id": "t"}, "name": "x", "n": 1, "items": [{"a": "b"}]}


@settings(max_examples=200, deadline=None)
@given(hostile_strings())
def test_hostile_strings_are_strings_up_to_100_kb(value: str) -> None:
    assert isinstance(value, str) and len(value) <= 100_000


# --- the checkers catch what they are for ----------------------------------------------------


def _email(
    *, extra_headers: dict[str, str] | None = None, text: str = "Hello", html: str = "<p>Hello</p>"
) -> tuple[StagedEmail, RenderedEmail]:
    """A staged email and the message it renders to (built by hand, to break rules on purpose)."""
    message = EmailMessage()
    message["From"] = MAIL_FROM
    message["To"] = "admin@fabrikam.example"
    message["Subject"] = "Invitation"
    message["Date"] = "Sat, 21 Nov 2026 10:00:00 -0000"
    message["Message-ID"] = "<1@partnerlink.example>"
    message["X-Partnerlink-Email-Id"] = "1"
    message["X-Partnerlink-Template"] = "reseller_relationship_invitation"
    for name, value in (extra_headers or {}).items():
        message[name] = value
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = "en-US"
    staged = StagedEmail(
        "1",
        "reseller_relationship_invitation",
        "en-US",
        "admin@fabrikam.example",
        {},
        "c",
        "c",
        None,
    )
    return staged, RenderedEmail("en-US", message.as_bytes())


def check(email: tuple[StagedEmail, RenderedEmail], strings: list[str]) -> list[str]:
    staged, rendered = email
    return email_problems(
        staged, rendered, intended="admin@fabrikam.example", mail_from=MAIL_FROM, data_strings=strings
    )


def test_the_email_checker_passes_a_clean_email_with_inert_data() -> None:
    name = "Evil {{7*7}} <script>alert(1)</script>"
    staged = _email(
        text=f"Hello {name}", html="<p>Hello Evil {{7*7}} &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert check(staged, [name]) == []


@pytest.mark.parametrize(
    ("staged", "strings", "finding"),
    [
        (_email(extra_headers={"Bcc": "attacker@evil.example"}), [], "Bcc"),
        (_email(extra_headers={"Cc": "attacker@evil.example"}), [], "Cc"),
        (_email(text="Hello Evil 49"), ["Evil {{7*7}}"], "text: template syntax"),
        (
            _email(html="<p>Hello PLaPLb</p>"),
            ["{% for x in 'ab' %}PL{{x}}{% endfor %}"],
            "html: template syntax",
        ),
        (_email(html="<p>Hello <script>alert(1)</script></p>"), ["<script>alert(1)</script>"], "live markup"),
    ],
)
def test_the_email_checker_finds_each_broken_rule(
    staged: tuple[StagedEmail, RenderedEmail], strings: list[str], finding: str
) -> None:
    assert any(finding in problem for problem in check(staged, strings)), check(staged, strings)


def test_the_email_checker_finds_another_recipient() -> None:
    staged, rendered = _email()
    assert email_problems(
        staged, rendered, intended="other@fabrikam.example", mail_from=MAIL_FROM, data_strings=[]
    )


def _event(type_: str, command_id: str) -> StagedEvent:
    payload = {
        "specversion": "1.0",
        "type": type_,
        "causationid": command_id,
        "data": {"command_id": command_id},
    }
    return StagedEvent("e", None, json.dumps(payload).encode())


def test_the_outcome_checker_finds_two_outcomes() -> None:
    raw = json.dumps(
        {
            "specversion": "1.0",
            "id": "c1",
            "source": "s",
            "type": "AcceptPartnership",
            "data": {"actor": {"kind": "partner", "tenant_id": "t"}, "token": "x"},
        }
    ).encode()
    incoming = read_command(raw)
    both = Commit(events=[_event("PartnershipAccepted", "c1"), _event("CommandRejected", "c1")])
    assert outcome_problems(Delivery(raw, Outcome.APPLIED.value, incoming, commits=[both]))
    assert outcome_problems(Delivery(raw, Outcome.REJECTED.value, incoming, commits=[both]))
    assert outcome_problems(Delivery(raw, Outcome.DUPLICATE.value, incoming, commits=[both]))
    assert outcome_problems(Delivery(raw, DEAD, None, "schema_invalid", commits=[both]))
    one = Commit(events=[_event("CommandRejected", "c1")])
    assert outcome_problems(Delivery(raw, Outcome.REJECTED.value, incoming, commits=[one])) == []


# --- regressions: what T6 found ---------------------------------------------------------------


def _command(w: World, type_: str, data: dict[str, Any], subject: str) -> bytes:
    return json.dumps(w.envelope(type_, data, subject)).encode()


def test_an_encoded_word_in_a_partner_name_cannot_add_a_bcc_header(
    world: tuple[World, asyncio.AbstractEventLoop],
) -> None:
    """Python's email package (before 3.11.10/3.12.5) decoded ``=?utf-8?q?=0D=0ABcc...?=`` in
    the Subject and wrote the CR/LF out raw: a partner's name added a Bcc recipient."""
    w, loop = world
    partner = w.new_partner(kind="direct", name="=?utf-8?q?=0D=0ABcc=3A_attacker=40evil=2Eexample?= AB")
    loop.run_until_complete(w.send(_command(w, "RegisterPartner", partner.command(), partner.partner_id)))
    tenant = w.tenant()
    data = {
        "actor": partner.actor(),
        "partner_id": partner.partner_id,
        "customer": customer_details(tenant),
        "include_delegated_admin": True,
    }
    delivery = loop.run_until_complete(w.send(_command(w, "RequestResellerRelationship", data, tenant)))

    assert delivery.outcome == Outcome.APPLIED.value
    (staged,) = delivery.emails
    assert check((staged, w.render(staged)), [partner.name, "Fabrikam AB"]) == []


@pytest.mark.parametrize(
    "address",
    [
        "=?utf-8?q?victim?=@fabrikam.example",  # the To header said victim@fabrikam.example
        "=?utf-8?q?=0D=0ABcc=3A_x=40evil=2Eexample?=@fabrikam.example",  # composing crashed
    ],
)
def test_an_address_with_an_encoded_word_is_unreadable(
    world: tuple[World, asyncio.AbstractEventLoop], address: str
) -> None:
    w, loop = world
    tenant = w.tenant()
    data = {
        "actor": w.direct.actor(),
        "partner_id": w.direct.partner_id,
        "customer": customer_details(tenant) | {"admin_email": address},
        "include_delegated_admin": True,
    }
    delivery = loop.run_until_complete(w.send(_command(w, "RequestResellerRelationship", data, tenant)))

    assert (delivery.outcome, delivery.reason) == (DEAD, "schema_invalid")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "Contoso\x00AB"),
        (("actor", "user"), "crm\x00sync"),
    ],
)
def test_nul_in_stored_text_is_unreadable(
    world: tuple[World, asyncio.AbstractEventLoop], path: tuple[str, ...], value: str
) -> None:
    """PostgreSQL cannot store U+0000: such a command crashed the use case there (DBAPIError)."""
    w, loop = world
    partner = w.new_partner()
    data = partner.command()
    data["actor"] = dict(data["actor"])
    target: dict[str, Any] = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    delivery = loop.run_until_complete(w.send(_command(w, "RegisterPartner", data, partner.partner_id)))

    assert (delivery.outcome, delivery.reason) == (DEAD, "schema_invalid")


def test_the_renderer_refuses_a_message_whose_recipient_does_not_round_trip() -> None:
    composer = JinjaEmailComposer(default_templates_dir(), MAIL_FROM)
    params = {
        "provider_name": "P",
        "provider_id": "1",
        "reseller_name": "R",
        "reseller_id": "2",
        "invitation_url": "https://x.example/?token=t",
        "expires_at": NOW.isoformat(),
    }
    with pytest.raises(UnsafeEmail):
        composer.render(
            "e-1", "partnership_invitation", "en-US", "=?utf-8?q?victim?=@fabrikam.example", params
        )
