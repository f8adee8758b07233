"""Payment prediction on the command line: `backtest` (JSON shape, table, exit codes, the shared history through
its mapping) and what `run` gains (amount at risk, the worklist by it, the cash-in forecast)."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, shared_data

from connectors.cli import cli
from connectors.files.demo import DEMO_RATES


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ODOO_COLLECTIONS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ODOO_COLLECTIONS_STORE", raising=False)
    return CliRunner()


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """Two years of settled invoices of 20 customers, each with its own habit; disputes make them later."""
    rng = random.Random(3)
    lines = ["customer,invoice,invoice date,due date,amount,paid date,disputed,sent by"]
    for c in range(20):
        for n in range(24):
            issued = date(2024, 1, 1) + timedelta(days=30 * n + rng.randint(0, 20))
            due = issued + timedelta(days=30)
            disputed = rng.random() < 0.25
            paid = due + timedelta(days=(c % 5) * 5 - 8 + (12 if disputed else 0) + rng.randint(-3, 3))
            lines.append(f"C{c},F-{c}-{n},{issued},{due},{rng.randint(50, 900)}.00,{paid},"
                         f"{'yes' if disputed else 'no'},{rng.choice(['paper', 'email'])}")
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_json_gives_figures_and_one_explained_prediction_per_invoice(runner: CliRunner, ledger: Path) -> None:
    result = runner.invoke(cli, ["backtest", "--ledger", str(ledger), "--split", "2025-01-01", "--until",
                                 "2025-07-01", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"predictions", "auc", "mae_days", "brier", "trained_on", "measured"} <= set(payload)
    issued = [line.split(",")[2] for line in ledger.read_text().splitlines()[1:]]
    assert payload["predicted"] == len(payload["predictions"]) == sum("2025-01-01" <= d < "2025-07-01" for d in issued)
    assert payload["auc"] > 0.8 and 0 < payload["brier"] < 0.25 and payload["mae_days"] < 8
    first = payload["predictions"][0]
    assert {"invoice_number", "customer_id", "late_probability", "expected_payment_date", "explanation"} <= set(first)
    assert 0.0 <= first["late_probability"] <= 1.0
    date.fromisoformat(first["expected_payment_date"])
    reasons = first["explanation"]["late"]
    assert sum(r["contribution"] for r in reasons) == pytest.approx(first["explanation"]["logit"], abs=0.01)
    assert {"disputed", "paper", "customer_share_late"} <= {r["code"] for r in reasons}


def test_table_output(runner: CliRunner, ledger: Path) -> None:
    result = runner.invoke(cli, ["backtest", "--ledger", str(ledger), "--split", "2025-01-01", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "ROC AUC" in result.stdout and "most likely late first" in result.stdout
    assert "more (--limit 0" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["--split", "2025-13-01"], 2, "'2025-13-01' is not a date (YYYY-MM-DD)"),
        (["--split", "soon"], 2, "is not a date"),
        (["--split", "2025-01-01", "--until", "2024-06-01"], 2, "is not after the split"),
        (["--split", "2030-01-01"], 5, "no invoice was issued from 2030-01-01: nothing to predict"),
        (["--split", "2024-01-01"], 5, "no history to learn from on 2023-12-31"),
    ],
)
def test_bad_splits_exit_with_a_message_and_no_traceback(
    runner: CliRunner, ledger: Path, arguments: list[str], code: int, message: str
) -> None:
    result = runner.invoke(cli, ["backtest", "--ledger", str(ledger), *arguments])
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_missing_split_or_an_unreadable_ledger(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(cli, ["backtest", "--ledger", str(tmp_path)]).exit_code == 2
    binary = tmp_path / "ledger.csv"
    binary.write_bytes(b"\x00\x01\x02garbage")
    result = runner.invoke(cli, ["backtest", "--ledger", str(binary), "--split", "2025-01-01"])
    assert result.exit_code == 5 and "Traceback" not in result.output


def test_the_shared_history_through_its_mapping_reaches_the_targets(runner: CliRunner) -> None:
    data = shared_data("ar-late-payments", "late_payment_histories.csv")
    if not data.exists():
        pytest.skip(f"shared data set ar-late-payments not found at {data}: this test needs ../shared/data")
    mapping = REPO / "docs" / "examples" / "mapping-ibm-late-payments.json"
    result = runner.invoke(cli, ["backtest", "--ledger", str(data), "--mapping", str(mapping), "--split", "2013-01-01",
                                 "--currency", "USD", "--format", "json"], catch_exceptions=False)
    payload = json.loads(result.stdout)
    assert payload["measured"] == 1189 and payload["auc"] >= 0.90 and payload["mae_days"] <= 6.0
    codes = {r["code"] for r in payload["predictions"][0]["explanation"]["late"]}
    assert {"disputed", "paper"} <= codes  # Disputed and PaperlessBill reach the model through the mapping


# --------------------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------------------


def run_json(runner: CliRunner, *args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(cli, ["run", *args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_run_predicts_every_open_item_and_forecasts_the_cash_in_by_week(runner: CliRunner) -> None:
    payload = run_json(runner, "--demo", "--dry-run", "--order-by", "at-risk")
    forecast = payload["cash_in_forecast"]
    assert payload["prediction_note"] is None and forecast["currency"] == "EUR"
    weeks = forecast["weeks"]
    assert len(weeks) == 13 and weeks[0]["week_start"] == "2026-11-23"  # the Monday of the run's week
    predictions = payload["predictions"]
    assert sum(w["items"] for w in weeks) + forecast["later"]["items"] == len(predictions) > 100
    total = sum(float(w["amount"]) for w in weeks) + float(forecast["later"]["amount"])
    in_euros = sum(float(p["open_amount"]) * float(DEMO_RATES.get(p["currency"], 1)) for p in predictions)
    assert total == pytest.approx(in_euros, abs=0.01 * len(weeks))
    assert all(p["expected_payment_date"] > "2026-11-23" for p in predictions)  # never before the run's day
    late = [p for p in predictions if p["explanation"]["logit"] is None]
    assert late and all(p["late_probability"] == 1.0 for p in late)
    at_risk = [float(a["amount_at_risk"]) for a in payload["actions"]]
    assert at_risk == sorted(at_risk, reverse=True)
    pre_due = [a for a in payload["actions"] if a["level"] == "pre_due"]
    assert pre_due and all(float(a["amount_at_risk"]) < float(a["amount_due"]) for a in pre_due)


def test_run_table_shows_the_amount_at_risk_and_the_forecast(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "--demo", "--dry-run", "--order-by", "at-risk", "--limit", "3"],
                           catch_exceptions=False)
    assert result.exit_code == 0
    assert "at risk" in result.stdout and "largest amount at risk first" in result.stdout
    assert "Cash-in forecast (EUR)" in result.stdout and "later" in result.stdout


def test_run_without_prediction_or_without_history_to_learn_from(runner: CliRunner, tmp_path: Path) -> None:
    skipped = run_json(runner, "--demo", "--dry-run", "--no-prediction")
    assert skipped["cash_in_forecast"] is None and skipped["predictions"] == []
    assert all(a["amount_at_risk"] is None for a in skipped["actions"])
    refused = runner.invoke(cli, ["run", "--demo", "--dry-run", "--no-prediction", "--order-by", "at-risk"])
    assert refused.exit_code == 2 and "needs payment prediction" in refused.output
    fresh = tmp_path / "ledger.csv"
    fresh.write_text("customer,invoice,due date,amount\nA,1,2026-10-01,100\nA,2,2026-12-01,100\n", encoding="utf-8")
    payload = run_json(runner, "--ledger", str(fresh), "--as-of", "2026-11-24", "--dry-run")
    assert payload["cash_in_forecast"] is None and "no history to learn from" in payload["prediction_note"]
    table = runner.invoke(cli, ["run", "--ledger", str(fresh), "--as-of", "2026-11-24", "--dry-run"])
    assert table.exit_code == 0 and "No payment prediction: no history to learn from" in table.stdout
