"""Constrained field types shared by commands and events (wire-level checks only)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import pycountry
from pydantic import AfterValidator, EmailStr, Field, StringConstraints

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _tenant_id(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError("a tenant id is a GUID, e.g. 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    return value.lower()


def _country(value: str) -> str:
    code = value.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


TenantId = Annotated[
    str,
    StringConstraints(pattern=_GUID.pattern),
    AfterValidator(_tenant_id),
    Field(examples=["0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"]),
]
"""An Entra ID (Azure AD) tenant id: a GUID, normalised to lower case."""

MpnId = Annotated[
    str,
    StringConstraints(pattern=r"^\d{6,7}$"),
    Field(description="Partner ID (MPN ID): 6-7 digits", examples=["1234567"]),
]
CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2}$"),
    AfterValidator(_country),
    Field(description="ISO 3166-1 alpha-2", examples=["SE"]),
]
Locale = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2}|-\d{3})?$", max_length=20),
    Field(description="BCP 47 tag; emails fall back to en-US", examples=["sv-SE"]),
]
Cloud = Literal["public", "us-government", "germany", "china-21vianet"]
PartnerKind = Literal["direct", "indirect-provider", "indirect-reseller", "advisor"]
Role = Literal["global-admin", "user-admin", "admin-agent", "sales-agent", "billing-admin"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=256, strip_whitespace=True)]
FreeText = Annotated[str, StringConstraints(max_length=2000)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Email = EmailStr
