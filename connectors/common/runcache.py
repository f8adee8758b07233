"""The outcome of a tenant's last run, kept under the fingerprint of everything it was computed from.

A second run with nothing changed - the same store revision (every write a decision depends on counts one:
:meth:`Store.revision`), the same policy, the same ``as_of`` instant, the same rates and options - would
plan exactly what the last run planned, and record nothing new. So the run keeps what it printed (decisions,
aging, KPIs, prediction) in one file per store and tenant, and a run whose fingerprint matches reads it
instead of loading, planning and recording again. Its sync and its delivery still run for real: a changed
file or platform writes rows, which changes the revision and so the fingerprint.

The file is a pickle that only this program writes (beside the store's other local state); anything that
cannot be read back is a miss. A dry run neither reads nor writes it: its outcome was never recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from collections_engine import __version__ as engine_version
from collections_engine.policy import Policy, policy_to_dict

from .errors import StoreError

CACHE_FORMAT = 2
"""Changes when what is kept changes; an entry of another format is a miss."""
UNUSED_DAYS = 30
"""An entry that no run wrote nor read for this many days is removed when another run saves its own."""


def fingerprint(
    store: tuple[str, int],
    tenant: str,
    platform: str,
    policy: Policy,
    as_of: datetime,
    parts: Mapping[str, Any],
) -> str:
    """The hash of a run's inputs: the store's identity and revision, the tenant and its platform, the
    policy's canonical JSON, the exact ``as_of`` (the engine reads contacts known before it) and ``parts``
    (rates, currency, grouping, prediction, the sync's bookmarks...)."""
    document = {
        "format": CACHE_FORMAT,
        "engine": engine_version,
        "store": list(store),
        "tenant": tenant,
        "platform": platform,
        "policy": policy_to_dict(policy),
        "as_of": as_of.isoformat(),
        "parts": parts,
    }
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, default=_plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: Any) -> str:
    if isinstance(value, (Decimal, Path, datetime)):
        return str(value)
    raise TypeError(f"{type(value).__name__} in a run's fingerprint")


@dataclass(frozen=True)
class RunCache:
    """Two files per store and tenant in ``folder``, each opening with the fingerprint: the last run's figures
    (aging, KPIs, counts: what a rerun prints) and its detail (decisions, customers, prediction: read only when
    printed, e.g. by ``--all``, ``--report`` or JSON)."""

    folder: Path

    def _path(self, store_id: str, tenant: str, part: str) -> Path:
        name = hashlib.sha256(f"{store_id}\0{tenant}".encode()).hexdigest()[:32]
        return self.folder / f"{name}.{part}.pickle"

    def load(self, store_id: str, tenant: str, key: str) -> dict[str, Any] | None:
        """The figures kept under ``key``, or None (no entry, another fingerprint, unreadable)."""
        kept = self._read(self._path(store_id, tenant, "figures"), key)
        if not isinstance(kept, dict):
            return None
        with contextlib.suppress(OSError):
            os.utime(self._path(store_id, tenant, "detail"))  # in use with its figures, even if not read now
        return kept

    def load_detail(self, store_id: str, tenant: str, key: str) -> Any:
        """The detail kept under ``key``; StoreError when another run replaced it since its figures were read."""
        detail = self._read(self._path(store_id, tenant, "detail"), key)
        if detail is None:
            raise StoreError("the last run's outcome was replaced while this run read it: run again")
        return detail

    def _read(self, path: Path, key: str) -> Any:
        try:
            with path.open("rb") as handle:
                if handle.read(64).decode("ascii", "replace") != key:
                    return None
                kept = pickle.load(handle)
            os.utime(path)  # in use: not pruned
            return kept
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None

    def prune(self, now: float | None = None) -> int:
        """Remove the entries no run wrote nor read for ``UNUSED_DAYS`` (a store that was moved or deleted leaves
        its last outcome behind: at a million items, over 100 MB). Return how many files were removed."""
        limit = (time.time() if now is None else now) - UNUSED_DAYS * 86_400
        removed = 0
        try:
            entries = list(self.folder.glob("*.pickle")) + list(self.folder.glob("*.part"))
        except OSError:
            return 0
        for path in entries:
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def save(self, store_id: str, tenant: str, key: str, figures: Mapping[str, Any], detail: Any) -> None:
        """Keep a run's figures and detail under ``key``, replacing the last run's (each written aside, then moved
        in place: the detail first, so figures never announce a detail that is not there yet)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._write(self._path(store_id, tenant, "figures"), "", None)  # no stale figures during the switch
            self._write(self._path(store_id, tenant, "detail"), key, detail)
            self._write(self._path(store_id, tenant, "figures"), key, dict(figures))
        except OSError:
            return  # a cache that cannot be written only costs the next run its shortcut
        self.prune()

    @staticmethod
    def _write(path: Path, key: str, value: Any) -> None:
        partial = path.with_suffix(f".{os.getpid()}.part")
        with partial.open("wb") as handle:
            handle.write(key.encode("ascii"))
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)
