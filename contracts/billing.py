"""Partner Center ``Order`` resource as billing publishes it on ``billing.orders`` (camelCase).

Bare JSON or the ``data`` of a CloudEvent of type ``OrderCreated``. Lenient on reading.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from contracts.types import Identifier, MpnId, TenantId, Text

ORDER_CREATED = "OrderCreated"


class OrderLineItem(BaseModel):
    """One line: creates or updates a subscription; ``partnerIdOnRecord`` is a reseller association (IR-6)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    line_item_number: int = Field(alias="lineItemNumber", ge=0, le=1_000_000)
    offer_id: Identifier = Field(alias="offerId")
    subscription_id: Identifier | None = Field(default=None, alias="subscriptionId")
    quantity: int = Field(alias="quantity", ge=0, le=1_000_000)
    partner_id_on_record: MpnId | None = Field(default=None, alias="partnerIdOnRecord")


class Order(BaseModel):
    """A Partner Center order for one customer."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)

    id: Identifier
    reference_customer_id: TenantId = Field(alias="referenceCustomerId")
    billing_cycle: Text | None = Field(default=None, alias="billingCycle")
    creation_date: datetime | None = Field(default=None, alias="creationDate")
    status: Text | None = None
    line_items: list[OrderLineItem] = Field(alias="lineItems", min_length=1, max_length=500)
