"""Constrained field types shared by commands and events (wire-level checks only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Annotated, Literal

import pycountry
from pydantic import AfterValidator, EmailStr, Field, StringConstraints

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _lower_guid(what: str, example: str) -> Callable[[str], str]:
    """A validator: ``value`` in lower case, or ``ValueError`` when it is not a GUID."""

    def lower_guid(value: str) -> str:
        if not _GUID.match(value):
            raise ValueError(f"{what} is a GUID, e.g. {example}")
        return value.lower()

    return lower_guid


_Guid = Annotated[str, StringConstraints(pattern=_GUID.pattern)]
_TENANT_ID_EXAMPLE = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
_TEMPLATE_ID_EXAMPLE = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"


_ENCODED_WORD = re.compile(r"=\?.*\?=", re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_encoded_word(value: str) -> str:
    # RFC 2047 section 5: an encoded-word must not appear in an addr-spec. Python's email
    # package decodes one anyway when it builds the To header: the message would go to
    # another address than the one validated ("=?utf-8?q?x?=@a.example" becomes x@a.example)
    # or carry a CR/LF. Such an address never reached its owner, so refusing it is safe.
    if _ENCODED_WORD.search(value):
        raise ValueError("an email address cannot contain an RFC 2047 encoded-word (=?...?=)")
    return value


def _some_duration(value: str) -> str:
    if value in ("P", "PT") or value.endswith("T"):
        raise ValueError("an ISO 8601 duration names at least one amount, e.g. P730D or PT0S")
    return value


def _storable(value: str) -> str:
    # PostgreSQL text and jsonb cannot hold U+0000, and a lone surrogate (U+D800-U+DFFF, which
    # JSON's "\ud800" escape yields) has no UTF-8 form: such a command could never be stored.
    if "\x00" in value:
        raise ValueError("text cannot contain NUL (U+0000)")
    if not value.isascii() and _SURROGATE.search(value):
        raise ValueError("text cannot contain a lone surrogate (U+D800-U+DFFF)")
    return value


@cache
def _alpha_2_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (pycountry's), read once: a set lookup per command instead
    of pycountry's index search."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


def _country(value: str) -> str:
    code = value.upper()
    if code not in _alpha_2_codes():
        raise ValueError("not an ISO 3166-1 alpha-2 country code")
    return code


TenantId = Annotated[
    _Guid,
    AfterValidator(_lower_guid("a tenant id", _TENANT_ID_EXAMPLE)),
    Field(examples=[_TENANT_ID_EXAMPLE]),
]
"""An Entra ID (Azure AD) tenant id: a GUID, normalised to lower case."""

DirectoryRoleId = Annotated[
    _Guid, AfterValidator(str.lower), Field(examples=["62e90394-69f5-4237-9190-012177145e10"])
]
"""An Entra ID directory role template id (a ``wids`` value): a GUID, normalised to lower case."""

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
Text = Annotated[str, AfterValidator(_storable)]
"""Any inbound text: no NUL (U+0000) and no lone surrogate, which no database column can store."""
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=256, strip_whitespace=True), AfterValidator(_storable)
]
"""A display name (partner, company). Line breaks are allowed; the email composer keeps them
out of headers."""
FreeText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_storable)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_storable)]
Email = Annotated[EmailStr, AfterValidator(_no_encoded_word)]
"""An address as ``email-validator`` accepts it, without RFC 2047 encoded-words."""
RoleTemplateId = Annotated[
    _Guid,
    AfterValidator(_lower_guid("a role template id", _TEMPLATE_ID_EXAMPLE)),
    Field(examples=[_TEMPLATE_ID_EXAMPLE]),
]
"""A Microsoft Entra built-in role's template id (GD-1): a GUID, normalised to lower case."""
IsoDuration = Annotated[
    str,
    StringConstraints(
        pattern=r"^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$", max_length=40
    ),
    AfterValidator(_some_duration),
    Field(description="an ISO 8601 duration, e.g. P730D or PT0S", examples=["P730D"]),
]
"""Any ISO 8601 duration; which ones a command accepts is a rule (GD-2, GD-3), so a well-formed
duration out of range is a ``CommandRejected`` (``invalid_duration``), not a dead letter."""
DisplayName = Annotated[
    str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True), AfterValidator(_storable)
]
"""GD-1: an admin relationship's display name, 1 to 50 characters."""
