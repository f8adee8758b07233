"""QuickBooks webhooks: the ``intuit-signature`` header, CloudEvents deliveries and the legacy format.

CloudEvents (the current format) arrive as a JSON array; one delivery may mix companies:
``{"specversion": "1.0", "id": "...", "type": "qbo.invoice.updated.v1", "time": "...",
"intuitentityid": "1234", "intuitaccountid": "310687", ...}``. The legacy format is
``{"eventNotifications": [{"realmId": "...", "dataChangeEvent": {"entities": [{"name": "Invoice",
"id": "1", "operation": "Update", "lastUpdated": "..."}]}}]}``; its events have no id, so one is
derived from their content (a redelivery is then recognised as a replay).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..common.webhooks import WebhookEvent
from .settings import PLATFORM

ENTITIES = {"invoice": "Invoice", "customer": "Customer", "payment": "Payment", "creditmemo": "CreditMemo"}
VERIFIER_VARIABLE = "QUICKBOOKS_WEBHOOK_VERIFIER"


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # -0700 -> -07:00
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # no zone given: UTC


class QuickBooksWebhooks:
    """The Receiver of QuickBooks deliveries."""

    platform = PLATFORM
    signature_header = "intuit-signature"

    def __init__(self, verifier: str | None = None) -> None:
        self._verifier = verifier

    def secret(self) -> str | None:
        """The app's webhook verifier token."""
        return self._verifier or os.environ.get(VERIFIER_VARIABLE)

    def parse(self, raw_body: bytes) -> list[WebhookEvent]:
        """Events of a CloudEvents array or of a legacy notification."""
        try:
            data = json.loads(raw_body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"invalid JSON ({err})") from err
        if isinstance(data, list):
            return [self._cloud_event(item) for item in data]
        if isinstance(data, Mapping) and isinstance(data.get("eventNotifications"), list):
            return [event for note in data["eventNotifications"] for event in self._legacy(note)]
        raise ValueError("neither a CloudEvents array nor eventNotifications")

    def _cloud_event(self, item: Any) -> WebhookEvent:
        if not isinstance(item, Mapping) or not item.get("id") or not item.get("intuitaccountid"):
            raise ValueError("a CloudEvent without id or intuitaccountid")
        parts = str(item.get("type", "")).split(".")  # qbo.invoice.updated.v1
        entity = ENTITIES.get(parts[1], parts[1].capitalize()) if len(parts) >= 3 else None
        return WebhookEvent(
            platform=PLATFORM,
            event_id=str(item["id"]),
            tenant=f"{PLATFORM}:{item['intuitaccountid']}",
            entity=entity,
            entity_id=str(item["intuitentityid"]) if item.get("intuitentityid") else None,
            operation=parts[2] if len(parts) >= 3 else None,
            occurred_at=_time(item.get("time")),
            raw=dict(item),
        )

    def _legacy(self, note: Any) -> list[WebhookEvent]:
        if not isinstance(note, Mapping) or not note.get("realmId"):
            raise ValueError("an eventNotification without realmId")
        realm = str(note["realmId"])
        events = []
        change = note.get("dataChangeEvent") or {}
        entities = change.get("entities") if isinstance(change, Mapping) else None
        if not isinstance(entities or [], list) or not all(isinstance(e, Mapping) for e in entities or []):
            raise ValueError("dataChangeEvent.entities must be a list of objects")
        for entity in entities or []:
            fingerprint = "|".join(
                str(entity.get(k, "")) for k in ("name", "id", "operation", "lastUpdated")
            )
            events.append(
                WebhookEvent(
                    platform=PLATFORM,
                    event_id=hashlib.sha256(f"{realm}|{fingerprint}".encode()).hexdigest(),
                    tenant=f"{PLATFORM}:{realm}",
                    entity=str(entity.get("name")) if entity.get("name") else None,
                    entity_id=str(entity.get("id")) if entity.get("id") else None,
                    operation=str(entity.get("operation", "")).lower() or None,
                    occurred_at=_time(entity.get("lastUpdated")),
                    raw={"realmId": realm, **entity},
                )
            )
        return events
