"""The platform contract: a platform is one package plus one entry point; every tenant runs one pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors import registry
from connectors.cli import cli
from connectors.common.contract import ENTRY_POINT_GROUP, PlatformSpec
from tests.fakes import toy_platform


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ODOO_COLLECTIONS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ODOO_COLLECTIONS_STORE", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.delenv("ODOO_COLLECTIONS_REDIS_URL", raising=False)
    return tmp_path


def install(site: Path, monkeypatch: pytest.MonkeyPatch, name: str, target: str) -> None:
    """Install a distribution that registers one platform, the way a package's metadata does."""
    dist = site / f"{name}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{target}\n")
    monkeypatch.syspath_prepend(str(site))
    registry.platforms.cache_clear()


@pytest.fixture
def toy_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The toy platform, installed by an entry point only."""
    install(tmp_path / "site", monkeypatch, "odoo_collections_toy", "toy = tests.fakes.toy_platform:SPEC")
    toy_platform.DELIVERED.clear()
    toy_platform.INVOICES.clear()
    yield
    registry.platforms.cache_clear()


def test_the_shipped_platforms_are_registered_by_entry_points() -> None:
    registry.platforms.cache_clear()
    found = registry.platforms()
    assert {"files", "quickbooks"} <= set(found) and all(isinstance(s, PlatformSpec) for s in found.values())
    assert registry.spec_of_tenant("quickbooks:1").name == "quickbooks"
    assert registry.spec_of_tenant("files:acme").name == "files" and not found["files"].scheduled
    assert set(registry.webhook_routes()) >= {"/webhooks/quickbooks"}


def test_a_new_platform_is_one_package_and_one_registration(env: Path, toy_installed: None) -> None:
    assert "toy" in registry.platforms()
    runner = CliRunner()
    listed = runner.invoke(cli, ["connect", "--help"])
    assert "toy" in listed.output and "quickbooks" in listed.output
    assert runner.invoke(cli, ["connect", "toy", "--company", "acme"]).exit_code == 0
    day = date(2026, 11, 24)  # a Tuesday
    toy_platform.INVOICES.append({"id": "T-1", "customer": "c1", "amount": "250.00",
                                  "due": (day - timedelta(days=5)).isoformat()})
    as_of = f"{day.isoformat()}T12:00:00+00:00"
    dry = runner.invoke(cli, ["run", "--tenant", "toy:acme", "--as-of", as_of, "--dry-run", "--format", "json"])
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.stdout)
    assert preview["platform"] == "toy" and preview["delivery"]["due"] == len(preview["actions"]) > 0
    assert toy_platform.DELIVERED == []  # a dry run never opens the deliverer
    ran = runner.invoke(cli, ["run", "--tenant", "toy:acme", "--as-of", as_of, "--format", "json"])
    outcome = json.loads(ran.stdout)
    assert outcome["delivery"]["delivered"] == len(toy_platform.DELIVERED) == preview["delivery"]["due"]
    assert toy_platform.DELIVERED[0]["item_ids"] == ["T-1"] and outcome["import"]["figures"]["invoices"]["records"]
    status = json.loads(runner.invoke(cli, ["status", "--format", "json"]).stdout)
    assert [(row["tenant"], row["platform"], row["outbox"]) for row in status] == [("toy:acme", "toy", {"sent": 1})]


def test_a_broken_registration_is_left_out_and_the_others_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    install(tmp_path / "site", monkeypatch, "broken", "broken = no_such_module:SPEC")
    try:
        assert "broken" not in registry.platforms() and "quickbooks" in registry.platforms()
        assert "broken" in caplog.text
    finally:
        registry.platforms.cache_clear()


def test_status_lists_ledgers_beside_connected_platforms(env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["run", "--demo", "--format", "json"]).exit_code == 0
    rows = json.loads(runner.invoke(cli, ["status", "--format", "json"]).stdout)
    (demo,) = rows
    assert demo["tenant"] == "files:demo" and demo["platform"] == "files" and demo["last_run"]["status"] == "done"
    assert demo["outbox"] and demo["bookmarks"]["ledger"]["digest"]
    table = runner.invoke(cli, ["status"])
    assert "files:demo" in table.stdout


def test_a_stored_ledger_is_planned_again_without_a_file(env: Path) -> None:
    runner = CliRunner()
    first = json.loads(runner.invoke(cli, ["run", "--demo", "--format", "json"]).stdout)
    again = runner.invoke(cli, ["run", "--tenant", "files:demo", "--as-of", "2026-11-24T10:00:00+00:00",
                                "--rate", "USD=0.92", "--rate", "MXN=0.05", "--rate", "COP=0.00023",
                                "--rate", "ARS=0.00095", "--format", "json"])
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert second["import"]["skipped"] and second["new_actions"] == 0 and len(second["actions"]) == len(
        first["actions"])
    missing = runner.invoke(cli, ["run", "--tenant", "files:nobody"])
    assert missing.exit_code == 5 and "no such ledger" in missing.output
