"""Email safety through the real ``CommandBus`` and ``USE_CASES`` on in-memory fakes: data
is escaped in HTML, never evaluated as a template, and cannot inject headers; and the fixed
clock the tests use.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support.commands import (
    customer_details,
    new_partner,
    register_command,
    request_command,
)
from tests.support.emails import bodies
from tests.support.fake_bus import Harness
from tests.unit.fakes import FixedClock

# --- Email safety -------------------------------------------------------------------------


async def test_company_name_is_escaped_in_html_and_never_evaluated_as_a_template(
    h: Harness,
) -> None:
    partner = h.add_partner(new_partner())
    hostile = "<script>alert(1)</script>{{7*7}}"

    await h.send(request_command(partner, customer_details(company_name=hostile)))

    text, html = bodies(h.emails()[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in html
    assert "<script>" not in html
    assert hostile in text  # plain text is not HTML: shown literally
    assert "</script>49" not in html and "</script>49" not in text


async def test_personal_message_is_escaped_in_html(h: Harness) -> None:
    partner = h.add_partner(new_partner())
    message = '<a href="https://evil.example">Click</a> {{ invitation_url }}'

    await h.send(request_command(partner, customer_details(), message=message))

    text, html = bodies(h.emails()[0])
    assert "&lt;a href=&#34;https://evil.example&#34;&gt;Click&lt;/a&gt; {{ invitation_url }}" in html
    assert 'href="https://evil.example"' not in html
    assert message in text


async def test_partner_name_with_line_breaks_cannot_inject_headers(h: Harness) -> None:
    partner = new_partner(name="Contoso\r\nBcc: victim@evil.example\r\nX-Evil: 1")
    await h.send(register_command(partner))

    await h.send(request_command(partner, customer_details()))

    (message,) = h.emails()
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    assert (
        message["Subject"]
        == "Reseller relationship invitation from Contoso Bcc: victim@evil.example X-Evil: 1"
    )
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message.get_all("To") == ["admin@fabrikam.example"]


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock()
    start = clock()

    assert clock() == start
    assert clock.advance(minutes=5) == start + timedelta(minutes=5)
    assert isinstance(clock(), datetime) and clock().tzinfo is not None
