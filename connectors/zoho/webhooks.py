"""Zoho Books webhooks: not signed by Zoho, so each organisation's webhook carries its own secret in a header.

In Zoho Books (Settings > Automation > Webhooks) each webhook gets two custom headers:
``X-Collections-Organization: <organization_id>`` and ``X-Collections-Secret: <that organisation's
secret>`` (``odoo-collections connect zoho`` prints it; it is HMAC-SHA256(``ZOHO_WEBHOOK_KEY``,
tenant), so nothing secret is stored and one leaked secret opens no other organisation). The secret
is compared in constant time before the body is read. The body is Zoho's default payload - the
record under its module's key (``{"invoice": {...}}``, ``contact``, ``customerpayment``,
``creditnote``) - or any JSON: an event only asks for the organisation's incremental sync, which
reads every change since the last one. Polling stays the primary path.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from ..common.webhooks import WebhookEvent, verify_shared_secret
from .mappers import zoho_time
from .settings import PLATFORM, WEBHOOK_KEY_VARIABLE, tenant_webhook_secret

ORGANIZATION_HEADER = "x-collections-organization"
SECRET_HEADER = "x-collections-secret"
MODULES = {"invoice": ("Invoice", "invoice_id"), "contact": ("Contact", "contact_id"),
           "customerpayment": ("Payment", "payment_id"), "payment": ("Payment", "payment_id"),
           "creditnote": ("CreditNote", "creditnote_id")}


class ZohoWebhooks:
    """The receiver of Zoho Books deliveries (a secret per organisation, in a header)."""

    platform = PLATFORM
    signature_header = SECRET_HEADER

    def __init__(self, key: str | None = None) -> None:
        self._key = key

    def secret(self) -> str | None:
        """The key every organisation's secret is derived from."""
        return self._key or os.environ.get(WEBHOOK_KEY_VARIABLE)

    def secret_for(self, organization_id: str) -> str | None:
        """The secret an organisation's webhooks carry."""
        key = self.secret()
        return tenant_webhook_secret(key, f"{PLATFORM}:{organization_id}") if key and organization_id else None

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        """The organisation's own secret, compared in constant time."""
        return verify_shared_secret(headers.get(SECRET_HEADER), self.secret_for(headers.get(ORGANIZATION_HEADER, "")))

    def parse(self, raw_body: bytes) -> list[WebhookEvent]:
        """Zoho deliveries need their headers (the organisation): see ``parse_request``."""
        raise ValueError(f"the {ORGANIZATION_HEADER} header is needed")

    def parse_request(self, raw_body: bytes, headers: Mapping[str, str]) -> list[WebhookEvent]:
        """One event: the organisation's record that changed (or an unknown change, still worth a sync)."""
        organization_id = headers.get(ORGANIZATION_HEADER, "").strip()
        try:
            data = json.loads(raw_body) if raw_body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"invalid JSON ({err})") from err
        if not isinstance(data, Mapping):
            raise ValueError("not a JSON object")
        entity, record_id, record = None, None, {}
        for module, (name, id_field) in MODULES.items():
            if isinstance(data.get(module), Mapping):
                entity, record = name, dict(data[module])
                record_id = str(record.get(id_field) or "") or None
                break
        changed = record.get("last_modified_time")
        try:
            occurred = zoho_time(changed)
        except ValueError:
            occurred = None
        fingerprint = "|".join([organization_id, str(entity), str(record_id), str(changed or ""),
                                hashlib.sha256(raw_body).hexdigest() if record_id is None else ""])
        event: dict[str, Any] = {"module": entity, "id": record_id, "last_modified_time": changed}
        return [WebhookEvent(platform=PLATFORM, event_id=hashlib.sha256(fingerprint.encode()).hexdigest(),
                             tenant=f"{PLATFORM}:{organization_id}", entity=entity, entity_id=record_id,
                             operation="changed", occurred_at=occurred, raw=event)]
