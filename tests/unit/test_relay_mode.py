"""``PARTNERLINK_RELAY_MODE``: where the outbox relay runs, and the one line a bad choice gets."""

from __future__ import annotations

import pytest

from service.adapters.outbox_wakeups import on_notification
from service.preflight import StartupError, check_static
from service.settings import Settings

POSTGRES = "postgresql+asyncpg://partnerlink@127.0.0.1/partnerlink"
SQLITE = "sqlite+aiosqlite:///./partnerlink.db"


@pytest.mark.parametrize(
    ("mode", "url", "own_process"),
    [
        ("auto", POSTGRES, True),
        ("auto", SQLITE, False),
        ("inline", POSTGRES, False),
        ("process", POSTGRES, True),
    ],
)
def test_auto_runs_the_relay_apart_on_postgresql_only(mode: str, url: str, own_process: bool) -> None:
    assert Settings(relay_mode=mode, database_url=url).relay_in_own_process() is own_process


def test_a_relay_process_on_sqlite_is_refused_in_one_line_naming_the_variable() -> None:
    with pytest.raises(StartupError) as refused:
        check_static(Settings(relay_mode="process", database_url=SQLITE))
    line = str(refused.value)
    assert "PARTNERLINK_RELAY_MODE" in line and "PostgreSQL" in line and "\n" not in line
    assert refused.value.exit_code == 2


def test_a_notification_wakes_the_email_senders_only_for_emails() -> None:
    woken: list[bool] = []
    notified = on_notification(woken.append)
    notified(None, 1, "partnerlink_outbox", "events")
    notified(None, 1, "partnerlink_outbox", "emails")
    assert woken == [False, True]
