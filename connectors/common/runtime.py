"""What every task of a tenant shares: the store, locks, rate limits, the token cipher and the clock.

Built from the environment: ``ODOO_COLLECTIONS_STORE`` (SQLAlchemy URL; default the SQLite file
under ``ODOO_COLLECTIONS_HOME``), ``ODOO_COLLECTIONS_REDIS_URL`` (shared locks and rate limits
for a cluster; without it they are local to this machine) and ``ODOO_COLLECTIONS_SECRET_KEY``
(the token encryption key).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .locks import Locks, make_locks
from .ratelimit import RateLimiter, make_rate_limiter
from .runcache import RunCache
from .store import Store
from .tokens import Cipher, Refresher, TokenManager, TokenStore


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    """Shared services of the connectors, one per process."""

    store: Store
    locks: Locks
    limiter: RateLimiter
    cipher_keys: str | None = None
    clock: Callable[[], datetime] = _utc_now
    run_cache: RunCache | None = None
    """Where a run keeps its outcome for a rerun with nothing changed (none: every run plans)."""
    _cipher: Cipher | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, store_url: str | None = None, redis_url: str | None = None) -> Runtime:
        """The runtime the CLI and the worker use."""
        store = Store(store_url or os.environ.get("ODOO_COLLECTIONS_STORE") or Store.default_url())
        store.migrate()
        redis_url = redis_url or os.environ.get("ODOO_COLLECTIONS_REDIS_URL")
        home = Path(os.environ.get("ODOO_COLLECTIONS_HOME") or Path.home() / ".local" / "share" / "odoo-collections")
        return cls(store=store, locks=make_locks(redis_url, home / "locks"), limiter=make_rate_limiter(redis_url),
                   run_cache=RunCache(home / "run-cache"))

    @property
    def cipher(self) -> Cipher:
        """The token cipher (the key is read when first needed, so commands without tokens run without it)."""
        if self._cipher is None:
            self._cipher = Cipher(self.cipher_keys)
        return self._cipher

    def token_manager(self, refresher: Refresher) -> TokenManager:
        """Tokens of this store, refreshed with ``refresher``."""
        return TokenManager(TokenStore(self.store, self.cipher), self.locks, refresher, clock=self.clock)
