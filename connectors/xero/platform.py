"""The Xero pieces put together for one organisation: client, streams, actions; and its registration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..common.contract import PlatformSpec, SyncOutcome, SyncRequest
from ..common.runtime import Runtime
from ..common.sync import SyncSession, run_sync
from .actions import XeroActions
from .client import XeroClient, refresher
from .connect import connect_xero
from .settings import LIMITS, PLATFORM, XeroSettings
from .streams import plan_streams
from .webhooks import XeroWebhooks


class XeroPlatform:
    """One connected Xero organisation."""

    name = PLATFORM
    limits = LIMITS

    def __init__(self, runtime: Runtime, settings: XeroSettings, **client_options: Any) -> None:
        self.settings = settings
        tokens = runtime.token_manager(refresher(settings, runtime.clock))
        self.client = XeroClient(settings, tokens, runtime.limiter, **client_options)

    @classmethod
    def from_record(cls, runtime: Runtime, record: Mapping[str, Any]) -> XeroPlatform:
        """Open an organisation from its stored settings (secrets from the environment)."""
        return cls(runtime, XeroSettings.from_record(record))

    @property
    def api_calls(self) -> int:
        """API calls made so far (retries included)."""
        return self.client.calls

    def sync(self, runtime: Runtime, request: SyncRequest) -> SyncOutcome:
        """Every collection from its bookmark (all of it on the first sync or with ``full``)."""
        return run_sync(runtime, self.settings.tenant, lambda: self.api_calls, request, self._sync)

    def _sync(self, session: SyncSession) -> None:
        streams = plan_streams(self.client)
        if session.request.full:
            session.reset(stream.name for stream in streams)
        for stream in streams:
            session.run(stream)

    def deliverer(self, runtime: Runtime) -> XeroActions:
        """The deliverer of outbox entries."""
        return XeroActions(self.client, runtime.store)


def _open(runtime: Runtime, tenant: str, record: Mapping[str, Any]) -> XeroPlatform:
    return XeroPlatform.from_record(runtime, record)


SPEC = PlatformSpec(name=PLATFORM, title="Xero", open=_open, limits=LIMITS, connect=connect_xero,
                    webhooks=XeroWebhooks)
