"""Per-tenant locks: Redis locks across a cluster, file locks on one machine.

A token refresh, a sync and a push of one tenant must not run twice at once. The embedded
default locks a file per name (``fcntl``), which also serialises a CLI run against an
in-process worker; with a Redis URL the lock is a Redis lock with a timeout, so a killed
worker cannot hold it forever.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from .errors import LockedError

# Seconds a tenant's lock outlives a worker that died holding it (work in progress renews it).
LOCK_TTL = int(os.environ.get("ODOO_COLLECTIONS_LOCK_TTL") or 300)


class Lease(Protocol):
    """A held lock; long work renews it so that only a dead holder's lock expires."""

    def renew(self) -> None:
        """Push the lock's expiry ``ttl`` seconds ahead."""


class _FileLease:
    def renew(self) -> None:
        """Nothing to do: the OS drops a dead process's file lock."""


class _RedisLease:
    def __init__(self, lock: Any) -> None:
        self._lock = lock

    def renew(self) -> None:
        """Reset the lock's time to live."""
        self._lock.reacquire()


class Locks(Protocol):
    """Hands out named, exclusive locks."""

    def hold(self, name: str, *, wait: float = 30.0, ttl: float = 600.0) -> contextlib.AbstractContextManager[Lease]:
        """A context manager yielding a Lease; raises LockedError after ``wait`` seconds."""


class FileLocks:
    """Exclusive locks on files in a directory (one machine, any number of processes)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._threads: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, name: str, *, wait: float = 30.0, ttl: float = 600.0) -> Iterator[Lease]:
        """Hold the lock ``name``; ``ttl`` is moot here (the OS drops the lock of a dead process)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._guard:
            thread_lock = self._threads.setdefault(name, threading.Lock())
        if not thread_lock.acquire(timeout=wait):
            raise LockedError(f"lock {name!r} is held by another thread")
        try:
            path = self.directory / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".lock")
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                deadline = time.monotonic() + wait
                while True:
                    try:
                        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise LockedError(f"lock {name!r} is held by another process") from None
                        time.sleep(0.05)
                yield _FileLease()
            finally:
                os.close(descriptor)  # closing releases the flock
        finally:
            thread_lock.release()


class RedisLocks:
    """Redis locks with a timeout, shared by every worker of a cluster."""

    def __init__(self, redis: Any, prefix: str = "odoo-collections:lock") -> None:
        self._redis = redis
        self._prefix = prefix

    @contextmanager
    def hold(self, name: str, *, wait: float = 30.0, ttl: float = 600.0) -> Iterator[Lease]:
        """Hold the lock ``name`` for at most ``ttl`` seconds unless the lease is renewed."""
        lock = self._redis.lock(f"{self._prefix}:{name}", timeout=ttl, blocking_timeout=wait)
        if not lock.acquire():
            raise LockedError(f"lock {name!r} is held by another worker")
        try:
            yield _RedisLease(lock)
        finally:
            with contextlib.suppress(Exception):  # expired meanwhile: another worker may hold it now
                lock.release()


def make_locks(redis_url: str | None, directory: Path) -> Locks:
    """Redis locks when a Redis URL is configured, file locks otherwise."""
    if not redis_url:
        return FileLocks(directory)
    import redis

    return RedisLocks(redis.Redis.from_url(redis_url))
