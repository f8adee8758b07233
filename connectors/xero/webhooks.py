"""Xero webhooks: the ``x-xero-signature`` header, the intent-to-receive check and event deliveries.

A delivery is ``{"events": [{"resourceUrl", "resourceId", "eventDateUtc", "eventType",
"eventCategory", "tenantId", "tenantType"}], "firstEventSequence", "lastEventSequence",
"entropy"}``, signed with base64(HMAC-SHA256(raw body, webhook key)). Xero first sends an
intent-to-receive delivery with no events, expecting 200 for a good signature and 401 for a bad
one within 5 seconds: the receiver answers it like any delivery (the signature is checked before
anything is parsed). Events carry no id, so one is derived from their content: a redelivery is
recognised as a replay.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..common.webhooks import WebhookEvent
from .settings import PLATFORM, WEBHOOK_KEY_VARIABLE

ENTITIES = {"INVOICE": "Invoice", "CONTACT": "Contact", "CREDITNOTE": "CreditNote", "PAYMENT": "Payment"}


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class XeroWebhooks:
    """The Receiver of Xero deliveries."""

    platform = PLATFORM
    signature_header = "x-xero-signature"

    def __init__(self, key: str | None = None) -> None:
        self._key = key

    def secret(self) -> str | None:
        """The webhook key of the Xero app."""
        return self._key or os.environ.get(WEBHOOK_KEY_VARIABLE)

    def parse(self, raw_body: bytes) -> list[WebhookEvent]:
        """The events of a delivery (none for the intent-to-receive check)."""
        try:
            data = json.loads(raw_body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"invalid JSON ({err})") from err
        if not isinstance(data, Mapping) or not isinstance(data.get("events"), list):
            raise ValueError("no events list")
        return [self._event(item) for item in data["events"]]

    def _event(self, item: Any) -> WebhookEvent:
        if not isinstance(item, Mapping) or not item.get("tenantId") or not item.get("resourceId"):
            raise ValueError("an event without tenantId or resourceId")
        fingerprint = "|".join(
            str(item.get(k, "")) for k in ("tenantId", "resourceId", "eventCategory", "eventType", "eventDateUtc")
        )
        category = str(item.get("eventCategory") or "").upper()
        return WebhookEvent(
            platform=PLATFORM,
            event_id=hashlib.sha256(fingerprint.encode()).hexdigest(),
            tenant=f"{PLATFORM}:{item['tenantId']}",
            entity=ENTITIES.get(category, category.capitalize() or None),
            entity_id=str(item["resourceId"]),
            operation=str(item.get("eventType") or "").lower() or None,
            occurred_at=_time(item.get("eventDateUtc")),
            raw=dict(item),
        )
