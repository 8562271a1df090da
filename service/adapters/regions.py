"""RR-4 region data: the ISO 3166 table shipped by the ``country_converter`` package.

We read its TSV with the standard library (its pandas-based API is not needed) and take
one classification column (default ``Continent_7``: Africa, Asia, Europe, North America,
Oceania, South America, Antarctica), then apply per-country overrides from settings.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from importlib.resources import files

from service.domain.regions import RegionMap


def _codes(iso2: str) -> list[str]:
    """The table's ISO2 cell is a code or, for a few countries, a regex: ``^GB$|^UK$`` → GB, UK."""
    codes = (part.strip("^$") for part in iso2.split("|"))
    return [code.upper() for code in codes if len(code) == 2 and code.isalpha()]


def load_region_map(
    classification: str = "Continent_7", overrides: Mapping[str, str] | None = None
) -> RegionMap:
    """A ``RegionMap`` from column ``classification``. Raises ``ValueError`` for an unknown column,
    an override of a country code the table does not know, or an empty region name."""
    source = files("country_converter").joinpath("country_data.tsv")
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if rows and classification not in rows[0]:
        raise ValueError(f"country_converter has no classification {classification!r}")
    regions = {
        code: row[classification] for row in rows if row[classification] for code in _codes(row["ISO2"])
    }
    moved = {country.upper(): region for country, region in (overrides or {}).items()}
    known = {code for row in rows for code in _codes(row["ISO2"])}
    unknown = sorted(code for code in moved if code not in known)
    if unknown:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 country codes: {', '.join(unknown)}")
    if any(not region.strip() for region in moved.values()):
        raise ValueError("a region name is empty")
    regions.update(moved)
    return RegionMap(regions)
