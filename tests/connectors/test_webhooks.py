"""The webhook receiver: signature in constant time before parsing, replays and stale events, both formats."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from connectors.common import webhooks
from connectors.common.store import Store
from connectors.common.webhooks import WebhookApp, verify_hmac_sha256
from connectors.quickbooks.webhooks import QuickBooksWebhooks

UTC = timezone.utc
NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)
SECRET = "verifier-token-for-tests"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def call(app: WebhookApp, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, Any]]:
    """A minimal ASGI client."""
    scope = {"type": "http", "method": method, "path": path,
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body[:10], "more_body": True},
                {"type": "http.request", "body": body[10:], "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def cloud_event(event_id: str, realm: str, kind: str = "qbo.invoice.updated.v1", at: datetime = NOW) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": "intuit.test", "type": kind,
            "datacontenttype": "application/json", "time": at.isoformat().replace("+00:00", "Z"),
            "intuitentityid": "42", "intuitaccountid": realm, "data": {}}


@pytest.fixture
def app(store: Store) -> tuple[WebhookApp, list[str]]:
    store.tenants.save_tenant("quickbooks:310687", "quickbooks", {})
    enqueued: list[str] = []
    instance = WebhookApp(store, {"/webhooks/quickbooks": QuickBooksWebhooks(SECRET)}, enqueued.append,
                          clock=lambda: NOW)
    return instance, enqueued


def test_a_signed_delivery_is_stored_and_its_tenant_synced_once(
    app: tuple[WebhookApp, list[str]], store: Store
) -> None:
    instance, enqueued = app
    body = json.dumps([cloud_event("e1", "310687"), cloud_event("e2", "310687", "qbo.payment.created.v1"),
                       cloud_event("e3", "999999")]).encode()
    status, reply = call(instance, "POST", "/webhooks/quickbooks", body, {"intuit-signature": sign(body)})
    assert (status, reply) == (200, {"received": 3, "new": 2, "replayed": 0, "stale": 0, "ignored": 1})
    assert enqueued == ["quickbooks:310687"]
    events = store.webhooks.webhook_events()
    assert [(e["entity"], e["operation"], e["status"]) for e in events] == [
        ("Invoice", "updated", "received"), ("Payment", "created", "received"), ("Invoice", "updated", "ignored")]
    status, reply = call(instance, "POST", "/webhooks/quickbooks", body, {"intuit-signature": sign(body)})
    assert reply["replayed"] == 3 and reply["new"] == 0
    assert enqueued == ["quickbooks:310687"]  # a replay enqueues nothing


@pytest.mark.parametrize("signature", [None, "", "not base64!", sign(b"another body"), sign(b"[]", "wrong secret")])
def test_bad_signatures_are_refused_before_anything_is_read(
    app: tuple[WebhookApp, list[str]], store: Store, signature: str | None
) -> None:
    instance, enqueued = app
    body = json.dumps([cloud_event("e1", "310687")]).encode()
    headers = {"intuit-signature": signature} if signature is not None else {}
    assert call(instance, "POST", "/webhooks/quickbooks", body, headers)[0] == 401
    assert store.webhooks.webhook_events() == [] and enqueued == []


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", spy)
    assert verify_hmac_sha256(b"{}", sign(b"{}"), SECRET)
    assert not verify_hmac_sha256(b"{}", sign(b"{ }"), SECRET)
    assert len(seen) == 2


def test_no_secret_configured_answers_503(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUICKBOOKS_WEBHOOK_VERIFIER", raising=False)
    instance = WebhookApp(store, {"/webhooks/quickbooks": QuickBooksWebhooks()}, lambda tenant: None)
    assert call(instance, "POST", "/webhooks/quickbooks", b"[]", {"intuit-signature": sign(b"[]")})[0] == 503


def test_legacy_deliveries_and_malformed_bodies(app: tuple[WebhookApp, list[str]], store: Store) -> None:
    instance, enqueued = app
    legacy = json.dumps({"eventNotifications": [{"realmId": "310687", "dataChangeEvent": {"entities": [
        {"name": "Customer", "id": "1", "operation": "Create", "lastUpdated": "2026-11-24T01:42:19-0800"},
        {"name": "Invoice", "id": "7", "operation": "Delete", "lastUpdated": "2026-11-24T01:43:00-0800"}]}}]}).encode()
    status, reply = call(instance, "POST", "/webhooks/quickbooks", legacy, {"intuit-signature": sign(legacy)})
    assert (status, reply["new"]) == (200, 2)
    assert [(e["entity"], e["entity_id"], e["operation"]) for e in store.webhooks.webhook_events()] == [
        ("Customer", "1", "create"), ("Invoice", "7", "delete")]
    assert call(instance, "POST", "/webhooks/quickbooks", legacy, {"intuit-signature": sign(legacy)})[1][
        "replayed"] == 2
    broken = b"{not json"
    status, reply = call(instance, "POST", "/webhooks/quickbooks", broken, {"intuit-signature": sign(broken)})
    assert status == 400 and "invalid JSON" in reply["error"]
    assert enqueued == ["quickbooks:310687"]


def test_stale_events_are_kept_but_not_acted_upon(app: tuple[WebhookApp, list[str]], store: Store) -> None:
    instance, enqueued = app
    body = json.dumps([cloud_event("old", "310687", at=NOW - timedelta(days=3))]).encode()
    status, reply = call(instance, "POST", "/webhooks/quickbooks", body, {"intuit-signature": sign(body)})
    assert (status, reply["stale"], enqueued) == (200, 1, [])
    assert store.webhooks.webhook_events()[0]["status"] == "stale"


def test_routes_methods_and_health(app: tuple[WebhookApp, list[str]]) -> None:
    instance, _ = app
    assert call(instance, "GET", "/healthz") == (200, {"status": "ok"})
    assert call(instance, "GET", "/webhooks/quickbooks")[0] == 405
    assert call(instance, "POST", "/webhooks/unknown", b"[]")[0] == 404
    big = b"[" + b" " * (webhooks.MAX_BODY + 1) + b"]"
    assert call(instance, "POST", "/webhooks/quickbooks", big, {"intuit-signature": sign(big)})[0] == 413


def test_a_webhook_task_syncs_what_changed(store: Store, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The handle_webhook task body: a CDC sync of the tenant, then its received events are marked handled."""
    pytest.importorskip("celery")
    pytest.importorskip("quickbooks")
    from connectors import worker
    from tests.connectors.test_quickbooks import Harness
    from tests.fakes.quickbooks_server import FakeQuickBooks

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    with FakeQuickBooks() as qbo:
        harness = Harness(qbo, store, tmp_path)
        customer = qbo.add_customer(DisplayName="Webhook Customer")
        harness.sync()
        invoice = qbo.add_invoice(customer["Id"], amount=120, txn_date="2026-11-01", due_date="2026-11-15")
        monkeypatch.setenv("QUICKBOOKS_CLIENT_SECRET", qbo.client_secret)
        monkeypatch.setattr(worker, "_runtime", harness.runtime)
        tenant = harness.settings.tenant
        body = json.dumps([cloud_event("e-new", qbo.realm_id, "qbo.invoice.created.v1", at=datetime.now(UTC))]).encode()
        queued: list[str] = []
        instance = WebhookApp(store, {"/webhooks/quickbooks": QuickBooksWebhooks(SECRET)}, queued.append)
        assert call(instance, "POST", "/webhooks/quickbooks", body, {"intuit-signature": sign(body)})[1]["new"] == 1
        assert queued == [tenant]
        result = worker.handle_webhook.run(tenant)  # the task's body, in this process
        assert result["webhook_events"] == 1
        assert f"inv:{invoice['Id']}" in {i.id for i in harness.portfolio().items}
        assert store.webhooks.webhook_events(tenant=tenant)[0]["status"] == "handled"


@pytest.mark.parametrize(
    "payload",
    [
        [{"id": "e1", "intuitaccountid": "310687", "type": "qbo.invoice.updated.v1", "time": "2026-11-24T09:00:00"}],
        {"eventNotifications": [{"realmId": "310687", "dataChangeEvent": "oops"}]},
        {"eventNotifications": [{"realmId": "310687", "dataChangeEvent": {"entities": {"name": "Invoice"}}}]},
        {"eventNotifications": [{"realmId": "310687", "dataChangeEvent": {"entities": ["Invoice"]}}]},
        {"eventNotifications": ["310687"]},
        [{"id": "x" * 500, "intuitaccountid": "9" * 300, "type": "qbo", "time": "yesterday"}],
        [None],
        "a string",
    ],
)
def test_well_signed_odd_payloads_get_200_or_4xx_never_500(
    app: tuple[WebhookApp, list[str]], payload: Any
) -> None:
    instance, _enqueued = app
    body = json.dumps(payload).encode()
    status, reply = call(instance, "POST", "/webhooks/quickbooks", body, {"intuit-signature": sign(body)})
    assert status in (200, 400), (status, reply)


def test_an_event_time_without_a_zone_is_taken_as_utc(app: tuple[WebhookApp, list[str]], store: Store) -> None:
    instance, enqueued = app
    body = json.dumps([{**cloud_event("naive", "310687"), "time": "2026-11-24T09:00:00"}]).encode()
    status, reply = call(instance, "POST", "/webhooks/quickbooks", body, {"intuit-signature": sign(body)})
    assert (status, reply["new"], enqueued) == (200, 1, ["quickbooks:310687"])


def test_a_large_genuine_batch_is_accepted_and_stored_at_once(
    app: tuple[WebhookApp, list[str]], store: Store
) -> None:
    instance, enqueued = app
    events = [cloud_event(f"evt-{n:05d}", "310687") for n in range(8000)]
    body = json.dumps(events).encode()
    assert len(body) > 1.4 * 2**20
    status, reply = call(instance, "POST", "/webhooks/quickbooks", body, {"intuit-signature": sign(body)})
    assert (status, reply["new"], enqueued) == (200, 8000, ["quickbooks:310687"])
    assert len(store.webhooks.webhook_events()) == 8000
    again = call(instance, "POST", "/webhooks/quickbooks", body, {"intuit-signature": sign(body)})[1]
    assert again["replayed"] == 8000 and again["new"] == 0


def test_an_oversized_body_is_refused_before_it_is_read(app: tuple[WebhookApp, list[str]]) -> None:
    instance, _enqueued = app
    scope = {"type": "http", "method": "POST", "path": "/webhooks/quickbooks",
             "headers": [(b"content-length", str(webhooks.MAX_BODY + 1).encode())]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(instance(scope, receive, send))
    assert sent[0]["status"] == 413
