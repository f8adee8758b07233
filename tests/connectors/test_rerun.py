"""A rerun with nothing changed shows the last run's outcome (connectors.common.runcache), and anything a decision
depends on makes the next run plan again.

Every test runs `run` through click on a real SQLite store; a run that reused the last one says ``reuse=`` in its
``--timings``. What a reused run prints is compared with what ``--recompute`` (the same run, planned again) prints:
the table, ``--all``, and JSON.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from collections_engine.defaults import default_policy_document
from connectors.cli import cli
from connectors.common.store import Store

LEDGER = """customer_id,customer_name,email,country,invoice_number,invoice_date,due_date,amount,paid_amount,currency
A,Alfa Industrial SL,a@alfa.example,ES,F-1,2026-09-01,2026-10-20,1000.00,0,EUR
A,Alfa Industrial SL,a@alfa.example,ES,F-2,2026-10-01,2026-11-14,500.00,0,EUR
B,Beta Comercial SA,b@beta.example,ES,F-3,2026-10-10,2026-11-19,800.00,0,EUR
C,Gamma Textil SL,c@gamma.example,ES,F-4,2026-08-10,2026-10-20,2000.00,0,USD
D,Delta Foods SL,d@delta.example,ES,F-5,2026-08-10,2026-12-10,1200.00,0,EUR
"""
TENANT = "files:acme"
AS_OF = "2026-11-24T10:00:00+00:00"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ODOO_COLLECTIONS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ODOO_COLLECTIONS_STORE", raising=False)
    return tmp_path / "home"


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER, encoding="utf-8")
    return path


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(default_policy_document()), encoding="utf-8")
    return path


def run(ledger: Path, policy: Path, *extra: str, as_of: str = AS_OF) -> tuple[str, bool]:
    """`run` on the ledger file: what it printed, and whether it reused the last run's outcome."""
    args = ["run", "--ledger", str(ledger), "--tenant", TENANT, "--policy", str(policy), "--as-of", as_of,
            "--rate", "USD=0.9", "--timings", *extra]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, "reuse=" in result.stderr


def assert_reused_as_planned(ledger: Path, policy: Path, *extra: str, as_of: str = AS_OF) -> None:
    """A rerun reuses the last run and prints what planning again prints (table, --all, JSON)."""
    for shown in ((), ("--all", "--limit", "0"), ("--format", "json")):
        reused, was_reused = run(ledger, policy, *extra, *shown, as_of=as_of)
        planned, was_planned = run(ledger, policy, *extra, *shown, "--recompute", as_of=as_of)
        assert was_reused and not was_planned
        assert reused == planned


def test_a_rerun_with_nothing_changed_prints_what_planning_again_prints(home: Path, ledger: Path, policy: Path) -> None:
    first, reused = run(ledger, policy)
    assert not reused and "Worklist for 2026-11-24 10:00 UTC: 1 new of 1 action" in first
    again, reused = run(ledger, policy)
    assert reused and "0 new of 1 action planned today" in again  # what is new: nothing
    assert_reused_as_planned(ledger, policy)
    every, _ = run(ledger, policy, "--all")
    assert "Beta Comercial SA (B)" in every and "Beta Comercial SA (B)" not in again


def _second_run_reuses(ledger: Path, policy: Path) -> None:
    run(ledger, policy)
    assert run(ledger, policy)[1]


def test_one_changed_cell_of_the_ledger_plans_again(home: Path, ledger: Path, policy: Path) -> None:
    _second_run_reuses(ledger, policy)
    ledger.write_text(LEDGER.replace("800.00,0,EUR", "800.00,300.00,EUR"), encoding="utf-8")
    changed, reused = run(ledger, policy, "--format", "json")
    assert not reused
    assert {a["customer_id"]: a["amount_due"] for a in json.loads(changed)["actions"]}["B"] == "500.00"
    assert_reused_as_planned(ledger, policy)


def test_a_promise_recorded_from_the_command_line_plans_again(home: Path, ledger: Path, policy: Path) -> None:
    _second_run_reuses(ledger, policy)
    result = CliRunner().invoke(cli, ["promise", "add", "B", "--tenant", TENANT, "--amount", "800", "--date",
                                      "2026-11-30", "--as-of", "2026-11-24", "--policy", str(policy)])
    assert result.exit_code == 0, result.output
    after, reused = run(ledger, policy, "--format", "json", "--all")
    assert not reused
    assert not [a for a in json.loads(after)["actions"] if a["customer_id"] == "B"]  # the promise paused B
    assert_reused_as_planned(ledger, policy)


def test_bank_details_added_plan_again(home: Path, ledger: Path, policy: Path) -> None:
    _second_run_reuses(ledger, policy)
    result = CliRunner().invoke(cli, ["bank", "set", "--tenant", TENANT, "--currency", "EUR", "--holder", "Acme SL",
                                      "--bank-name", "CaixaBank", "--iban", "ES91 2100 0418 4502 0005 1332"])
    assert result.exit_code == 0, result.output
    after, reused = run(ledger, policy, "--format", "json")
    assert not reused and json.loads(after)["bank_accounts"]


def test_a_policy_edit_plans_again(home: Path, ledger: Path, policy: Path) -> None:
    _second_run_reuses(ledger, policy)
    document = default_policy_document()
    document["name"] = "edited"
    policy.write_text(json.dumps(document), encoding="utf-8")
    assert not run(ledger, policy)[1]
    assert_reused_as_planned(ledger, policy)


@pytest.mark.parametrize("as_of", ["2026-11-25T10:00:00+00:00", "2026-11-24T16:00:00+00:00"])
def test_another_day_or_moment_plans_again(home: Path, ledger: Path, policy: Path, as_of: str) -> None:
    _second_run_reuses(ledger, policy)
    assert not run(ledger, policy, as_of=as_of)[1]
    assert_reused_as_planned(ledger, policy, as_of=as_of)


def test_other_rates_or_grouping_plan_again(home: Path, ledger: Path, policy: Path) -> None:
    _second_run_reuses(ledger, policy)
    assert not run(ledger, policy, "--rate", "USD=0.8")[1]
    assert not run(ledger, policy, "--group-by", "collector")[1]
    assert not run(ledger, policy, "--no-prediction")[1]


def test_a_dry_run_neither_reuses_nor_is_kept(home: Path, ledger: Path, policy: Path) -> None:
    dry, reused = run(ledger, policy, "--dry-run")
    assert not reused and "1 would be new (dry run)" in dry
    assert not (home / "run-cache").exists()  # nothing kept: a dry run recorded nothing
    assert not run(ledger, policy)[1]  # so the first real run plans (and records)
    kept = {path.name: path.read_bytes() for path in (home / "run-cache").iterdir()}
    dry, reused = run(ledger, policy, "--dry-run")
    assert not reused and "0 would be new (dry run)" in dry
    assert {path.name: path.read_bytes() for path in (home / "run-cache").iterdir()} == kept
    assert run(ledger, policy)[1]


def test_the_store_revision_counts_writes_that_change_decisions_only(home: Path, ledger: Path, policy: Path) -> None:
    run(ledger, policy)
    store = Store(f"sqlite:///{home / 'store.db'}")
    identity, revision = store.revision()
    store.tenants.set_setting_once("unrelated", "x")
    store.runs.finish_run(store.runs.start_run(TENANT, "run", datetime.now(timezone.utc)), "done", {})
    assert store.revision() == (identity, revision)  # bookkeeping: no decision depends on it
    store.ledger.save_pay_links(TENANT, {"F-1": "https://pay.example/F-1"})
    assert store.revision() == (identity, revision + 1)
    other = Store(f"sqlite:///{home / 'other.db'}")
    other.migrate()
    assert other.revision()[0] != identity  # a new store is never mistaken for an old one with as many writes


def test_a_rerun_shows_the_credit_holds_without_reading_the_last_run_s_detail(
    home: Path, ledger: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hold table is part of what a rerun prints by default: it is kept with the figures, so a rerun at a
    million items does not read every decision back to show it (the detail is read only for --all or JSON)."""
    document = json.loads(policy.read_text(encoding="utf-8"))
    document["credit_hold"] = {"rules": [{"overdue_days": 30}]}
    policy.write_text(json.dumps(document), encoding="utf-8")
    first, _ = run(ledger, policy)
    assert "Alfa Industrial SL (A)" in first.split("Credit hold")[1].split("└")[0]
    from connectors.common.runcache import RunCache

    def unread(*_args: object) -> None:
        raise AssertionError("a plain rerun read the last run's detail")

    with monkeypatch.context() as patched:
        patched.setattr(RunCache, "load_detail", unread)
        again, reused = run(ledger, policy)
    def holds(printed: str) -> str:
        return printed.split("Credit hold")[1].split("└")[0]

    assert reused and holds(again) == holds(first)
    assert_reused_as_planned(ledger, policy)


def test_outcomes_nobody_used_for_a_month_are_removed_when_a_run_keeps_its_own(
    home: Path, ledger: Path, policy: Path
) -> None:
    """A store that was deleted or moved leaves its last outcome behind (over 100 MB at a million items): the
    next run that keeps an outcome removes every entry no run wrote nor read for 30 days; a used one stays."""
    import os
    import time

    run(ledger, policy)
    folder = home / "run-cache"
    kept = sorted(folder.glob("*.pickle"))
    assert len(kept) == 2  # figures and detail
    stale = [folder / "0123.figures.pickle", folder / "0123.detail.pickle", folder / "0456.figures.1234.part"]
    month_ago = time.time() - 31 * 86_400
    for path in stale:
        path.write_bytes(b"x" * 64)
        os.utime(path, (month_ago, month_ago))
    for path in kept:  # old, but read again by the rerun below: in use
        os.utime(path, (month_ago, month_ago))
    assert run(ledger, policy)[1]  # reused: reading its figures refreshes the entry, detail included
    other = ledger.with_name("other.csv")
    other.write_text(ledger.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--ledger", str(other), "--tenant", "files:other", "--policy",
                                      str(policy), "--as-of", AS_OF, "--rate", "USD=0.9"], catch_exceptions=False)
    assert result.exit_code == 0, result.output  # another tenant keeps its outcome: prunes
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept) and len(list(folder.glob("*.pickle"))) == 4
