"""The CloudEvents 1.0 envelope (structured JSON mode) and the acting party."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.types import Identifier, Role, Text

CONTENT_TYPE = "application/cloudevents+json"
"""Kafka ``content-type`` header of every message on our topics."""


class Actor(BaseModel):
    """Who issues a command. A partner acts only as itself, a customer only for its tenant."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Literal["partner", "customer", "system"]
    tenant_id: Identifier = Field(description="the acting party's own tenant id")
    user: Text | None = Field(default=None, max_length=320)
    roles: list[Role | Text] = Field(default_factory=list, max_length=20)


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 JSON object; ``id`` is the idempotency key of a command.

    Reading ignores nothing it needs and keeps unknown extension attributes
    (``extra="allow"``); ``causationid`` and ``correlationid`` are the extensions we set.
    """

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True)

    specversion: Literal["1.0"]
    id: Identifier
    source: Text = Field(min_length=1, max_length=1024)
    type: Text = Field(min_length=1, max_length=128)
    subject: Text | None = Field(default=None, max_length=256)
    time: datetime | None = None
    datacontenttype: Text | None = "application/json"
    dataschema: Text | None = None
    causationid: Text | None = None
    correlationid: Text | None = None
    data: Any = None
