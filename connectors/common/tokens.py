"""OAuth tokens: encrypted at rest, refreshed under a per-tenant lock, the newest always saved first.

The key comes from the environment (``ODOO_COLLECTIONS_SECRET_KEY``: one or more Fernet keys,
comma-separated, the first one encrypts, every one decrypts, so keys can be rotated). Refresh
tokens rotate on QuickBooks and Xero and are single-use on Xero: the refresh happens under the
tenant's lock, re-reads the stored token once the lock is held (another worker may have refreshed
it meanwhile), and commits the new pair before anyone uses the new access token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import AuthorizationError, ConfigurationError
from .locks import Locks
from .models import TokenRow

KEY_VARIABLE = "ODOO_COLLECTIONS_SECRET_KEY"
EARLY_REFRESH = timedelta(minutes=2)


def _mask(secret: str) -> str:
    return f"…{secret[-4:]}" if len(secret) > 8 else "…"


@dataclass(frozen=True)
class OAuthToken:
    """An access token with its refresh token; ``extra`` holds non-secret context (realm, api domain)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    refresh_expires_at: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"OAuthToken(access_token={_mask(self.access_token)}, refresh_token={_mask(self.refresh_token)}, "
            f"expires_at={self.expires_at.isoformat()})"
        )

    def expires_soon(self, now: datetime) -> bool:
        """True when the access token is expired or about to be."""
        return now + EARLY_REFRESH >= self.expires_at

    def to_json(self) -> str:
        """Serialise (only ever stored encrypted)."""
        return json.dumps(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at.isoformat(),
                "refresh_expires_at": self.refresh_expires_at.isoformat() if self.refresh_expires_at else None,
                "extra": dict(self.extra),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> OAuthToken:
        """Deserialise."""
        data = json.loads(text)
        refresh_expires = data.get("refresh_expires_at")
        return cls(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            refresh_expires_at=datetime.fromisoformat(refresh_expires) if refresh_expires else None,
            extra=data.get("extra") or {},
        )

    @classmethod
    def from_response(cls, payload: Mapping[str, Any], now: datetime, **extra: str) -> OAuthToken:
        """Build a token from an OAuth 2.0 token-endpoint response."""
        refresh_in = payload.get("x_refresh_token_expires_in") or payload.get("refresh_token_expires_in")
        return cls(
            access_token=str(payload["access_token"]),
            refresh_token=str(payload["refresh_token"]),
            expires_at=now + timedelta(seconds=int(payload.get("expires_in") or 3600)),
            refresh_expires_at=now + timedelta(seconds=int(refresh_in)) if refresh_in else None,
            extra=extra,
        )


class Cipher:
    """Fernet encryption with rotation (the first key encrypts, every key decrypts)."""

    def __init__(self, keys: str | None = None) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        keys = keys if keys is not None else os.environ.get(KEY_VARIABLE)
        if not keys:
            raise ConfigurationError(
                f"{KEY_VARIABLE} is not set: tokens are stored encrypted; create a key with "
                "`odoo-collections secret-key` and put it in the environment"
            )
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])
        except ValueError as err:
            raise ConfigurationError(f"{KEY_VARIABLE}: not a valid Fernet key (32 url-safe base64 bytes)") from err

    @staticmethod
    def generate_key() -> str:
        """A new random key."""
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    def encrypt(self, text: str) -> str:
        """Encrypt and authenticate."""
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt; a wrong key or tampered text raises ConfigurationError."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as err:
            raise ConfigurationError(f"a stored token cannot be decrypted with {KEY_VARIABLE}") from err


class TokenStore:
    """Encrypted tokens in the store, one per tenant."""

    def __init__(self, store: Any, cipher: Cipher) -> None:
        self._store = store
        self._cipher = cipher

    def load(self, tenant: str) -> tuple[OAuthToken, int] | None:
        """The tenant's token and its version, or None."""
        with self._store.session() as session:
            row = session.get(TokenRow, tenant)
            if row is None:
                return None
            return OAuthToken.from_json(self._cipher.decrypt(row.ciphertext)), row.version

    def save(self, tenant: str, token: OAuthToken) -> int:
        """Store a new token (committed when this returns); return its version."""
        now = datetime.now(timezone.utc)
        with self._store.session() as session:
            row = session.get(TokenRow, tenant, with_for_update=True)
            ciphertext = self._cipher.encrypt(token.to_json())
            if row is None:
                session.add(TokenRow(tenant=tenant, ciphertext=ciphertext, version=1, updated_at=now))
                return 1
            row.ciphertext, row.version, row.updated_at = ciphertext, row.version + 1, now
            return int(row.version)


Refresher = Callable[[OAuthToken], OAuthToken]


class TokenManager:
    """Hands out a valid access token for a tenant, refreshing it safely when needed."""

    def __init__(
        self,
        tokens: TokenStore,
        locks: Locks,
        refresher: Refresher,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._tokens = tokens
        self._locks = locks
        self._refresher = refresher
        self._clock = clock

    def current(self, tenant: str) -> OAuthToken:
        """The stored token, refreshed first when it expires within two minutes."""
        token = self._load(tenant)
        return self.refresh(tenant, stale=token) if token.expires_soon(self._clock()) else token

    def refresh(self, tenant: str, stale: OAuthToken | None = None) -> OAuthToken:
        """Refresh under the tenant's lock, unless another worker already replaced the ``stale`` token."""
        with self._locks.hold(f"token:{tenant}", wait=60, ttl=120):
            token = self._load(tenant)  # re-read under the lock: the newest refresh token is the only good one
            replaced = stale is not None and token.access_token != stale.access_token
            if replaced and not token.expires_soon(self._clock()):
                return token
            fresh = self._refresher(token)
            fresh = replace(fresh, extra={**token.extra, **fresh.extra})
            self._tokens.save(tenant, fresh)  # committed before the new access token is used
            return fresh

    def _load(self, tenant: str) -> OAuthToken:
        loaded = self._tokens.load(tenant)
        if loaded is None:
            raise AuthorizationError(f"{tenant}: not connected (run `odoo-collections connect`)")
        return loaded[0]
