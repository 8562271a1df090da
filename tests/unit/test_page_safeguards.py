"""The acceptance page's safeguards and settings: sealed cookies, the per-client rate limit, the
outcome book, languages, and the settings checked at start."""

from __future__ import annotations

import pytest

from handlers.page_views import PageViews, accepted_languages
from service.adapters.outcomes import OutcomeBook
from service.preflight import StartupError, check_page
from service.ratelimit import RateLimit
from service.sealed import Sealer
from service.settings import Settings

# -- cookies, rate limit, outcomes -------------------------------------------------------------


def test_sealed_values_open_only_unaltered_unexpired_for_their_purpose_and_key() -> None:
    now = [1000.0]
    sealer = Sealer("s" * 32, clock=lambda: now[0])
    value = sealer.seal("pl_link", {"t": "secret-token"}, ttl_seconds=60)
    assert "secret-token" not in value
    assert sealer.open("pl_link", value) == {"t": "secret-token"}
    assert sealer.open("pl_user", value) is None, "another cookie's value"
    assert Sealer("t" * 32).open("pl_link", value) is None, "another key"
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert sealer.open("pl_link", tampered) is None
    assert sealer.open("pl_link", "garbage!") is None and sealer.open("pl_link", None) is None
    now[0] += 60
    assert sealer.open("pl_link", value) is None, "expired"


def test_rate_limit_is_a_sliding_minute_per_client() -> None:
    now = [0.0]
    limit = RateLimit(3, clock=lambda: now[0])
    assert [limit.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b")
    now[0] = 59.9
    assert not limit.allow("a")
    now[0] = 60.0
    assert limit.allow("a")


async def test_outcome_book_records_the_first_decisive_event_of_expected_commands() -> None:
    book = OutcomeBook()
    book.expect("c-1")
    book.record({"type": "InvitationWithdrawn", "causationid": "c-1"})
    book.record({"type": "CommandRejected", "causationid": "c-2", "data": {"reason": "forbidden"}})
    assert book.get("c-1") is None and book.get("c-2") is None
    book.record(
        {
            "type": "CommandRejected",
            "causationid": "c-1",
            "data": {"reason": "invalid_token", "rule": "INV-3"},
        }
    )
    book.record({"type": "ResellerRelationshipAccepted", "causationid": "c-1"})
    outcome = await book.wait("c-1", 0.1)
    assert outcome is not None and (outcome.reason, outcome.rule, outcome.rejected) == (
        "invalid_token",
        "INV-3",
        True,
    )
    assert await book.wait("unknown", 0.01) is None


def test_outcome_book_awaits_only_while_an_expected_outcome_is_unknown() -> None:
    """The page's watcher skips parsing events while nothing awaits an outcome."""
    book = OutcomeBook()
    assert not book.awaits_any()
    book.expect("c-1")
    assert book.awaits_any()
    book.record({"type": "ResellerRelationshipAccepted", "causationid": "c-1"})
    assert not book.awaits_any() and book.get("c-1") is not None


# -- languages ------------------------------------------------------------------------------------


def test_accept_language_is_ranked_by_quality() -> None:
    assert accepted_languages("sv;q=0.5, tr-TR, en;q=0.8, *;q=0, x y") == ["tr-TR", "en", "sv"]
    assert accepted_languages(None) == []


def test_page_locales_fall_back_like_the_emails() -> None:
    views = PageViews()
    assert set(views.catalogs) == {"en-US", "sv-SE", "tr-TR", "zh-CN"}
    assert views.locale_for(["sv-FI"]) == "sv-SE"
    assert views.locale_for(["zh-TW"]) == "zh-CN"
    assert views.locale_for(["de-DE", "tr"]) == "tr-TR"
    assert views.locale_for(["de-DE"]) == "en-US"
    keys = set(views.catalogs["en-US"])
    assert all(set(catalog) == keys for catalog in views.catalogs.values())
    assert str(views.text("en-US", "signed_in_as", user="<b>x</b>")) == "Signed in as &lt;b&gt;x&lt;/b&gt;."


# -- settings ---------------------------------------------------------------------------------------


def test_page_settings_are_checked_at_start() -> None:
    check_page(Settings())
    assert Settings().link_base_public == "http://127.0.0.1:8080/invitations/public"
    assert Settings(public_url="https://p.example/").link_base_partnership == (
        "https://p.example/invitations/partnership"
    )
    assert (
        Settings(link_base_germany="https://de.example/x").link_bases()["germany"] == "https://de.example/x"
    )
    cases = [
        ({"public_url": "http://partners.example.com"}, "PARTNERLINK_PUBLIC_URL", "https"),
        ({"public_url": "partners.example.com"}, "PARTNERLINK_PUBLIC_URL", "absolute"),
        ({"oidc_issuer_germany": "http://login.example"}, "PARTNERLINK_OIDC_ISSUER_GERMANY", "https"),
        ({"link_base_public": "/relative"}, "PARTNERLINK_LINK_BASE_PUBLIC", "absolute"),
        ({"page_secret": "short"}, "PARTNERLINK_PAGE_SECRET", "32"),
    ]
    for values, variable, cause in cases:
        with pytest.raises(StartupError) as failed:
            check_page(Settings(**values))
        assert failed.value.variable == variable and cause in failed.value.cause
        assert "short" not in str(failed.value), "a secret is never shown"
