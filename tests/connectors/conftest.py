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
