"""The webhook receiver: a small ASGI app that verifies, stores, and enqueues - in that order.

Each platform route has a receiver that knows its signature header, its secret and how to parse
a delivery into events. The app checks the signature over the raw body in constant time before
reading anything, stores every event under its event id (a replay of a stored id is refused, a
stale event is not acted upon), and enqueues one sync per connected tenant that has new events.
Polling stays the primary path: a lost webhook only delays what the next scheduled sync reads.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

_logger = logging.getLogger(__name__)
# A genuine batch can be large (8,000 QuickBooks events are about 1.5 MB); a body announced beyond this is
# refused before it is read, and one that grows beyond it while streaming is cut off.
MAX_BODY = 16 * 1024 * 1024


def verify_hmac_sha256(raw_body: bytes, signature_b64: str | None, secret: str) -> bool:
    """True when ``signature_b64`` is base64(HMAC-SHA256(raw body, secret)); compared in constant time."""
    if not signature_b64 or not secret:
        return False
    try:
        given = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


@dataclass(frozen=True)
class WebhookEvent:
    """One change a platform notified."""

    platform: str
    event_id: str
    tenant: str
    entity: str | None
    entity_id: str | None
    operation: str | None
    occurred_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict)


class Receiver(Protocol):
    """A platform's webhook conventions."""

    platform: str
    signature_header: str

    def secret(self) -> str | None:
        """The shared secret that signs deliveries, or None when none is configured."""

    def parse(self, raw_body: bytes) -> list[WebhookEvent]:
        """The events of a delivery; ValueError when it is not a delivery of this platform."""


@runtime_checkable
class SecretHeaderReceiver(Protocol):
    """A receiver of a platform that does not sign its deliveries (Zoho Books): the delivery carries a secret in a
    header instead, which the receiver checks itself (in constant time) and may pick per tenant from the headers.
    ``secret()`` and ``signature_header`` still say whether any secret is configured and where it travels."""

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        """True when the request's headers carry the right secret."""

    def parse_request(self, raw_body: bytes, headers: Mapping[str, str]) -> list[WebhookEvent]:
        """The events of a delivery, read with its headers; ValueError when it is not a delivery of this platform."""


def verify_shared_secret(given: str | None, secret: str | None) -> bool:
    """True when a header carries the shared secret itself; compared in constant time."""
    if not given or not secret:
        return False
    return hmac.compare_digest(given.strip().encode(), secret.encode())


class WebhookApp:
    """ASGI 3 application: POST /webhooks/<platform>, GET /healthz."""

    def __init__(
        self,
        store: Any,
        routes: Mapping[str, Receiver],
        enqueue: Callable[[str], None],
        *,
        max_age: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.store = store
        self.routes = dict(routes)
        self.enqueue = enqueue
        self.max_age = max_age
        self.clock = clock

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        """Serve one HTTP request."""
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if path == "/healthz":
            await _reply(send, 200, {"status": "ok"})
            return
        receiver = self.routes.get(path)
        if receiver is None:
            await _reply(send, 404, {"error": "not found"})
            return
        if method != "POST":
            await _reply(send, 405, {"error": "POST only"})
            return
        declared = _header(scope, "content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            await _reply(send, 413 if declared.isdigit() else 400, {"error": "body too large or bad Content-Length"})
            return
        body = await _read_body(receive)
        if body is None:
            await _reply(send, 413, {"error": "body too large"})
            return
        headers = {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1")
                   for k, v in scope.get("headers") or []}
        status, payload = self.handle(receiver, _header(scope, receiver.signature_header), body, headers)
        await _reply(send, status, payload)

    def handle(
        self, receiver: Receiver, signature: str | None, body: bytes, headers: Mapping[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Verify, parse, store and enqueue one delivery; return the status and the reply.

        Whatever a well-signed body holds, the answer is 200 or 4xx: a delivery the parser cannot read is
        400 (and logged), never a server error that would make the platform retry it for days."""
        secret = receiver.secret()
        if not secret:
            return 503, {"error": f"no webhook secret is configured for {receiver.platform}"}
        parse: Callable[[], list[WebhookEvent]]
        if isinstance(receiver, SecretHeaderReceiver):
            verified = receiver.verify(body, headers or {})
            parse = functools.partial(receiver.parse_request, body, headers or {})
        else:
            verified = verify_hmac_sha256(body, signature, secret)
            parse = functools.partial(receiver.parse, body)
        if not verified:
            _logger.warning("%s webhook: bad or missing signature (%d bytes)", receiver.platform, len(body))
            return 401, {"error": "invalid signature"}
        try:
            events = parse()
        except ValueError as err:
            return 400, {"error": f"not a {receiver.platform} delivery: {err}"}
        except Exception as err:  # a parser bug on an odd shape: refuse the delivery, do not crash
            _logger.exception("%s webhook: unreadable delivery (%d bytes)", receiver.platform, len(body))
            return 400, {"error": f"not a {receiver.platform} delivery ({type(err).__name__})"}
        connected = {t["tenant"] for t in self.store.tenants.connected_tenants(receiver.platform)}
        oldest = self.clock() - self.max_age
        rows = []
        for event in events:
            occurred = _aware(event.occurred_at)
            fresh = occurred is None or occurred >= oldest
            status = ("received" if fresh else "stale") if event.tenant in connected else "ignored"
            rows.append({
                "event_id": _fit(event.event_id, 200, digest=True), "payload": event.raw,
                "tenant": _fit(event.tenant, 120), "entity": _fit(event.entity, 64),
                "entity_id": _fit(event.entity_id, 120), "operation": _fit(event.operation, 32),
                "occurred_at": occurred, "status": status,
            })
        new = self.store.webhooks.record_webhook_events(receiver.platform, rows)
        counts = {"received": len(events), "new": 0, "replayed": len(rows) - len(new), "stale": 0, "ignored": 0}
        to_sync: list[str] = []
        for row in rows:
            if row["event_id"] not in new:
                continue
            new.discard(row["event_id"])  # a delivery listing one event twice counts it once
            if row["status"] == "received":
                counts["new"] += 1
                if row["tenant"] not in to_sync:
                    to_sync.append(row["tenant"])
            else:
                counts[row["status"]] += 1
        counts["replayed"] = len(rows) - counts["new"] - counts["stale"] - counts["ignored"]
        for tenant in to_sync:
            self.enqueue(tenant)
        _logger.info("%s webhook: %s", receiver.platform, counts)
        return 200, counts


def _fit(text: str | None, size: int, *, digest: bool = False) -> Any:
    """A value cut to its column (an over-long event id is replaced by its digest, so replays still match)."""
    if text is None or len(text) <= size:
        return text
    return hashlib.sha256(text.encode()).hexdigest() if digest else text[:size]


def _aware(moment: datetime | None) -> datetime | None:
    """An event time without a time zone is taken as UTC (comparing it with an aware time would fail)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _header(scope: Mapping[str, Any], name: str) -> str | None:
    wanted = name.lower().encode()
    for key, value in scope.get("headers") or []:
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


async def _read_body(receive: Callable[[], Any]) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(send: Callable[[Any], Any], status: int, payload: Mapping[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve(app: WebhookApp, host: str = "127.0.0.1", port: int = 8780) -> None:
    """Run the app with uvicorn (``pip install uvicorn``)."""
    try:
        import uvicorn
    except ImportError as err:
        raise RuntimeError("serving webhooks needs uvicorn: pip install uvicorn") from err
    uvicorn.run(app, host=host, port=port, log_level="info")
