"""Fixtures for the connector tests: a migrated store in a temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.common.store import Store

REPO = Path(__file__).resolve().parents[2]


def shared_data(*parts: str) -> Path:
    """Path of a file of the shared data sets (../shared/data or $ODOO_COLLECTIONS_DATA)."""
    base = Path(os.environ.get("ODOO_COLLECTIONS_DATA") or REPO.parent / "shared" / "data")
    return base.joinpath(*parts)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store on a fresh SQLite file, migrated to the newest schema."""
    instance = Store(f"sqlite:///{tmp_path / 'store.db'}")
    instance.migrate()
    yield instance
    instance.engine.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on 127.0.0.1 for this test session (Debian package redis-server)."""
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server", path="/usr/bin:/usr/sbin:" + os.environ.get("PATH", ""))
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    redis = pytest.importorskip("redis", reason="the redis package is not installed (pip install -e '.[celery]')")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("redis-server did not start")
    yield url
    process.terminate()
    process.wait(10)


POSTGRES_ADMIN_URL = os.environ.get("ODOO_COLLECTIONS_TEST_POSTGRES", "postgresql+psycopg2:///postgres")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards.

    It is made on the server that ``$ODOO_COLLECTIONS_TEST_POSTGRES`` names (an administrator's URL;
    default the local server's socket as the current user, which .ci/run sets up)."""
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install -e '.[postgresql]')")
    import secrets

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"collections_test_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server to test on at {POSTGRES_ADMIN_URL} ({str(err).splitlines()[0][:120]}); "
                    ".ci/run installs and starts one")
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
