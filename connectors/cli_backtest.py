"""`odoo-collections backtest`: how well payment prediction would have done on a ledger's own history.

Reads a ledger file (no store is written), trains on what was settled before ``--split`` and predicts every
invoice issued on or after it (before ``--until``), then compares with what happened: ROC AUC and Brier score
of "paid late", mean absolute error of the payment date.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from collections_engine.errors import InputError
from collections_engine.prediction import (
    ItemPrediction,
    PaymentBacktest,
    PaymentModel,
    PredictionSettings,
    backtest_payments,
    explanation,
)
from collections_engine.types import History, Portfolio

from .cli_common import EXIT_INPUT, CliFailure, console, err_console, failure, load_policy
from .common.errors import ConnectorError
from .files.mappers import MappedLedger
from .files.settings import FileSettings
from .files.streams import read_ledger


def register(cli: click.Group) -> None:
    """Add the `backtest` command to the command line."""
    cli.add_command(backtest)


def _day(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=f"--{param.name}") from None


@click.command()
@click.option("--ledger", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or XLSX ledger with settled invoices (settlement dates).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Column mapping (JSON).")
@click.option("--split", required=True, callback=_day, help="Train on what was settled before this date (YYYY-MM-DD).")
@click.option("--until", callback=_day, help="Predict the invoices issued before this date (default: all after).")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Policy whose risk settings say what is late (tolerance) and how far back history counts.")
@click.option("--currency", default="EUR", show_default=True, help="Company currency of the ledger.")
@click.option("--platt", is_flag=True, help="Calibrate the probabilities by Platt scaling on a time-ordered holdout.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--limit", type=int, default=20, show_default=True, help="Rows of the predictions table (0: all).")
def backtest(
    ledger: Path,
    mapping: Path | None,
    split: date,
    until: date | None,
    policy_path: Path | None,
    currency: str,
    platt: bool,
    output_format: str,
    limit: int,
) -> None:
    """Back-test payment prediction on a ledger's history: train on what was settled before --split, predict
    every invoice issued from it, and measure AUC, Brier score and the payment date's mean absolute error."""
    if until is not None and until <= split:
        raise click.BadParameter(f"{until} is not after the split {split}", param_hint="--until")
    settings = replace(PredictionSettings.from_policy(load_policy(policy_path)), platt=platt)
    read = _read(ledger, mapping, currency.upper())
    book = Portfolio(company_currency=currency.upper(), customers=tuple(read.customers), items=tuple(read.items),
                     payments=tuple(read.payments))
    if not any(i.issue_date >= split and (until is None or i.issue_date < until) for i in book.items):
        window = f"from {split}" + (f" to {until}" if until else "")
        raise CliFailure(f"{ledger.name}: no invoice was issued {window}: nothing to predict", EXIT_INPUT)
    try:
        result = backtest_payments(book, History(), split, until, settings)
    except InputError as err:
        raise CliFailure(f"{ledger.name}: {err}", EXIT_INPUT) from err
    if read.problems:
        err_console.print(f"[yellow]{len(read.problems)} rows of {ledger.name} were not loaded "
                          f"(run `odoo-collections run --ledger ... --dry-run` to see them)[/yellow]")
    payload = backtest_json(result, book, read)
    if output_format == "json":
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print_backtest(payload, limit)


def _read(ledger: Path, mapping: Path | None, currency: str) -> MappedLedger:
    settings = FileSettings(path=ledger, tenant="files:backtest", mapping_path=mapping, company_currency=currency)
    try:
        return read_ledger(settings)
    except OSError as err:
        raise CliFailure(f"cannot read {err.filename or ledger}: {err.strerror or err}", EXIT_INPUT) from err
    except ConnectorError as err:
        raise failure(err) from err


def backtest_json(result: PaymentBacktest, book: Portfolio, read: MappedLedger) -> dict[str, Any]:
    """The back-test as plain data: figures first, then one entry per predicted invoice."""
    settled = {item.id: item.settled_on for item in book.items}
    model = result.model
    return {
        "split": result.split.isoformat(),
        "until": result.until.isoformat() if result.until else None,
        "rows_read": read.rows_read,
        "rows_rejected": len(read.problems),
        "trained_on": model.training_items,
        "calibration": "platt" if model.holdout_items else "none",
        "predicted": len(result.predictions),
        "measured": result.settled,
        "late_share": _rounded(result.late_share, 4),
        "auc": _rounded(result.auc, 4),
        "mae_days": _rounded(result.mae_days, 3),
        "brier": _rounded(result.brier, 4),
        "predictions": [_prediction_json(model, p, settled.get(p.item_id)) for p in result.predictions],
    }


def _prediction_json(model: PaymentModel, prediction: ItemPrediction, settled_on: date | None) -> dict[str, Any]:
    return {
        "invoice_number": prediction.invoice_ref,
        "item_id": prediction.item_id,
        "customer_id": prediction.customer_id,
        "due_date": prediction.due_date.isoformat(),
        "late_probability": round(prediction.late_probability, 4),
        "expected_payment_date": prediction.expected_payment_date.isoformat(),
        "actual_payment_date": settled_on.isoformat() if settled_on else None,
        "explanation": explanation(model, prediction),
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def print_backtest(payload: dict[str, Any], limit: int) -> None:
    """The figures, then the predictions most likely late first, each with its three largest reasons."""
    out = console()
    until = payload["until"] or "the end of the ledger"
    out.print(
        f"Trained on {payload['trained_on']} invoices with a known outcome before {payload['split']}; predicted "
        f"{payload['predicted']} issued from {payload['split']} to {until}, {payload['measured']} of them settled."
    )
    out.print(f"ROC AUC {_shown(payload['auc'])}   Brier {_shown(payload['brier'])}   "
              f"payment date MAE {_shown(payload['mae_days'])} days   late share {_shown(payload['late_share'])}")
    rows = sorted(payload["predictions"], key=lambda p: (-p["late_probability"], p["invoice_number"]))
    table = Table(title="Predictions (most likely late first)")
    for column in ("invoice", "customer", "due", "late prob.", "expected", "actual", "largest reasons"):
        table.add_column(column, overflow="fold", justify="right" if column == "late prob." else "left")
    for entry in rows[: limit or None]:
        reasons = [r for r in entry["explanation"]["late"] if r["code"] != "baseline"][:3]
        table.add_row(
            entry["invoice_number"], entry["customer_id"], entry["due_date"], f"{entry['late_probability']:.2f}",
            entry["expected_payment_date"], entry["actual_payment_date"] or "—",
            ", ".join(_reason(r) for r in reasons),
        )
    out.print(table)
    if limit and len(rows) > limit:
        out.print(f"... {len(rows) - limit} more (--limit 0 shows all, --format json gives every reason)")


def _shown(value: float | None) -> str:
    return "—" if value is None else f"{value}"


def _reason(reason: dict[str, Any]) -> str:
    value = "" if reason["value"] is None else f"={reason['value']:.3g}"
    contribution = reason["contribution"]
    return f"{reason['code']}{value} ({contribution:+.2f})" if contribution is not None else reason["code"]
