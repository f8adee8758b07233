"""The connector framework: retry policy, rate limits, locks, encrypted tokens, sync runner, outbox claims."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from collections_engine.types import Customer, ReceivableItem
from connectors.common.errors import (
    AuthExpiredError,
    AuthorizationError,
    ConfigurationError,
    LockedError,
    RateLimitedError,
    RetryableError,
    VendorError,
)
from connectors.common.locks import FileLocks, RedisLocks
from connectors.common.ratelimit import Limit, LocalRateLimiter, RedisRateLimiter, acquire
from connectors.common.retry import RetryPolicy, call_with_retry, error_for_status
from connectors.common.store import Store
from connectors.common.sync import Changes, MappingError, Page, sync_stream
from connectors.common.tokens import Cipher, OAuthToken, TokenManager, TokenStore

UTC = timezone.utc
NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


# -- retry policy ------------------------------------------------------------------------------


class Script:
    """A call that fails with the given errors in order, then returns 'ok'."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def test_throttling_waits_retry_after_then_succeeds() -> None:
    sleeps: list[float] = []
    call = Script(RateLimitedError("429", retry_after=7), RateLimitedError("429", retry_after=3))
    assert call_with_retry(call, sleep=sleeps.append) == "ok"
    assert sleeps == [7, 3]
    assert call.calls == 3


def test_server_errors_back_off_exponentially_with_jitter_and_a_cap() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=8, base_delay=1.0, max_delay=4.0)
    call = Script(*[RetryableError("503", status=503) for _ in range(6)])
    assert call_with_retry(call, policy=policy, sleep=sleeps.append) == "ok"
    ceilings = [1, 2, 4, 4, 4, 4]
    assert all(c / 2 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))


def test_retries_stop_after_max_attempts() -> None:
    call = Script(*[RetryableError("500") for _ in range(10)])
    with pytest.raises(RetryableError):
        call_with_retry(call, policy=RetryPolicy(max_attempts=3), sleep=lambda _s: None)
    assert call.calls == 3


def test_other_4xx_fail_fast_with_the_vendor_message() -> None:
    call = Script(error_for_status(400, "Invalid Reference Id: CustomerRef 99", code="2500"))
    with pytest.raises(VendorError, match="CustomerRef 99"):
        call_with_retry(call, sleep=lambda _s: pytest.fail("must not wait"))
    assert call.calls == 1


def test_a_401_refreshes_once_then_gives_up() -> None:
    refreshes: list[int] = []
    assert call_with_retry(Script(AuthExpiredError("401")), refresh=lambda: refreshes.append(1)) == "ok"
    assert refreshes == [1]
    with pytest.raises(AuthorizationError):
        call_with_retry(Script(AuthExpiredError("401"), AuthExpiredError("401")), refresh=lambda: None)


def test_status_mapping() -> None:
    assert isinstance(error_for_status(429, "x", retry_after=2), RateLimitedError)
    assert isinstance(error_for_status(503, "x"), RetryableError)
    assert isinstance(error_for_status(401, "x"), AuthExpiredError)
    assert isinstance(error_for_status(404, "x"), VendorError)


# -- rate limits -------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_local_windows_enforce_every_limit_per_tenant() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock)
    limits = (Limit(500, 60.0), Limit(10, 1.0))
    waited = [acquire(limiter, "realm-1", limits, sleep=clock.sleep) for _ in range(30)]
    assert waited[:10] == [0.0] * 10
    assert [n for n, w in enumerate(waited) if w > 0] == [10, 20]  # ten a second, as the second limit says
    assert clock.now - 1000.0 == pytest.approx(2 * limits[1].window, abs=0.01)  # a second, plus the arrival margin
    assert acquire(limiter, "realm-2", limits, sleep=clock.sleep) == 0  # another tenant has its own windows
    assert limiter.state("realm-1", limits)["500/60s"] == 470  # nothing has left the minute yet


def test_a_window_counts_a_call_a_little_longer_than_the_vendor_does() -> None:
    assert Limit(60, 60.0).window == 61.0 and Limit(10, 1.0).window == pytest.approx(1.02)
    assert Limit(5000, 86400.0).window == 86401.0  # a second at most: the vendor counts on arrival


def test_no_window_of_the_vendor_s_length_ever_holds_more_calls_than_the_limit() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock)
    limits = (Limit(60, 60.0),)
    times = []
    for _ in range(200):
        acquire(limiter, "org", limits, sleep=clock.sleep)
        times.append(clock.now)
        clock.now += 0.25  # a client calling four times a second
    busiest = max(sum(1 for t in times if start <= t < start + 60.0) for start in times)
    assert busiest == 60  # a token bucket would let up to 120 through a minute that straddles a burst


def test_redis_windows_are_shared_by_workers(redis_url: str) -> None:
    import redis

    limits = (Limit(5, 60.0),)
    first = RedisRateLimiter(redis.Redis.from_url(redis_url), prefix="test-shared")
    second = RedisRateLimiter(redis.Redis.from_url(redis_url), prefix="test-shared")
    granted = [limiter.try_acquire("tenant", limits) == 0 for limiter in (first, second) * 4]
    assert granted.count(True) == 5  # five calls between both "workers", not five each
    assert second.try_acquire("tenant", limits) == pytest.approx(limits[0].window, abs=0.5)  # when the first leaves
    assert first.state("tenant", limits)["5/60s"] == 0


# -- locks -------------------------------------------------------------------------------------


def test_file_locks_exclude_other_holders(tmp_path: Path) -> None:
    locks = FileLocks(tmp_path)
    inside = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with locks.hold("token:t1"):
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    inside.wait(5)
    with pytest.raises(LockedError), locks.hold("token:t1", wait=0.2):
        pass
    with locks.hold("token:t2", wait=0.2):  # other names are free
        pass
    release.set()
    thread.join()
    with locks.hold("token:t1", wait=1):
        pass


def test_redis_locks_exclude_other_workers(redis_url: str) -> None:
    import redis

    first, second = RedisLocks(redis.Redis.from_url(redis_url)), RedisLocks(redis.Redis.from_url(redis_url))
    with first.hold("sync:t1"), pytest.raises(LockedError), second.hold("sync:t1", wait=0.2):
        pass
    with second.hold("sync:t1", wait=0.2):
        pass


# -- tokens ------------------------------------------------------------------------------------


def token(n: int, expires: datetime = NOW + timedelta(hours=1)) -> OAuthToken:
    return OAuthToken(f"access-token-{n:04d}", f"refresh-token-{n:04d}", expires, extra={"realm_id": "123"})


def test_tokens_are_encrypted_at_rest_and_masked(store: Store) -> None:
    key = Cipher.generate_key()
    tokens = TokenStore(store, Cipher(key))
    tokens.save("qbo:1", token(1))
    with store.engine.connect() as connection:
        raw = connection.execute(text("SELECT ciphertext FROM tokens")).scalar_one()
    assert "access-token-0001" not in raw and "refresh-token-0001" not in raw
    loaded, version = tokens.load("qbo:1")  # type: ignore[misc]
    assert (loaded, version) == (token(1), 1)
    assert "access-token" not in repr(loaded) and "refresh-token" not in repr(loaded)
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        TokenStore(store, Cipher(Cipher.generate_key())).load("qbo:1")
    rotated = TokenStore(store, Cipher(f"{Cipher.generate_key()},{key}"))  # a new key first, the old one still reads
    assert rotated.load("qbo:1")[0] == token(1)  # type: ignore[index]


def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ODOO_COLLECTIONS_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="ODOO_COLLECTIONS_SECRET_KEY"):
        Cipher()


def test_concurrent_refreshes_call_the_vendor_once_and_keep_the_newest_token(store: Store, tmp_path: Path) -> None:
    tokens = TokenStore(store, Cipher(Cipher.generate_key()))
    tokens.save("t", token(1, expires=NOW - timedelta(minutes=1)))
    used: list[str] = []
    gate = threading.Barrier(4)

    def refresh(old: OAuthToken) -> OAuthToken:
        used.append(old.refresh_token)
        number = int(old.refresh_token[-4:]) + 1
        return token(number)

    managers = [TokenManager(tokens, FileLocks(tmp_path / "locks"), refresh, clock=lambda: NOW) for _ in range(4)]
    results: list[OAuthToken] = []

    def worker(manager: TokenManager) -> None:
        gate.wait()
        results.append(manager.current("t"))

    threads = [threading.Thread(target=worker, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert used == ["refresh-token-0001"]  # a rotated refresh token is never used twice
    assert {r.access_token for r in results} == {"access-token-0002"}
    assert tokens.load("t")[0].refresh_token == "refresh-token-0002"  # type: ignore[index]


def test_a_401_with_a_token_already_replaced_uses_the_new_one(store: Store, tmp_path: Path) -> None:
    tokens = TokenStore(store, Cipher(Cipher.generate_key()))
    tokens.save("t", token(1))
    calls: list[str] = []
    manager = TokenManager(tokens, FileLocks(tmp_path), lambda old: calls.append("x") or token(9), clock=lambda: NOW)
    stale = manager.current("t")
    tokens.save("t", token(2))  # another worker refreshed meanwhile
    assert manager.refresh("t", stale=stale).access_token == "access-token-0002"
    assert calls == []
    assert manager.refresh("t", stale=token(2)).access_token == "access-token-0009"  # ours is the stale one now


# -- sync runner -------------------------------------------------------------------------------


class Crash(Exception):
    pass


class NumbersStream:
    """Pages of 10 invoices; record 'bad' ones fail to map; can crash after a given page."""

    name = "invoices"

    def __init__(self, total: int, crash_after: int | None = None, bad: frozenset[int] = frozenset()) -> None:
        self.total, self.crash_after, self.bad = total, crash_after, bad
        self.served: list[int] = []

    def pages(self, bookmark: dict[str, Any] | None, started_at: datetime) -> Iterator[Page]:
        position = (bookmark or {}).get("position", 0)
        while position < self.total:
            if self.crash_after is not None and len(self.served) >= self.crash_after:
                raise Crash("worker killed")
            numbers = list(range(position, min(self.total, position + 10)))
            self.served.append(position)
            position += len(numbers)
            yield Page([{"Id": n} for n in numbers], {"position": position})

    def apply(self, record: dict[str, Any], changes: Changes) -> None:
        if record["Id"] in self.bad:
            raise MappingError(f"Invoice {record['Id']}: Balance is not a number")
        n = record["Id"]
        changes.customers.append(Customer(id=f"c{n % 3}", name=f"Customer {n % 3}"))
        changes.items.append(
            ReceivableItem(f"inv:{n}", f"c{n % 3}", f"F{n}", "USD", Decimal(100), Decimal(100), date(2026, 1, 1),
                           date(2026, 2, 1))
        )

    def record_ref(self, record: dict[str, Any]) -> str:
        return f"Invoice {record['Id']}"


def test_a_crash_mid_sync_resumes_from_the_last_committed_page(store: Store) -> None:
    with pytest.raises(Crash):
        sync_stream(store, "t", NumbersStream(95, crash_after=4), NOW)
    assert json.loads(store.sync.get_bookmark("t", "invoices") or "{}") == {"position": 40}
    assert len(store.ledger.load_portfolio("t", "USD", {}).items) == 40
    resumed = NumbersStream(95)
    stats = sync_stream(store, "t", resumed, NOW)
    assert resumed.served[0] == 40  # nothing re-read before the crash point
    assert stats.pages == 6
    items = store.ledger.load_portfolio("t", "USD", {}).items
    assert sorted(int(i.id[4:]) for i in items) == list(range(95))  # nothing lost, nothing twice


def test_a_malformed_record_is_quarantined_and_the_rest_loads(store: Store) -> None:
    stats = sync_stream(store, "t", NumbersStream(30, bad=frozenset({13})), NOW)
    assert stats.quarantined == 1
    assert len(store.ledger.load_portfolio("t", "USD", {}).items) == 29
    (entry,) = store.sync.quarantined("t")
    assert entry["record"] == "Invoice 13" and "Balance" in entry["reason"]
    store.sync.set_bookmark("t", "invoices", json.dumps({"position": 10}))
    sync_stream(store, "t", NumbersStream(30, bad=frozenset({13})), NOW)
    assert len(store.sync.quarantined("t")) == 1  # quarantined again, not twice


def test_deletions_and_settlement_dates(store: Store) -> None:
    from collections_engine.types import Allocation, Payment

    changes = Changes(
        customers=[Customer(id="c1", name="A")],
        items=[
            ReceivableItem("inv:1", "c1", "F1", "USD", Decimal(100), Decimal(0), date(2026, 1, 1), date(2026, 2, 1)),
            ReceivableItem("inv:2", "c1", "F2", "USD", Decimal(50), Decimal(50), date(2026, 1, 1), date(2026, 2, 1)),
        ],
        payments=[
            Payment("pay:1", "c1", date(2026, 2, 10), Decimal(60), "USD", (Allocation("inv:1", Decimal(60)),)),
            Payment("pay:2", "c1", date(2026, 3, 5), Decimal(40), "USD", (Allocation("inv:1", Decimal(40)),)),
        ],
    )
    store.sync.write_page("t", "s", changes, "{}")
    assert store.ledger.derive_settlements("t") == 1
    items = {i.id: i for i in store.ledger.load_portfolio("t", "USD", {}).items}
    assert items["inv:1"].settled_on == date(2026, 3, 5)
    store.sync.write_page("t", "s", Changes(deleted_items=["inv:2"], deleted_payments=["pay:2"]), "{}")
    portfolio = store.ledger.load_portfolio("t", "USD", {})
    assert [i.id for i in portfolio.items] == ["inv:1"]
    assert [p.id for p in portfolio.payments] == ["pay:1"]


# -- outbox claims -----------------------------------------------------------------------------


def test_claimed_actions_are_not_claimed_twice_until_the_lease_ends(store: Store) -> None:
    from collections_engine import plan
    from collections_engine.defaults import default_policy
    from collections_engine.types import History, Portfolio

    customer = Customer(id="c1", name="A", email="a@example.com", timezone="UTC")
    item = ReceivableItem("inv:1", "c1", "F1", "USD", Decimal(100), Decimal(100), date(2026, 10, 1), date(2026, 11, 1))
    decisions = plan(Portfolio("USD", (customer,), (item,)), default_policy(), History(), NOW)
    (key,) = store.outbox.enqueue_actions("t", None, decisions.actions(), NOW)
    due = NOW + timedelta(days=1)
    (claimed,) = store.outbox.claim_actions("t", due_by=due)
    assert claimed["key"] == key and not claimed["reclaimed"]
    assert store.outbox.claim_actions("t", due_by=due) == []  # a second worker gets nothing
    (again,) = store.outbox.claim_actions("t", due_by=due, lease=timedelta(seconds=-1))  # the first worker died
    assert again["reclaimed"]
    store.outbox.mark_failed("t", key, "HTTP 503", retryable=True)
    assert store.outbox.outbox_counts("t") == {"pending": 1}
    store.outbox.claim_actions("t", due_by=due)
    store.outbox.mark_sent_many("t", [(key, "qbo-invoice-1")], NOW)
    assert store.outbox.outbox_counts("t") == {"sent": 1}
    assert store.outbox.claim_actions("t", due_by=due, lease=timedelta(seconds=-1)) == []


def test_migrations_match_the_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from connectors.common.models import Base

    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_every_platform_maps_an_http_status_to_the_same_error() -> None:
    from connectors.common.errors import AuthExpiredError, AuthorizationError, RateLimitedError, VendorError
    from connectors.common.retry import error_for_status

    expected = {429: RateLimitedError, 401: AuthExpiredError, 403: AuthorizationError, 503: RetryableError,
                408: RetryableError, 400: VendorError, 404: VendorError}
    assert {status: type(error_for_status(status, "x")) for status in expected} == expected
    assert "connect again" in str(error_for_status(403, "HTTP 403"))
