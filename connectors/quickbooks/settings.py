"""Settings of a QuickBooks Online company; the client secret comes from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..common.errors import ConfigurationError
from ..common.ratelimit import Limit
from ..common.secrets import Secret, secret_from_env

PLATFORM = "quickbooks"
CLIENT_ID_VARIABLE = "QUICKBOOKS_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "QUICKBOOKS_CLIENT_SECRET"
API_BASES = {
    "production": "https://quickbooks.api.intuit.com",
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
}
# Intuit: 500 requests a minute per realm and 10 a second per realm and app.
LIMITS = (Limit(500, 60.0), Limit(10, 1.0))
MIN_MINOR_VERSION = 75


@dataclass(frozen=True)
class QuickBooksSettings:
    """A connected QuickBooks company: where its API is and how the connector behaves there."""

    realm_id: str
    client_id: str
    client_secret: Secret = field(repr=False)
    environment: str = "production"
    api_base: str | None = None
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    minorversion: int = MIN_MINOR_VERSION
    home_currency: str = "USD"
    page_size: int = 1000
    timeout: float = 30.0
    send_reminders: bool = True
    collections_custom_field: str | None = None
    webhook_verifier: Secret | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.realm_id:
            raise ConfigurationError("quickbooks.realm_id: required")
        if not 1 <= self.page_size <= 1000:
            raise ConfigurationError("quickbooks.page_size: must be between 1 and 1000 (MAXRESULTS)")
        if self.minorversion < MIN_MINOR_VERSION:
            raise ConfigurationError(f"quickbooks.minorversion: must be {MIN_MINOR_VERSION} or later")

    @property
    def tenant(self) -> str:
        """The store's tenant name of this company."""
        return f"{PLATFORM}:{self.realm_id}"

    @property
    def discovery(self) -> str:
        """What intuit-oauth takes as ``environment``: sandbox, production or a discovery-document URL."""
        return self.environment

    @property
    def data_api_base(self) -> str:
        """Base URL of the data API (without ``/v3``)."""
        if self.api_base:
            return self.api_base.rstrip("/")
        if self.environment in API_BASES:
            return API_BASES[self.environment]
        raise ConfigurationError("quickbooks.api_base: required when environment is a discovery URL")

    def to_record(self) -> dict[str, Any]:
        """The non-secret settings, as kept in the store."""
        record = asdict(self)
        record.pop("client_secret")
        record.pop("webhook_verifier")
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> QuickBooksSettings:
        """Settings from the store plus the secrets from the environment."""
        values = dict(record)
        verifier = os.environ.get("QUICKBOOKS_WEBHOOK_VERIFIER")
        return cls(
            client_secret=secret_from_env(CLIENT_SECRET_VARIABLE, "the QuickBooks app's client secret"),
            webhook_verifier=Secret(verifier) if verifier else None,
            **values,
        )
