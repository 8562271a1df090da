"""T6's checks of what each input did, apart from the world that sends them.

``Inspector.inspect`` counts each delivery in a ``Tally``: exactly one outcome
(``outcome_problems``), and every email it staged rendered as the relay would send it and
checked by ``email_problems`` (headers, the intended recipient, data inert).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from bench.faults.fuzz.delivery import CRASH, DEAD, Delivery, outcome_problems
from bench.faults.fuzz.email_checks import email_problems
from bench.faults.fuzz.estate import PartnerInfo
from bench.faults.fuzz.inputs import strings_in
from service.adapters.email import JinjaEmailComposer, default_templates_dir
from service.bus import Outcome
from service.ports import EmailNotRenderable, RenderedEmail, StagedEmail

__all__ = ["MAIL_FROM", "Inspector", "Tally", "short"]

MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"


@dataclass
class Tally:
    """Counts over every input (``setup`` ones included) and a few examples of each problem."""

    examples: Counter[str] = field(default_factory=Counter)
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    dead_lettered: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    not_one_outcome: int = 0
    redeliveries: int = 0
    emails_checked: int = 0
    bad_emails: int = 0
    live_template_or_html: int = 0
    samples: list[str] = field(default_factory=list)

    def sample(self, text: str) -> None:
        if len(self.samples) < 25:
            self.samples.append(text)


class Inspector:
    """Checks each delivery and counts it in ``tally``; knows the registered partners
    (``partners``, by MPN ID) to tell whom an email must go to and what data it may show."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self.tally = Tally()
        self.partners: dict[str, PartnerInfo] = {}
        self.composer = JinjaEmailComposer(default_templates_dir(), MAIL_FROM, now)
        """renders each staged email as the relay would send it"""

    def inspect(self, delivery: Delivery, raw: bytes | None, label: str) -> None:
        """Count one delivery of ``raw``: its outcome, its emails, a sample of any problem."""
        t = self.tally
        t.inputs += 1
        t.outcomes[delivery.outcome] += 1
        if delivery.outcome == DEAD:
            t.dead_lettered[delivery.reason] += 1
        rejection = delivery.event("CommandRejected")
        if delivery.outcome == Outcome.REJECTED.value and rejection is not None:
            t.rejected[str(rejection["data"].get("reason"))] += 1
        problems = outcome_problems(delivery)
        if delivery.outcome == CRASH:
            t.crashes += 1
        elif problems:
            t.not_one_outcome += 1
        if delivery.outcome == Outcome.APPLIED.value and delivery.incoming is not None:
            self._learn(delivery)
        email_findings = self._check_emails(delivery)
        problems += email_findings
        if problems:
            t.sample(f"{label}: {problems[:3]} input={short(raw)}")

    def inspect_redelivery(self, first: Delivery, again: Delivery, label: str) -> None:
        """The same bytes again must be a duplicate (nothing committed) or dead-lettered again."""
        self.tally.redeliveries += 1
        expected = DEAD if first.outcome == DEAD else Outcome.DUPLICATE.value
        if first.outcome != CRASH and again.outcome != expected:
            self.tally.not_one_outcome += 1
            self.tally.sample(
                f"{label}: redelivery {again.outcome}, first {first.outcome}: {short(first.raw)}"
            )

    def _learn(self, delivery: Delivery) -> None:
        """Remember what a registered partner is now called and where it gets mail."""
        assert delivery.incoming is not None
        command = delivery.incoming.command
        if delivery.incoming.envelope.type == "RegisterPartner":
            data = command.model_dump()
            known = self.partners.get(data["partner_id"])
            info = PartnerInfo(
                data["partner_id"],
                data["tenant_id"],
                data["name"],
                data["country"],
                data["kind"],
                str(data["contact_email"]),
                data["locale"],
            )
            self.partners[info.partner_id] = (
                info
                if known is None
                else replace(known, name=info.name, contact_email=info.contact_email, locale=info.locale)
            )

    def _check_emails(self, delivery: Delivery) -> list[str]:
        if not delivery.emails:
            return []
        assert delivery.incoming is not None
        command = delivery.incoming.command
        involved = [
            self.partners[pid]
            for pid in (getattr(command, name, None) for name in ("partner_id", "provider_id", "reseller_id"))
            if isinstance(pid, str) and pid in self.partners
        ]
        strings = strings_in(delivery.incoming.command.model_dump(mode="json"))
        strings += [s for p in involved for s in (p.name, p.contact_email)]
        links = [
            str(e["data"]["invitation_url"]) for e in delivery.events if "invitation_url" in e.get("data", {})
        ]
        customer = getattr(command, "customer", None)
        if customer is not None:
            intended = str(customer.admin_email)
        elif delivery.incoming.envelope.type == "SetAdminRelationshipAutoExtend":  # GD-9: customer admin
            intended = "admin@fabrikam.example"
        elif delivery.incoming.envelope.type == "RequestPartnership":
            intended = self.partners[str(getattr(command, "reseller_id", ""))].contact_email
        else:
            return [f"an email staged by {delivery.incoming.envelope.type}"]
        problems = []
        for staged in delivery.emails:
            self.tally.emails_checked += 1
            try:
                rendered = self.render(staged)
            except EmailNotRenderable as exc:
                found = [f"the relay would not send it: {exc}"]
            else:
                found = email_problems(
                    staged,
                    rendered,
                    intended=intended,
                    mail_from=MAIL_FROM,
                    data_strings=strings,
                    links=links,
                )
            if len(delivery.emails) != 1:
                found.append(f"{len(delivery.emails)} emails for one command")
            if found:
                self.tally.bad_emails += 1
                if any(f.startswith(("text:", "html:")) for f in found):
                    self.tally.live_template_or_html += 1
            problems += found
        return problems

    def render(self, staged: StagedEmail) -> RenderedEmail:
        """``staged`` as the relay would render it. Raises ``EmailNotRenderable``."""
        return self.composer.render(staged.email_id, staged.template, staged.locale, staged.to, staged.params)


def short(raw: bytes | None, limit: int = 300) -> str:
    text = repr(raw)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(raw or b'')} bytes)"
