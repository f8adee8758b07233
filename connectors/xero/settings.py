"""Settings of a connected Xero organisation; the client secret and webhook key come from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..common.errors import ConfigurationError
from ..common.ratelimit import Limit
from ..common.secrets import Secret, secret_from_env

PLATFORM = "xero"
CLIENT_ID_VARIABLE = "XERO_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "XERO_CLIENT_SECRET"
WEBHOOK_KEY_VARIABLE = "XERO_WEBHOOK_KEY"
API_BASE = "https://api.xero.com/api.xro/2.0"
CONNECTIONS_BASE = "https://api.xero.com"
TOKEN_URL = "https://identity.xero.com/connect/token"
AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
SCOPES = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.transactions",
    "accounting.contacts",
    "accounting.settings.read",
)
# Xero: per organisation 60 calls a minute and 5,000 a day (and 5 at once); per app 10,000 a minute.
LIMITS = (Limit(60, 60.0), Limit(5000, 86400.0))
APP_LIMITS = (Limit(10000, 60.0),)
APP_BUCKET = "xero:app"
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class XeroSettings:
    """A connected Xero organisation: where the API is and how the connector behaves there.

    One authorization covers several organisations: they share one token set, kept under
    ``connection`` (rotating single-use refresh tokens must never be refreshed twice)."""

    tenant_id: str
    connection: str
    client_id: str
    client_secret: Secret = field(repr=False)
    tenant_name: str = ""
    home_currency: str = "USD"
    api_base: str = API_BASE
    connections_base: str = CONNECTIONS_BASE
    token_url: str = TOKEN_URL
    page_size: int = 100
    timeout: float = 30.0
    send_reminders: bool = True
    risk_groups: bool = True
    group_prefix: str = "Collections risk: "
    webhook_key: Secret | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.tenant_id:
            raise ConfigurationError("xero.tenant_id: required")
        if not self.connection:
            raise ConfigurationError("xero.connection: required")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"xero.page_size: must be between 1 and {MAX_PAGE_SIZE}")

    @property
    def tenant(self) -> str:
        """The store's tenant name of this organisation."""
        return f"{PLATFORM}:{self.tenant_id}"

    @property
    def token_key(self) -> str:
        """The store's key of the token set this organisation shares with the others of its authorization."""
        return f"{PLATFORM}-connection:{self.connection}"

    def to_record(self) -> dict[str, Any]:
        """The non-secret settings, as kept in the store."""
        record = asdict(self)
        record.pop("client_secret")
        record.pop("webhook_key")
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> XeroSettings:
        """Settings from the store plus the secrets from the environment."""
        key = os.environ.get(WEBHOOK_KEY_VARIABLE)
        return cls(
            client_secret=secret_from_env(CLIENT_SECRET_VARIABLE, "the Xero app's client secret"),
            webhook_key=Secret(key) if key else None,
            **dict(record),
        )
