"""The servers of the acceptance page's tests, started once for the package: a real OpenID
provider on loopback, an SMTP catcher, ``partnerlink serve`` with the page, and Debian's
chromium; ``tab`` is a fresh browser context per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.integration.harness import Harness
from tests.support.acceptance_page import CHROMIUM, CHROMIUM_FLAGS, LOOKUPS_PER_MINUTE
from tools.embedded.broker import free_tcp_port
from tools.embedded.mailbox import FileMailbox

# -- servers -----------------------------------------------------------------------------


@pytest.fixture(scope="package")
def oidc_issuer() -> Iterator[str]:
    """A real OpenID provider on loopback: its issuer URL."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=0, require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="package")
async def module_mailbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FileMailbox]:
    async with FileMailbox(str(tmp_path_factory.mktemp("page-mail"))) as box:
        yield box


@pytest.fixture(scope="package")
async def page_service(
    kafka: Any, module_mailbox: FileMailbox, oidc_issuer: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Harness]:
    """``partnerlink serve`` with the page at its public URL, signing in at the provider."""
    port = free_tcp_port()
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('page-db')}/partnerlink.db"
    async with Harness(
        kafka,
        module_mailbox,
        database,
        http_port=port,
        public_url=f"http://127.0.0.1:{port}",
        oidc_issuer=oidc_issuer,
        oidc_client_id="partnerlink-page",
        oidc_client_secret="client-secret-for-tests",
        page_secret="a-page-secret-of-more-than-32-characters",
        page_token_lookups_per_minute=LOOKUPS_PER_MINUTE,
        expiry_interval_seconds=0.5,
    ) as harness:
        yield harness


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Any]:
    """Debian's chromium, headless, through Playwright (``executable_path``; no download)."""
    if shutil.which(CHROMIUM) is None:
        unavailable("Debian's chromium is not installed (apt-get install chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def tab(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser context (no cookies) and its page."""
    context = await browser.new_context(locale="en-US", viewport={"width": 900, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        await context.close()
