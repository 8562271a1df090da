"""The read API's shared parameters: the path and query parameters (with their OpenAPI
descriptions), the 404 answer and ``found`` (an answer, or that 404)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Path, Query
from pydantic import AwareDatetime

from contracts.read import ErrorDetail

TENANT_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

TenantIdPath = Annotated[
    str,
    Path(
        pattern=TENANT_ID_PATTERN,
        description="the customer's Entra ID tenant id (a GUID; case does not matter)",
        examples=["0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"],
    ),
]
PartnerIdPath = Annotated[
    str, Path(max_length=16, description="the provider's Partner ID (MPN ID)", examples=["1234567"])
]
SubscriptionIdPath = Annotated[str, Path(max_length=128, description="the subscription's id")]
ResellerFilter = Annotated[
    str | None, Query(max_length=16, description="only customers associated with this reseller (IR-9)")
]
AtQuery = Annotated[
    AwareDatetime | None,
    Query(description="the instant asked about: ISO 8601 with `Z` or an offset (default: now)"),
]
AfterQuery = Annotated[
    int, Query(ge=0, description="return entries with a larger `seq` (a page's `next_after`)")
]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="at most this many entries")]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail, "description": "not registered"}}


Answer = TypeVar("Answer")


def found(answer: Answer | None, detail: str) -> Answer:
    """The answer, or a 404 ``{"detail": detail}`` when the query found nothing."""
    if answer is None:
        raise HTTPException(404, detail=detail)
    return answer
