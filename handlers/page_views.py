"""Rendering the acceptance page: HTML from ``templates/page/*.html.j2`` and the texts of
``templates/page/messages/<locale>.json``, in the emails' locales with their fallback.

``PageViews().render(template, locale, **context)`` renders with ``t(key, **values)``
(a catalog text whose ``{name}`` placeholders are filled with HTML-escaped values);
everything is autoescaped. ``locale_for(requested)`` picks, for the first requested tag that
has a translation or a translation of the same language, that one, else ``en-US``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

FALLBACK_LOCALE = "en-US"
_LANGUAGE_RANGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def default_page_dir() -> Path:
    """``templates/page`` of the installed ``templates`` package."""
    return Path(str(files("templates").joinpath("page")))


def accepted_languages(header: str | None, limit: int = 10) -> list[str]:
    """The language tags of an ``Accept-Language`` header, best first (by ``q``, then order);
    malformed entries and ``q=0`` are left out."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")[:limit]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if _LANGUAGE_RANGE.match(tag) and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


class PageViews:
    """The page's templates and catalogs, read once from ``directory`` (default: installed)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_page_dir()
        self.catalogs: dict[str, dict[str, str]] = {
            path.stem: json.loads(path.read_text("utf-8"))
            for path in sorted((self.directory / "messages").glob("*.json"))
        }
        self.stylesheet = (self.directory / "page.css").read_bytes()
        self._env = Environment(
            loader=FileSystemLoader(str(self.directory)),
            autoescape=select_autoescape(enabled_extensions=("html.j2",)),
            undefined=StrictUndefined,
            auto_reload=False,
        )

    @property
    def languages(self) -> list[tuple[str, str]]:
        """(locale, its own name) of every translation, ``en-US`` first."""
        order = sorted(self.catalogs, key=lambda code: (code != FALLBACK_LOCALE, code))
        return [(code, self.catalogs[code]["language_name"]) for code in order]

    def locale_for(self, requested: Iterable[str]) -> str:
        """The first requested locale translated, or translated in its language; else en-US."""
        by_language: dict[str, str] = {}
        for code in sorted(self.catalogs):
            by_language.setdefault(code.split("-")[0].lower(), code)
        for tag in requested:
            exact = next((code for code in self.catalogs if code.lower() == tag.lower()), None)
            if exact:
                return exact
            same_language = by_language.get(tag.split("-")[0].lower())
            if same_language:
                return same_language
        return FALLBACK_LOCALE

    def text(self, locale: str, key: str, **values: Any) -> Markup:
        """The catalog text ``key`` in ``locale`` (else en-US) with ``values`` escaped into it."""
        catalog = self.catalogs.get(locale, self.catalogs[FALLBACK_LOCALE])
        template = catalog.get(key) or self.catalogs[FALLBACK_LOCALE][key]
        return Markup(escape(template)).format(**values)

    def when(self, moment: datetime, locale: str) -> str:
        """``moment`` as a long date and time (UTC) for ``locale``."""
        return format_datetime(moment, format="long", tzinfo=UTC, locale=locale.replace("-", "_"))

    def render(self, template: str, locale: str, **context: Any) -> str:
        """``template`` rendered in ``locale``, with ``t``, ``locale`` and ``languages`` set."""

        def t(key: str, **values: Any) -> Markup:
            return self.text(locale, key, **values)

        return self._env.get_template(template).render(
            t=t, locale=locale, languages=self.languages, refresh_seconds=None, **context
        )
