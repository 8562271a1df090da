"""The relay's email renderer (``JinjaEmailComposer.render``) and the parameters use cases
stage for it (``json_params``): headers, Message-ID, folding, dates, translations, refusals."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from io import BytesIO
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.adapters.email import HEADERS, JinjaEmailComposer, UnsafeEmail, default_templates_dir
from service.domain.model import Offer
from service.ports import EmailNotRenderable
from service.usecases.base import json_params

MAIL_FROM = "Partnerlink <invitations@partnerlink.example>"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def composer() -> JinjaEmailComposer:
    return JinjaEmailComposer(default_templates_dir(), MAIL_FROM, lambda: NOW)


def offer_params(**changes: Any) -> dict[str, Any]:
    return json_params(
        {
            "partner_name": "世纪互联伙伴",
            "partner_id": "1200002",
            "customer_company_name": "示例公司",
            "cloud": "china-21vianet",
            "include_delegated_admin": True,
            "invitation_url": "https://portal.partner.microsoftonline.cn/x?token=t",
            "expires_at": NOW + timedelta(days=14),
            "message": None,
            "offer": Offer("CFQ7TTC0LF8Q", "trial", 25),
        }
        | changes
    )


def partnership_params(**changes: Any) -> dict[str, Any]:
    return {
        "provider_name": "Contoso Distribution AB",
        "provider_id": "1300001",
        "reseller_name": "Fabrikam Reseller AB",
        "reseller_id": "1400001",
        "invitation_url": "https://partner.microsoft.com/x?token=t",
        "expires_at": (NOW + timedelta(days=14)).isoformat(),
    } | changes


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_json_params_turn_datetimes_and_dataclasses_into_json_values() -> None:
    values = json_params({"at": NOW, "offer": Offer("O", "purchase", 3), "n": [1, NOW], "none": None})

    assert values == {
        "at": "2026-11-21T10:00:00+00:00",
        "offer": {"offer_id": "O", "kind": "purchase", "quantity": 3},
        "n": [1, "2026-11-21T10:00:00+00:00"],
        "none": None,
    }
    with pytest.raises(TypeError):
        json_params({"x": object()})


def test_the_message_id_is_derived_from_the_email_id(composer: JinjaEmailComposer) -> None:
    later = JinjaEmailComposer(default_templates_dir(), MAIL_FROM, lambda: NOW + timedelta(hours=3))
    args = ("partnership_invitation", "en-US", "r@fabrikam.example", partnership_params())

    first = parsed(composer.render("e-1", *args).message)
    resent = parsed(later.render("e-1", *args).message)
    other = parsed(composer.render("e-2", *args).message)

    assert first["Message-ID"] == resent["Message-ID"] != other["Message-ID"]
    assert first["Message-ID"].endswith("@partnerlink.example>")
    assert first["Date"] != resent["Date"]


def test_every_header_once_and_the_date_in_utc_plus_0000(composer: JinjaEmailComposer) -> None:
    rendered = composer.render(
        "e-1", "partnership_invitation", "sv-SE", "r@fabrikam.example", partnership_params()
    )
    message = parsed(rendered.message)

    assert sorted(message.keys()) == sorted(HEADERS)
    assert message["Date"] == "Sat, 21 Nov 2026 10:00:00 +0000"
    assert b"-0000" not in rendered.message
    assert rendered.locale == message["Content-Language"] == "sv-SE"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


@pytest.mark.parametrize(
    "name",
    [
        "x" * 70,  # fits on a line of its own, not beside "Subject: ...": folded after the name
        "Contoso" * 11,
        "Åke Öberg Konsult " + "y" * 65,
        "世纪互联伙伴" * 12,
    ],
)
def test_a_long_subject_never_folds_right_after_its_name(composer: JinjaEmailComposer, name: str) -> None:
    rendered = composer.render(
        "e-1", "partnership_invitation", "tr-TR", "r@fabrikam.example", partnership_params(provider_name=name)
    )
    head = rendered.message.split(b"\r\n\r\n", 1)[0]
    (subject_line,) = [line for line in head.split(b"\r\n") if line.startswith(b"Subject:")]

    assert subject_line.strip() != b"Subject:" and subject_line.startswith(b"Subject: ")
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    subject = parsed(rendered.message)["Subject"]
    assert subject.startswith(name[:10]) and not subject.startswith(" ")
    assert name in subject


def test_zh_cn_text_does_not_pad_names_with_spaces(composer: JinjaEmailComposer) -> None:
    rendered = composer.render("e-1", "partner_offer_21vianet", "zh-CN", "admin@fabrikam.cn", offer_params())
    message = parsed(rendered.message)
    text = text_of(message)
    html = message.get_body(("html",))
    assert html is not None

    assert message["Subject"] == "来自世纪互联伙伴的合作伙伴关系邀请"
    assert "现向示例公司发出" in text and "世纪互联伙伴将获得委派管理员权限" in text
    assert " 世纪互联伙伴" not in text and "世纪互联伙伴 " not in text
    assert "<strong>示例公司</strong>发出" in str(html.get_content())
    assert "CFQ7TTC0LF8Q \u00d7 25" in text  # the offer, stored as a dict, renders as before


@pytest.mark.parametrize(
    ("template", "values"),
    [
        ("no_such_template", partnership_params()),
        ("../templates", partnership_params()),
        ("partnership_invitation", {"invitation_url": "https://x.example/?token=t"}),
        ("partnership_invitation", partnership_params(expires_at="next week")),
    ],
    ids=["unknown", "outside the templates", "missing values", "bad date"],
)
def test_what_cannot_be_rendered_is_refused(
    composer: JinjaEmailComposer, template: str, values: dict[str, Any]
) -> None:
    with pytest.raises(EmailNotRenderable):
        composer.render("e-1", template, "en-US", "r@fabrikam.example", values)


def test_a_recipient_that_does_not_round_trip_is_refused(composer: JinjaEmailComposer) -> None:
    with pytest.raises(UnsafeEmail):
        composer.render(
            "e-1",
            "partnership_invitation",
            "en-US",
            "=?utf-8?q?victim?=@fabrikam.example",
            partnership_params(),
        )


def test_line_breaks_in_a_name_never_make_a_header(composer: JinjaEmailComposer) -> None:
    name = "Contoso\r\nBcc: attacker@evil.example\n=?utf-8?q?=0D=0ABcc=3A_x=40evil=2Eexample?="
    message = parsed(
        composer.render(
            "e-1",
            "partnership_invitation",
            "en-US",
            "r@fabrikam.example",
            partnership_params(provider_name=name),
        ).message
    )

    assert sorted(message.keys()) == sorted(HEADERS)
    assert "\n" not in message["Subject"] and "Bcc: attacker" in message["Subject"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a" * 57,
        "a" * 114,
        "one line",
        "Hej Åsa,\nrad två\r\nrad tre\rslut\n",
        "x" * 5000 + "\n" + "é" * 3000,
        "<p>Merhaba</p>\n" * 300,
    ],
)
def test_the_fast_assembly_gives_the_email_packages_bytes(text: str) -> None:
    """``_text_part`` and ``_WholeBodyGenerator`` (one base64 call, one write per body) give
    byte for byte what ``MIMEText`` and ``Message.as_bytes`` give under the build policy."""
    from email.mime.base import MIMEBase
    from email.mime.text import MIMEText

    from service.adapters import email as module

    def message(parts: list[Any]) -> MIMEBase:
        whole = MIMEBase("multipart", "alternative", policy=module._BUILD_POLICY, boundary="=_b")
        whole["Subject"] = "s"
        for part in parts:
            whole.attach(part)
        return whole

    standard = message(
        [MIMEText(text, sub, "utf-8", policy=module._BUILD_POLICY) for sub in ("plain", "html")]
    )
    fast = message([module._text_part(text, sub) for sub in ("plain", "html")])
    out = BytesIO()
    module._WholeBodyGenerator(out, mangle_from_=False, policy=module._BUILD_POLICY).flatten(fast)
    assert out.getvalue() == standard.as_bytes()


_ADDRESSY = st.text(st.sampled_from("aZ09._-+=?@<>,;:()\"\\ !#$%&'*/^`{|}~[]"), min_size=1, max_size=24)


@given(to=st.one_of(st.emails(), _ADDRESSY, st.builds("{}@{}".format, _ADDRESSY, _ADDRESSY)))
@settings(max_examples=300, deadline=None)
def test_the_recipient_check_skips_the_parse_only_where_the_parse_agrees(to: str) -> None:
    """``_only_recipient`` says what the default policy's parse of the ``To`` header says, for
    plain addresses (taken without the parse) and addresses with display names, groups,
    quotes, comments, second addresses or encoded-word openers (parsed)."""
    from service.adapters.email import _only_recipient, parsed_recipients

    assert _only_recipient(to, to) == (parsed_recipients(to) == [to])
