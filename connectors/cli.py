"""The `odoo-collections` command.

``run`` is the main job for every source: a ledger file (``--ledger``, ``--demo``), a stored
ledger or a connected platform (``--tenant``), through one pipeline (``connectors.pipeline``):
sync, plan, deliver. Exit codes: see ``connectors.cli_common`` (0 success; 2 usage; 3 invalid
policy; 4 rows not loaded with ``--strict``; 5 input error; 6 not connected; 7 platform failed;
8 another run holds the tenant; 9 refused by the policy). ``promise``, ``plan``, ``call`` and ``bank`` record
what happens outside the platform (``connectors.cli_outcomes``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from time import perf_counter
from typing import Any

import click
from rich.table import Table

from collections_engine.decisions import CreditHold
from collections_engine.defaults import default_policy_document
from collections_engine.errors import InputError, PolicyError
from collections_engine.experiments import ExperimentReport, experiment_results, observe_experiment
from collections_engine.kpis import GROUPINGS
from collections_engine.policy import Policy, policy_from_json, policy_to_json
from collections_engine.prediction import explanation
from collections_engine.sample_size import SampleSizePlan, experiment_sample_size

from .cli_backtest import register as register_backtest_command
from .cli_common import (
    DEFAULT_TENANT_SETTING,
    EXIT_BAD_ROWS,
    EXIT_INPUT,
    EXIT_LOCKED,
    EXIT_POLICY,
    CliFailure,
    check_output_path,
    console,
    err_console,
    failure,
    load_policy,
    now_utc,
    open_runtime,
    parse_as_of,
    parse_rates,
    progress_bar,
    read_policy_text,
)
from .cli_mapping import register as register_mapping_commands
from .cli_outcomes import register as register_outcome_commands
from .cli_output import (
    CLOSED_SHOWN,
    customers_pay_details,
    how_to_pay,
    ordered_actions,
    print_delivery,
    print_outcome,
    recognised_report,
)
from .cli_platforms import register as register_platform_commands
from .common.contract import Platform
from .common.errors import ConnectorError, LockedError
from .common.runtime import Runtime
from .common.serialize import to_jsonable
from .common.store import Store
from .files.demo import DEMO_ANCHOR, DEMO_LEDGER, DEMO_RATES
from .files.platform import LedgerPlatform
from .files.settings import DEFAULT_MAX_CLOSING_SHARE, FileSettings
from .pipeline import RunOptions, RunOutcome, run_tenant
from .registry import open_platform
from .report import render_html_report

log = logging.getLogger("odoo_collections")


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


@click.group()
@click.option("--store", "store_url", envvar="ODOO_COLLECTIONS_STORE", help="SQLAlchemy URL of the store.")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens on stderr.")
@click.pass_context
def cli(ctx: click.Context, store_url: str | None, verbose: bool) -> None:
    """Collections management: plan today's follow-ups from a ledger or a connected accounting platform."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = {"store_url": store_url}


def ledger_tenant(store: Store, option: str | None, demo: bool, dry_run: bool) -> str:
    """The ledger's name in the store: the company, never the file (a renamed export is the same ledger).

    ``--tenant`` (``files:`` added when missing) wins; otherwise the store's default, which the first run
    records: the only ledger an older version named after its file, or ``files:default``.
    """
    if demo:
        return _tenant_name(option) if option else "files:demo"
    if option:
        if not dry_run:
            store.tenants.set_setting_once(DEFAULT_TENANT_SETTING, _tenant_name(option))
        return _tenant_name(option)
    stored = store.tenants.setting(DEFAULT_TENANT_SETTING)
    if stored:
        return stored
    first = _first_default(store)
    return first if dry_run else store.tenants.set_setting_once(DEFAULT_TENANT_SETTING, first)


def _tenant_name(option: str) -> str:
    tenant = option if option.startswith("files:") else f"files:{option}"
    if not re.fullmatch(r"files:[\w.@-]{1,100}", tenant):
        raise click.BadParameter(f"{option!r}: expected files:NAME (letters, digits, . _ - @)", param_hint="--tenant")
    return tenant


def _first_default(store: Store) -> str:
    legacy = [t for t in store.ledger.tenants() if t.startswith("files:") and t != "files:demo"]
    if len(legacy) > 1:
        raise click.UsageError(
            f"this store holds several ledgers ({', '.join(legacy[:10])}); name the company's with "
            "--tenant files:NAME once and later runs will use it"
        )
    return legacy[0] if legacy else "files:default"


def _is_ledger_name(tenant: str) -> bool:
    return tenant.startswith("files:") or ":" not in tenant


@cli.command()
@click.option("--ledger", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CSV or XLSX ledger.")
@click.option("--demo", is_flag=True, help="Use the demo ledger shipped with the package.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Column mapping (JSON).")
@click.option(
    "--tenant",
    help="A connected platform's tenant (quickbooks:REALM...), or the company's ledger in the store, files:NAME "
    "(with --ledger: default the store's default ledger, recorded by the first run, files:default; without: plan "
    "the stored ledger again).",
)
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of_text", help="Date (YYYY-MM-DD) or ISO datetime to plan for; default now.")
@click.option("--currency", help="Company currency of a ledger (default: the stored ledger's, else EUR).")
@click.option("--rate", "rates", multiple=True, help="Exchange rate CODE=VALUE (1 unit in company currency).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report.")
@click.option("--worklist", type=click.Path(dir_okay=False, path_type=Path),
              help="A ledger's delivery: write the due actions to this CSV (or .json) file.")
@click.option("--group-by", type=click.Choice(GROUPINGS), help="KPIs per collector, risk category or variant.")
@click.option("--dry-run", is_flag=True,
              help="Sync and plan, but record nothing and deliver nothing (no write to any platform or customer).")
@click.option("--no-sync", is_flag=True, help="Plan what the store holds, without syncing the platform first.")
@click.option("--full", is_flag=True, help="A connected platform: read everything again, not only the changes.")
@click.option("--strict", is_flag=True, help="Exit with code 4 when some rows or records could not be loaded.")
@click.option("--allow-closing", is_flag=True, help="Accept a file that closes more open items than --max-closing.")
@click.option(
    "--max-closing",
    type=click.FloatRange(0, 100),
    default=DEFAULT_MAX_CLOSING_SHARE * 100,
    show_default=True,
    help="Refuse (exit 5) a file that would close more than this % of the ledger's open items.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="Rows of the worklist table (0: all).")
@click.option("--all", "show_all", is_flag=True,
              help="The worklist table lists every action planned today, not only the new ones.")
@click.option("--lang", type=click.Choice(["en", "es"]), default="en", show_default=True,
              help="Language of the terminal tables and of the HTML report (captions, reasons, numbers, dates).")
@click.option("--timings", is_flag=True,
              help="Print the seconds each phase took to stderr (sync, plan, kpis, deliver, output, total).")
@click.option("--order-by", type=click.Choice(["amount", "at-risk"]), default="amount", show_default=True,
              help="Order of the worklist: amount due, or amount at risk (late probability x open amount).")
@click.option("--no-prediction", is_flag=True,
              help="Skip payment prediction (late probabilities, amount at risk, cash-in forecast).")
@click.option("--recompute", is_flag=True,
              help="Plan again even when nothing changed since the last run with the same --as-of (whose outcome "
              "a run otherwise shows again, in seconds).")
@click.pass_context
def run(
    ctx: click.Context,
    ledger: Path | None,
    demo: bool,
    mapping: Path | None,
    tenant: str | None,
    policy_path: Path | None,
    as_of_text: str | None,
    currency: str | None,
    rates: Sequence[str],
    output_format: str,
    report_path: Path | None,
    worklist: Path | None,
    group_by: str | None,
    dry_run: bool,
    no_sync: bool,
    full: bool,
    strict: bool,
    allow_closing: bool,
    max_closing: float,
    limit: int,
    show_all: bool,
    lang: str,
    timings: bool,
    order_by: str,
    no_prediction: bool,
    recompute: bool,
) -> None:
    """Sync (import a ledger, or read a connected platform), plan today's actions, deliver the due ones, and
    print the worklist, the aging and the KPIs."""
    started = perf_counter()
    if ledger and demo:
        raise click.UsageError("give either --ledger FILE or --demo, not both")
    if not (ledger or demo or tenant):
        raise click.UsageError("give --ledger FILE, --demo, or --tenant (a connected platform's or a stored ledger)")
    if mapping and not ledger:
        raise click.UsageError("--mapping goes with --ledger FILE")
    if no_prediction and order_by == "at-risk":
        raise click.UsageError("--order-by at-risk needs payment prediction: drop --no-prediction")
    check_output_path("--report", report_path)
    check_output_path("--worklist", worklist)
    policy = load_policy(policy_path)
    runtime = open_runtime(ctx)
    source = FileSettings(
        path=DEMO_LEDGER if demo else ledger,
        tenant="files:pending",
        mapping_path=mapping,
        allow_closing=allow_closing,
        max_closing_share=max_closing / 100,
        worklist=worklist,
    )
    platform = run_source(runtime, source, tenant, currency, demo=demo, dry_run=dry_run)
    as_of = parse_as_of(as_of_text, datetime.combine(DEMO_ANCHOR, time(10, 0), timezone.utc) if demo else now_utc())
    rate_map = {**(DEMO_RATES if demo else {}), **parse_rates(rates)}
    options = RunOptions(dry_run=dry_run, sync=not no_sync, full=full, group_by=group_by, predict=not no_prediction,
                         reuse=not recompute)
    outcome = execute(runtime, platform, policy, as_of, rate_map, options, show_progress=output_format == "table")
    if report_path is not None:
        write_report(report_path, outcome, policy, lang)
    if output_format == "json":
        click.echo(json.dumps(outcome_json(outcome, order_by), indent=2, ensure_ascii=False))
    else:
        print_outcome(outcome, limit, show_all, order_by, lang)
    if timings:
        total = perf_counter() - started
        laps = {**outcome.timings, "output": round(total - sum(outcome.timings.values()), 3), "total": round(total, 3)}
        click.echo("timings (s): " + " ".join(f"{name}={seconds:.3f}" for name, seconds in laps.items()), err=True)
    problems = outcome.sync.problems if outcome.sync else []
    if strict and problems:
        raise CliFailure(f"{len(problems)} rows or records could not be loaded", EXIT_BAD_ROWS)
    report = recognised_report(outcome)
    if strict and report and report["total_mismatch"]:
        raise CliFailure("the report's rows do not add up to its total row", EXIT_BAD_ROWS)


@cli.command()
@click.option("--tenant", required=True, help="A connected platform's tenant, or a stored ledger (files:NAME).")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of_text", help="Date (YYYY-MM-DD) or ISO datetime to plan for; default now.")
@click.option("--dry-run", is_flag=True, help="Plan, but record nothing and deliver nothing.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def act(
    ctx: click.Context, tenant: str, policy_path: Path | None, as_of_text: str | None, dry_run: bool,
    output_format: str,
) -> None:
    """Plan what the store holds and deliver the due actions, without syncing first (`run --no-sync`)."""
    policy = load_policy(policy_path)
    runtime = open_runtime(ctx)
    platform = run_source(runtime, FileSettings(path=None, tenant="files:pending"), tenant, None, demo=False,
                          dry_run=dry_run)
    as_of = parse_as_of(as_of_text, now_utc())
    outcome = execute(runtime, platform, policy, as_of, {}, RunOptions(dry_run=dry_run, sync=False),
                      show_progress=False)
    summary = outcome.summary()
    if output_format == "json":
        click.echo(json.dumps(summary, indent=2))
    else:
        print_delivery(console(), outcome)
        click.echo(f"{summary['actions_planned']} actions planned, {summary['actions_new']} newly recorded")


def run_source(
    runtime: Runtime, source: FileSettings, tenant: str | None, currency: str | None, *, demo: bool, dry_run: bool
) -> Platform:
    """The platform a run reads: the given file, a stored ledger, or a connected tenant."""
    store = runtime.store
    if source.path is not None or (tenant and _is_ledger_name(tenant)):
        name = ledger_tenant(store, tenant, demo, dry_run) if source.path is not None else _tenant_name(tenant or "")
        record = store.tenants.tenant_record(name)
        if source.path is None and record is None and name not in store.ledger.tenants():
            raise CliFailure(f"{name}: no such ledger in the store; give the file with --ledger FILE", EXIT_INPUT)
        stored = str(record["settings"].get("company_currency") or "") if record else ""
        chosen = (currency or stored or "EUR").upper()
        if not re.fullmatch(r"[A-Z]{3}", chosen):
            raise click.BadParameter(f"{currency!r} is not an ISO 4217 code such as EUR", param_hint="--currency")
        return LedgerPlatform(replace(source, tenant=name, company_currency=chosen))
    assert tenant is not None
    if source.worklist is not None or source.allow_closing:
        raise click.UsageError("--worklist and --allow-closing go with a ledger, not with a connected platform")
    try:
        return open_platform(runtime, tenant)
    except ConnectorError as err:
        raise failure(err) from err


def execute(
    runtime: Runtime,
    platform: Platform,
    policy: Policy,
    as_of: datetime,
    rates: dict[str, Decimal],
    options: RunOptions,
    *,
    show_progress: bool,
) -> RunOutcome:
    """Run the pipeline; every failure becomes a message and its exit code."""
    tenant = platform.settings.tenant
    with progress_bar(show_progress and sys.stderr.isatty(), "syncing") as progress:
        try:
            return run_tenant(runtime, platform, policy, as_of, rates, replace(options, on_progress=progress))
        except LockedError as err:
            raise CliFailure(f"another run is busy with {tenant}: try again when it has finished", EXIT_LOCKED) from err
        except OSError as err:
            raise CliFailure(f"cannot read {err.filename or 'the file'}: {err.strerror or err}", EXIT_INPUT) from err
        except InputError as err:
            raise CliFailure(str(err), EXIT_INPUT) from err
        except ConnectorError as err:
            raise failure(err) from err


def write_report(path: Path, outcome: RunOutcome, policy: Policy, lang: str = "en") -> None:
    """Write the HTML report of a run, titled with the company's name, in English or Spanish."""
    customers = {c.id: c for c in outcome.customers}
    html = render_html_report(outcome.decisions, outcome.aging, outcome.kpis, policy, customers,
                              title=outcome.company or outcome.tenant, lang=lang,
                              payments=customers_pay_details(outcome), outlook=outcome.outlook,
                              outlook_note=outcome.outlook_note)
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as err:
        raise CliFailure(f"--report {path}: cannot write it ({err.strerror or err})", EXIT_INPUT) from err
    err_console.print(f"report written to {path}")


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def outcome_json(outcome: RunOutcome, order_by: str = "amount") -> dict[str, Any]:
    """Return the machine-readable result of a run."""
    sync = outcome.sync
    closed = sync.closed_items if sync else []
    names = {c.id: c.name for c in outcome.customers}
    outlook = outcome.outlook
    planned = outcome.decisions.actions()
    return {
        "tenant": outcome.tenant,
        "platform": outcome.platform,
        "as_of": outcome.as_of.isoformat(),
        "import": {
            "skipped": sync.skipped if sync else True,
            "rows_read": sync.figures.get("rows_read", 0) if sync else 0,
            "api_calls": sync.api_calls if sync else 0,
            "figures": sync.figures if sync else {},
            "problems": sync.problems if sync else [],
            "closed": len(closed),
            "closed_items": closed[:CLOSED_SHOWN],
            "closing_withheld": sync.closing_withheld if sync else None,
            **{k: v for k, v in (sync.details if sync else {}).items() if k != "report"},
        },
        "report": recognised_report(outcome),
        "actions": [
            {**to_jsonable(action), "customer_name": names.get(action.customer_id, action.customer_id),
             "new": action.key in outcome.fresh_keys,
             **how_to_pay(outcome, action.item_ids, action.currency).to_json(),
             "amount_at_risk": str(outlook.amount_at_risk(action.item_ids)) if outlook else None}
            for action in (ordered_actions(outcome, planned, order_by) if order_by == "at-risk" else planned)
        ],
        "new_actions": len(outcome.new_action_keys),
        "bank_accounts": [account.to_json() for account in outcome.bank_accounts],
        "delivery": {
            "dry_run": outcome.delivery.dry_run,
            "due": outcome.delivery.due,
            "delivered": outcome.delivery.delivered,
            "failed": outcome.delivery.failed,
            "errors": outcome.delivery.errors,
        },
        "customers": [
            {
                "customer_id": d.customer_id,
                "stage": d.stage,
                "level": d.level,
                "risk_score": d.risk.score,
                "risk_category": d.risk.category,
                "risk_explanation": d.risk.explanation(),
                "overdue_amount": str(d.overdue_amount),
                "oldest_days_overdue": d.oldest_days_overdue,
                "hold_reason": d.hold_reason,
                "next_review": d.next_review.isoformat() if d.next_review else None,
                "credit_hold": credit_hold_json(d.credit_hold),
            }
            for d in outcome.decisions.customers
        ],
        "aging": to_jsonable(outcome.aging),
        "kpis": to_jsonable(outcome.kpis),
        **prediction_json(outcome),
    }


def credit_hold_json(hold: CreditHold | None) -> dict[str, Any] | None:
    """A customer's credit hold (the policy's ``credit_hold``): why new orders wait, as codes and in English."""
    if hold is None:
        return None
    fields = to_jsonable(hold)  # reason_parts as the actions' are: {"code", "params"}
    del fields["customer_id"]
    return {**fields, "reason": hold.reason}


def prediction_json(outcome: RunOutcome) -> dict[str, Any]:
    """Each open item's prediction with its reasons, and the cash-in forecast by week (None without them)."""
    outlook = outcome.outlook
    if outlook is None:
        return {"prediction_note": outcome.outlook_note, "cash_in_forecast": None, "predictions": []}
    model = outlook.model
    return {
        "prediction_note": None,
        "cash_in_forecast": {
            "currency": outlook.company_currency,
            "weeks": [{"week_start": w.week_start.isoformat(), "items": w.items, "amount": str(w.amount)}
                      for w in outlook.weeks],
            "later": {"items": outlook.later_items, "amount": str(outlook.later_amount)},
            "trained_on": model.training_items,
        },
        "predictions": [
            {
                "item_id": p.item_id,
                "invoice_number": p.invoice_ref,
                "customer_id": p.customer_id,
                "open_amount": str(p.open_amount),
                "currency": p.currency,
                "late_probability": round(p.late_probability, 4),
                "expected_payment_date": p.expected_payment_date.isoformat(),
                "explanation": explanation(model, p),
            }
            for p in outlook.predictions.values()
        ],
    }


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _figure(value: float | None, suffix: str = "", decimals: int = 1) -> str:
    return "—" if value is None else f"{value:,.{decimals}f}{suffix}"


# --------------------------------------------------------------------------------------
# experiment
# --------------------------------------------------------------------------------------


@cli.group(invoke_without_command=True)
@click.option("--tenant", help="Ledger in the store, e.g. files:demo (required to compare variants).")
@click.option("--strategy", default="standard", show_default=True, help="Strategy whose A/B variants are compared.")
@click.option("--control", help="Variant to compare the others with (default: first in order).")
@click.option("--since", "since_text", help="Only contacts from this date on (YYYY-MM-DD).")
@click.option("--as-of", "as_of_text", help="Date (YYYY-MM-DD) or ISO datetime of the measure; default now.")
@click.option("--currency", default="EUR", show_default=True, help="Company currency.")
@click.option("--rate", "rates", multiple=True, help="Exchange rate CODE=VALUE (1 unit in company currency).")
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True)
@click.option(
    "--mde",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.05,
    show_default=True,
    help="Difference in recovery rate the sequential test is tuned to (the one given to 'experiment plan').",
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def experiment(
    ctx: click.Context,
    tenant: str | None,
    strategy: str,
    control: str | None,
    since_text: str | None,
    as_of_text: str | None,
    currency: str,
    rates: Sequence[str],
    confidence: float,
    mde: float,
    output_format: str,
) -> None:
    """Compare the A/B variants of a strategy (recovery, days to pay, cost) with a test valid at every look.

    Read it as often as you like: a variant is called better or worse than the control only when
    an always-valid (sequential) test says so, and the output says when the experiment may stop.
    'experiment plan' says how many customers an experiment needs.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not tenant:
        raise click.UsageError("Missing option '--tenant' (or a command: plan).")
    store = open_runtime(ctx).store
    as_of = parse_as_of(as_of_text, now_utc())
    since = parse_as_of(since_text, as_of) if since_text else None
    rate_map = {**(DEMO_RATES if tenant == "files:demo" else {}), **parse_rates(rates)}
    portfolio = store.ledger.load_portfolio(tenant, currency.upper(), rate_map)
    try:
        observations = observe_experiment(portfolio, store.history.load_history(tenant), as_of, strategy, since)
        report = experiment_results(observations, control, confidence, mde)
    except (InputError, ValueError) as err:
        raise CliFailure(str(err), EXIT_INPUT) from err
    if output_format == "json":
        click.echo(json.dumps(to_jsonable(report), indent=2))
        return
    if not report.variants:
        click.echo(f"no contacts under variants of {strategy!r} in {tenant} yet")
        return
    print_experiment(report)


@experiment.command("plan")
@click.option("--baseline", type=float, required=True, help="The control's recovery rate, e.g. 0.30.")
@click.option("--mde", type=float, required=True, help="Smallest difference in recovery rate worth finding, e.g. 0.05.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="False positives allowed, all variants.")
@click.option("--power", type=float, default=0.8, show_default=True, help="Chance of finding a difference of --mde.")
@click.option("--variants", type=int, default=2, show_default=True, help="Arms, the control included.")
@click.option(
    "--amount-cv",
    type=float,
    default=0.0,
    show_default=True,
    help="Coefficient of variation of the amounts due (0: equal amounts; unequal ones need more customers).",
)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def experiment_plan(
    baseline: float, mde: float, alpha: float, power: float, variants: int, amount_cv: float, output_format: str
) -> None:
    """How many customers an experiment needs to find --mde: one look at the end, or the sequential test."""
    try:
        sizes = experiment_sample_size(baseline, mde, alpha, power, variants, amount_cv)
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    if output_format == "json":
        click.echo(json.dumps(to_jsonable(sizes), indent=2))
        return
    print_sample_size(sizes)


def print_sample_size(sizes: SampleSizePlan) -> None:
    """Print the customers needed per variant and in all, fixed horizon and sequential."""
    table = Table(
        title=f"Customers to find {sizes.mde * 100:+.1f} pts over a recovery rate of {sizes.baseline:.1%} "
        f"(alpha {sizes.alpha:.0%}, power {sizes.power:.0%}, {sizes.variants} variants)"
    )
    for column in ("", "per variant", "in all"):
        table.add_column(column, justify="right" if column else "left")
    rows = (
        ("fixed horizon: one look, at the end", sizes.fixed_per_variant),
        ("sequential: on average", sizes.sequential_mean_per_variant),
        ("sequential: in half of the experiments", sizes.sequential_median_per_variant),
        (f"sequential: in {sizes.power:.0%} of them", sizes.sequential_for_power_per_variant),
    )
    for label, per_variant in rows:
        table.add_row(label, f"{per_variant:,}", f"{per_variant * sizes.variants:,}")
    console().print(table)
    if sizes.variants > 2:
        click.echo(f"Each variant is compared with the control at alpha {sizes.alpha_per_comparison:.2%} (Bonferroni).")
    click.echo(
        f"Sequential: read 'experiment --mde {sizes.mde:g}' whenever you like; with a true difference of "
        f"{sizes.mde * 100:.1f} pts it stops after the figures above. If no variant has won by "
        f"{sizes.sequential_for_power_per_variant:,} customers each, stop: a difference of {sizes.mde * 100:.1f} pts "
        f"or more would have been found {sizes.power:.0%} of the time."
    )


def print_experiment(report: ExperimentReport) -> None:
    """Print the variants of an experiment side by side, then whether it may stop."""
    table = Table(title=f"Variants against {report.control} ({report.confidence:.0%} confidence)")
    for column in (
        "variant",
        "customers",
        "recovery",
        "interval",
        "paid in full",
        "days to pay",
        "cost / unit",
        "difference",
        "always-valid interval",
        "always-valid p",
        "decision",
    ):
        table.add_column(column, justify="left" if column in ("variant", "decision") else "right")
    for v in report.variants:
        table.add_row(
            v.variant,
            str(v.customers),
            _figure(None if v.recovery_rate is None else v.recovery_rate * 100, " %"),
            _rate_interval(v.recovery_interval, "%"),
            _figure(None if v.paid_share is None else v.paid_share * 100, " %"),
            _figure(v.mean_days_to_pay),
            _figure(v.cost_per_unit_collected, "", 4),
            _figure(None if v.recovery_difference is None else v.recovery_difference * 100, " pts"),
            _rate_interval(v.difference_interval, " pts"),
            _figure(v.always_valid_p_value, "", 4),
            v.decision or "control",
        )
    console().print(table)
    click.echo(experiment_verdict(report))


def _rate_interval(interval: tuple[float, float] | None, unit: str) -> str:
    return f"{interval[0] * 100:.1f} to {interval[1] * 100:.1f}{unit}" if interval else "—"


def experiment_verdict(report: ExperimentReport) -> str:
    """One sentence: may the experiment stop, and who won (recovery rate, always-valid test)."""
    compared = len(report.variants) - 1
    level = f"always-valid test at {report.alpha_per_comparison:.2%}"
    if compared > 1:
        level += f" for each of {compared} comparisons with the control, Bonferroni"
    winner = next((v for v in report.variants if v.variant == report.winner), None)
    if report.stop and report.winner == report.control:
        return f"Stop: every variant recovers less than the control {report.control} ({level})."
    if report.stop and winner is not None and winner.recovery_difference is not None:
        return (
            f"Stop: {winner.variant} wins, recovering {winner.recovery_difference * 100:+.1f} pts against "
            f"{report.control} ({level})."
        )
    short = [v.variant for v in report.variants if v.customers < report.minimum_customers]
    wait = f"; an arm is tested from {report.minimum_customers} customers on, and {', '.join(short)} has fewer"
    return f"Keep going: no variant differs from {report.control} yet ({level}{wait if short else ''})."


# --------------------------------------------------------------------------------------
# policy
# --------------------------------------------------------------------------------------


@cli.group()
def policy() -> None:
    """Write, check and show policy documents."""


@policy.command("init")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=Path("policy.json"), show_default=True
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def policy_init(output: Path, force: bool) -> None:
    """Write the default policy document to a file."""
    if output.exists() and not force:
        raise CliFailure(f"{output} exists (use --force to overwrite)", EXIT_INPUT)
    output.write_text(json.dumps(default_policy_document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"wrote {output}")


@policy.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def policy_validate(path: Path, output_format: str) -> None:
    """Check a policy file; exit 3 and name every bad field when it is invalid."""
    try:
        parsed = policy_from_json(read_policy_text(path))
    except PolicyError as err:
        if output_format == "json":
            click.echo(json.dumps({"valid": False, "problems": err.problems}, indent=2))
            raise SystemExit(EXIT_POLICY) from err
        raise CliFailure(f"{path}: {err}", EXIT_POLICY) from err
    if output_format == "json":
        click.echo(json.dumps({"valid": True, "name": parsed.name, "revision": parsed.revision}))
    else:
        click.echo(f"{path}: valid ({parsed.name}, revision {parsed.revision})")


@policy.command("show")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=False)
def policy_show(path: Path | None) -> None:
    """Print a policy (or the default) normalised, with every default filled in."""
    click.echo(policy_to_json(load_policy(path)), nl=False)


@policy.command("presets")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def policy_presets(output_format: str) -> None:
    """List the contact presets by country and audience, with their legal sources."""
    from collections_engine.contact_presets import PRESETS
    from collections_engine.policy import CountryRule, country_rule_dict  # the shape of a country rule

    rows = []
    for (country, audience), preset in sorted(PRESETS.items()):
        rule = CountryRule(window=preset.window, holidays=preset.holidays, max_per_day=preset.max_per_day,
                           max_per_7_days=preset.max_per_7_days, min_days_between=preset.min_days_between or None,
                           channel_caps=dict(preset.channel_caps), channels=preset.channels)
        rows.append({"country": country, "audience": audience, "name": preset.name, "timezone": preset.timezone,
                     **country_rule_dict(rule), "one_channel_per_7_days": preset.single_channel_per_7_days,
                     "sources": list(preset.sources), "unverified": list(preset.unverified)})
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        hours = dict(row.get("hours_by_weekday", {}))
        days = ", ".join(
            f"{d} {' '.join(f'{a}-{b}' for a, b in hours.get(str(d), row['hours']))}" for d in row["weekdays"]
        )
        click.echo(f"{row['country']}/{row['audience']}  {row['name']}  ({row['timezone']})")
        click.echo(f"  weekdays and hours: {days}; holidays {'closed' if row['holidays'] else 'open'}")
        caps = {k: row[k] for k in ("max_per_day", "max_per_7_days", "min_days_between", "channel_caps") if k in row}
        click.echo(f"  caps: {json.dumps(caps) if caps else 'none beyond the policy'}")
        for source in row["sources"]:
            click.echo(f"  source: {source}")
        for note in row["unverified"]:
            click.echo(f"  note: {note}")


@policy.command("pull")
@click.option("--odoo-url", required=True, help="Base URL of the Odoo server, e.g. https://erp.example.com.")
@click.option("--db", "database", required=True, help="Odoo database name.")
@click.option("--login", required=True, help="Odoo user (needs the Collections User group).")
@click.option("--api-key", envvar="ODOO_API_KEY", required=True, help="API key or password (env ODOO_API_KEY).")
@click.option("--company-id", type=int, help="Company whose configuration to pull (default: the user's).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default stdout).")
def policy_pull(
    odoo_url: str, database: str, login: str, api_key: str, company_id: int | None, output: Path | None
) -> None:
    """Pull the policy configured in Odoo's Collections app, validated, so connectors run the same policy."""
    from .common.secrets import Secret
    from .odoo.policy import pull_policy

    try:
        text = policy_to_json(pull_policy(odoo_url, database, login, Secret(api_key), company_id))
    except ConnectorError as err:
        raise failure(err) from err
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"policy written to {output}")


register_platform_commands(cli)
register_mapping_commands(cli)
register_backtest_command(cli)
register_outcome_commands(cli)


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="odoo-collections")


if __name__ == "__main__":
    main()
