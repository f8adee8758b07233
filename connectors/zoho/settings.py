"""Settings of a connected Zoho Books organisation; the client secret and webhook key come from the environment."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..common.errors import ConfigurationError
from ..common.ratelimit import Limit
from ..common.secrets import Secret, secret_from_env

PLATFORM = "zoho"
CLIENT_ID_VARIABLE = "ZOHO_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "ZOHO_CLIENT_SECRET"
WEBHOOK_KEY_VARIABLE = "ZOHO_WEBHOOK_KEY"
SCOPES = ("ZohoBooks.contacts.READ", "ZohoBooks.invoices.READ", "ZohoBooks.invoices.CREATE",
          "ZohoBooks.invoices.UPDATE", "ZohoBooks.customerpayments.READ", "ZohoBooks.creditnotes.READ",
          "ZohoBooks.settings.READ")
# Data centre -> (accounts server, api_domain). The token response names the api_domain too, and wins.
DATA_CENTRES = {
    "com": ("https://accounts.zoho.com", "https://www.zohoapis.com"),
    "eu": ("https://accounts.zoho.eu", "https://www.zohoapis.eu"),
    "in": ("https://accounts.zoho.in", "https://www.zohoapis.in"),
    "com.au": ("https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
    "jp": ("https://accounts.zoho.jp", "https://www.zohoapis.jp"),
    "ca": ("https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
    "sa": ("https://accounts.zoho.sa", "https://www.zohoapis.sa"),
    "com.cn": ("https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
}
MAX_PAGE_SIZE = 200
# Zoho: about 100 requests a minute per organisation; the daily cap depends on the plan (1,000 on Free up to
# 10,000 on the higher plans): ``daily_limit`` says which.
PER_MINUTE = 100
LIMITS = (Limit(PER_MINUTE, 60.0), Limit(10000, 86400.0))


@dataclass(frozen=True)
class ZohoSettings:
    """A connected Zoho Books organisation: its data centre, where its API is, and how the connector behaves there.

    One consent covers every organisation of the Zoho user: they share one refresh token, kept under
    ``connection``, and each is its own tenant with its own limits."""

    organization_id: str
    connection: str
    client_id: str
    client_secret: Secret = field(repr=False)
    data_centre: str = "com"
    accounts_server: str = ""
    api_domain: str = ""
    organization_name: str = ""
    home_currency: str = "USD"
    page_size: int = MAX_PAGE_SIZE
    timeout: float = 30.0
    daily_limit: int = 10000
    per_minute: int = PER_MINUTE
    send_reminders: bool = True
    status_field: str = "cf_collections_status"
    full_pass_days: int = 7
    webhook_key: Secret | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.organization_id:
            raise ConfigurationError("zoho.organization_id: required")
        if not self.connection:
            raise ConfigurationError("zoho.connection: required")
        if self.data_centre not in DATA_CENTRES:
            raise ConfigurationError(f"zoho.data_centre: one of {', '.join(DATA_CENTRES)}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"zoho.page_size: must be between 1 and {MAX_PAGE_SIZE}")
        if self.daily_limit < 1 or self.per_minute < 1:
            raise ConfigurationError("zoho.daily_limit and zoho.per_minute: must be positive")

    @property
    def tenant(self) -> str:
        """The store's tenant name of this organisation."""
        return f"{PLATFORM}:{self.organization_id}"

    @property
    def token_key(self) -> str:
        """The store's key of the token set this organisation shares with the others of its consent."""
        return f"{PLATFORM}-connection:{self.connection}"

    @property
    def accounts_url(self) -> str:
        """The accounts server of the data centre (token endpoint ``/oauth/v2/token``)."""
        return (self.accounts_server or DATA_CENTRES[self.data_centre][0]).rstrip("/")

    @property
    def api_base(self) -> str:
        """``{api_domain}/books/v3``."""
        return f"{(self.api_domain or DATA_CENTRES[self.data_centre][1]).rstrip('/')}/books/v3"

    @property
    def limits(self) -> tuple[Limit, ...]:
        """This organisation's windows: the minute's requests and the plan's day."""
        return (Limit(self.per_minute, 60.0), Limit(self.daily_limit, 86400.0))

    def webhook_secret(self) -> str | None:
        """The organisation's own webhook secret, derived from the key in the environment (None without one)."""
        return tenant_webhook_secret(self.webhook_key.reveal(), self.tenant) if self.webhook_key else None

    def to_record(self) -> dict[str, Any]:
        """The non-secret settings, as kept in the store."""
        record = asdict(self)
        record.pop("client_secret")
        record.pop("webhook_key")
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ZohoSettings:
        """Settings from the store plus the secrets from the environment."""
        key = os.environ.get(WEBHOOK_KEY_VARIABLE)
        return cls(
            client_secret=secret_from_env(CLIENT_SECRET_VARIABLE, "the Zoho app's client secret"),
            webhook_key=Secret(key) if key else None,
            **dict(record),
        )


def tenant_webhook_secret(key: str, tenant: str) -> str:
    """A tenant's webhook secret: HMAC-SHA256(key, tenant) in hex. Zoho does not sign its webhooks, so each
    organisation's webhook sends its own secret in a header; one leaked secret opens no other organisation."""
    return hmac.new(key.encode(), tenant.encode(), hashlib.sha256).hexdigest()
