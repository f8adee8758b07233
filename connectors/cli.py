"""The `odoo-collections` command.

Exit codes: 0 success; 1 unexpected error; 2 usage error; 3 invalid policy;
4 the ledger had rows that could not be loaded (with ``--strict``); 5 input error
(a file that cannot be read, an exchange rate missing, a store that cannot be opened, a
ledger that would close too many open items); 8 another run holds the ledger.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from collections_engine.aging import AgingReport, age_items
from collections_engine.decisions import Decisions
from collections_engine.defaults import default_policy, default_policy_document
from collections_engine.engine import local_today
from collections_engine.errors import InputError, PolicyError
from collections_engine.experiments import ExperimentReport, experiment_results, observe_experiment
from collections_engine.kpis import GROUPINGS, KpiReport, KpiSet, compute_kpis
from collections_engine.policy import Policy, policy_from_json, policy_to_json
from collections_engine.types import Customer

from .cli_mapping import register as register_mapping_commands
from .cli_platforms import EXIT_LOCKED
from .cli_platforms import register as register_platform_commands
from .common.errors import ConnectorError, LockedError
from .common.planning import plan_tenant
from .common.runtime import Runtime
from .common.serialize import to_jsonable
from .common.service import LOCK_TTL
from .common.store import Store
from .files.demo import DEMO_ANCHOR, DEMO_LEDGER, DEMO_RATES
from .files.settings import FileSettings
from .files.streams import DEFAULT_MAX_CLOSING_SHARE, ImportResult, import_ledger, preview_portfolio
from .report import render_html_report

EXIT_POLICY = 3
EXIT_BAD_ROWS = 4
EXIT_INPUT = 5
DEFAULT_TENANT_SETTING = "default_files_tenant"
CLOSED_SHOWN = 20
log = logging.getLogger("odoo_collections")
err_console = Console(stderr=True)


class CliFailure(click.ClickException):
    """An error that ends the command with a given exit code and a clear message."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------------------
# Shared option parsing
# --------------------------------------------------------------------------------------


def parse_as_of(value: str | None, default: datetime) -> datetime:
    """Parse ``--as-of``: a date (start of that day, UTC) or an ISO datetime (UTC if naive)."""
    if not value:
        return default
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(9, 0), timezone.utc)
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO datetime") from err
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_rates(values: Sequence[str]) -> dict[str, Decimal]:
    """Parse ``--rate USD=0.92`` options (one unit of USD in the company currency)."""
    rates = {}
    for value in values:
        code, _, number = value.partition("=")
        try:
            rate = Decimal(number.strip())
        except InvalidOperation:
            rate = Decimal("NaN")
        if not re.fullmatch(r"[A-Za-z]{3}", code.strip()) or not rate.is_finite() or rate <= 0:
            raise click.BadParameter(f"--rate {value!r}: expected CODE=NUMBER with a positive number, e.g. USD=0.92")
        rates[code.strip().upper()] = rate
    return rates


def load_policy(path: Path | None) -> Policy:
    """Read a policy file, or return the default policy when no file is given."""
    if path is None:
        return default_policy()
    try:
        return policy_from_json(read_policy_text(path))
    except PolicyError as err:
        raise CliFailure(f"{path}: {err}", EXIT_POLICY) from err


def read_policy_text(path: Path) -> str:
    """The text of a policy file (UTF-8), or a CliFailure with exit code 5."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise CliFailure(f"cannot read policy {path}: {err.strerror}", EXIT_INPUT) from err
    except UnicodeDecodeError as err:
        raise CliFailure(f"{path}: the policy is not UTF-8 text (save it as UTF-8)", EXIT_INPUT) from err


@contextmanager
def progress_bar(enabled: bool, label: str) -> Iterator[Any]:
    """Yield a progress callback(done, total) drawing a bar on stderr (or doing nothing)."""
    if not enabled:
        yield None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update


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


def open_store(ctx: click.Context) -> Store:
    """Open (and migrate) the store named by ``--store`` or the default SQLite file."""
    return open_runtime(ctx).store


def open_runtime(ctx: click.Context) -> Runtime:
    """The store (migrated) and locks; a store that cannot be opened is an input error (exit 5)."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    url = ctx.obj.get("store_url") if ctx.obj else None
    try:
        return Runtime.from_env(store_url=url)
    except ArgumentError as err:
        raise CliFailure("--store: not a usable SQLAlchemy URL (e.g. sqlite:////path/to/store.db)", EXIT_INPUT) from err
    except (SQLAlchemyError, ImportError, OSError, CommandError, ConnectorError) as err:
        reason = str(getattr(err, "orig", None) or err).splitlines()[0][:200]
        raise CliFailure(f"cannot open the store {_masked(url)}: {reason}", EXIT_INPUT) from err


def _masked(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url or Store.default_url()).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL is not shown at all (it may hold a password)
        return "(--store)"


def ledger_tenant(store: Store, option: str | None, demo: bool, dry_run: bool) -> str:
    """The ledger's name in the store: the company, never the file (a renamed export is the same ledger).

    ``--tenant`` (``files:`` added when missing) wins; otherwise the store's default, which the first run
    records: the only ledger an older version named after its file, or ``files:default``.
    """
    if demo:
        return _tenant_name(option) if option else "files:demo"
    if option:
        if not dry_run:
            store.set_setting_once(DEFAULT_TENANT_SETTING, _tenant_name(option))
        return _tenant_name(option)
    stored = store.setting(DEFAULT_TENANT_SETTING)
    if stored:
        return stored
    first = _first_default(store)
    return first if dry_run else store.set_setting_once(DEFAULT_TENANT_SETTING, first)


def _tenant_name(option: str) -> str:
    tenant = option if option.startswith("files:") else f"files:{option}"
    if not re.fullmatch(r"files:[\w.@-]{1,100}", tenant):
        raise click.BadParameter(f"{option!r}: expected files:NAME (letters, digits, . _ - @)", param_hint="--tenant")
    return tenant


def _first_default(store: Store) -> str:
    legacy = [t for t in store.tenants() if t.startswith("files:") and t != "files:demo"]
    if len(legacy) > 1:
        raise click.UsageError(
            f"this store holds several ledgers ({', '.join(legacy[:10])}); name the company's with "
            "--tenant files:NAME once and later runs will use it"
        )
    return legacy[0] if legacy else "files:default"


def check_report_path(path: Path | None) -> None:
    """Refuse a --report path that cannot be written before anything runs."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise CliFailure(f"--report {path}: cannot write there (no such folder, or not writable)", EXIT_INPUT)


@dataclass(frozen=True)
class RunOptions:
    """How `run` imports and plans."""

    dry_run: bool = False
    allow_closing: bool = False
    max_closing_share: float = DEFAULT_MAX_CLOSING_SHARE
    group_by: str | None = None
    show_progress: bool = False


@dataclass(frozen=True)
class RunOutcome:
    """What one `run` produced, ready to print."""

    tenant: str
    as_of: datetime
    decisions: Decisions
    aging: AgingReport
    kpis: KpiReport
    new_action_keys: list[str]
    rows_read: int
    problems: list[dict[str, Any]]
    skipped_import: bool
    closed_items: list[str]
    closing_withheld: str | None
    customers: tuple[Customer, ...]
    report: dict[str, Any] | None = None
    """What was recognised when the ledger is an accounting report (layout, as-of date, totals), else None."""


@cli.command()
@click.option("--ledger", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="CSV or XLSX ledger.")
@click.option("--demo", is_flag=True, help="Use the demo ledger shipped with the package.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Column mapping (JSON).")
@click.option(
    "--tenant",
    help="The company's ledger in the store, files:NAME (default: the store's default ledger, recorded by the "
    "first run; files:default). A connected platform's tenant plans and pushes instead.",
)
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of_text", help="Date (YYYY-MM-DD) or ISO datetime to plan for; default now.")
@click.option("--currency", default="EUR", show_default=True, help="Company currency.")
@click.option("--rate", "rates", multiple=True, help="Exchange rate CODE=VALUE (1 unit in company currency).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report.")
@click.option("--group-by", type=click.Choice(GROUPINGS), help="KPIs per collector, risk category or variant.")
@click.option("--dry-run", is_flag=True, help="Import and plan without writing anything to the store.")
@click.option("--strict", is_flag=True, help="Exit with code 4 when some ledger rows could not be loaded.")
@click.option("--allow-closing", is_flag=True, help="Accept a file that closes more open items than --max-closing.")
@click.option(
    "--max-closing",
    type=click.FloatRange(0, 100),
    default=DEFAULT_MAX_CLOSING_SHARE * 100,
    show_default=True,
    help="Refuse (exit 5) a file that would close more than this % of the ledger's open items.",
)
@click.option("--limit", type=int, default=50, show_default=True, help="Rows of the worklist table (0: all).")
@click.pass_context
def run(
    ctx: click.Context,
    ledger: Path | None,
    demo: bool,
    mapping: Path | None,
    tenant: str | None,
    policy_path: Path | None,
    as_of_text: str | None,
    currency: str,
    rates: Sequence[str],
    output_format: str,
    report_path: Path | None,
    group_by: str | None,
    dry_run: bool,
    strict: bool,
    allow_closing: bool,
    max_closing: float,
    limit: int,
) -> None:
    """Import a ledger (or use a connected platform's synced data), plan today's actions, print the worklist."""
    if not ledger and not demo and tenant and ":" in tenant and not tenant.startswith("files:"):
        from .cli_platforms import act

        ctx.invoke(act, tenant=tenant, policy_path=policy_path, as_of_text=as_of_text, output_format=output_format)
        return
    if bool(ledger) == demo:
        raise click.UsageError("give either --ledger FILE, --demo, or --tenant of a connected platform")
    policy = load_policy(policy_path)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    as_of = parse_as_of(as_of_text, datetime.combine(DEMO_ANCHOR, time(10, 0), timezone.utc) if demo else now)
    rate_map = {**(DEMO_RATES if demo else {}), **parse_rates(rates)}
    check_report_path(report_path)
    runtime = open_runtime(ctx)
    path = DEMO_LEDGER if demo else ledger
    assert path is not None
    settings = FileSettings(
        path=path,
        mapping_path=mapping,
        tenant=ledger_tenant(runtime.store, tenant, demo, dry_run),
        company_currency=currency.upper(),
    )
    options = RunOptions(dry_run, allow_closing, max_closing / 100, group_by, output_format == "table")
    outcome = locked_run(runtime, settings, policy, as_of, rate_map, options)
    if report_path is not None:
        write_report(report_path, outcome, policy)
    if output_format == "json":
        click.echo(json.dumps(outcome_json(outcome), indent=2, ensure_ascii=False))
    else:
        print_outcome(outcome, limit)
    if strict and outcome.problems:
        raise CliFailure(f"{len(outcome.problems)} ledger rows could not be loaded", EXIT_BAD_ROWS)
    if strict and outcome.report and outcome.report["total_mismatch"]:
        raise CliFailure("the report's rows do not add up to its total row", EXIT_BAD_ROWS)


def locked_run(
    runtime: Runtime,
    settings: FileSettings,
    policy: Policy,
    as_of: datetime,
    rates: dict[str, Decimal],
    options: RunOptions,
) -> RunOutcome:
    """Run under the ledger's lock (exit 8 when another run holds it), recorded as a run; a dry run takes no
    lock and records nothing."""
    if options.dry_run:
        return execute_run(runtime.store, settings, policy, as_of, rates, options)
    store, tenant = runtime.store, settings.tenant
    try:
        with runtime.locks.hold(f"act:{tenant}", wait=1, ttl=LOCK_TTL):
            store.abandon_runs(tenant)  # runs left 'running' by a process that died: it no longer holds the lock
            run_id = store.start_run(tenant, "ledger", as_of)
            try:
                outcome = execute_run(store, settings, policy, as_of, rates, options)
            except BaseException as err:
                store.finish_run(run_id, "failed", {"error": str(err)[:500] or type(err).__name__})
                raise
            store.finish_run(run_id, "done", _run_stats(outcome))
            return outcome
    except LockedError as err:
        raise CliFailure(f"another run is busy with {tenant}: try again when it has finished", EXIT_LOCKED) from err


def _run_stats(outcome: RunOutcome) -> dict[str, Any]:
    return {
        "rows_read": outcome.rows_read,
        "rejected": len(outcome.problems),
        "closed": len(outcome.closed_items),
        "new_actions": len(outcome.new_action_keys),
        "skipped_import": outcome.skipped_import,
    }


def run_import(store: Store, settings: FileSettings, as_of: datetime, options: RunOptions) -> ImportResult:
    """Import the ledger (nothing written under a dry run); an unusable file is an input error (exit 5)."""
    with progress_bar(options.show_progress and sys.stderr.isatty(), "importing ledger") as progress:
        try:
            return import_ledger(
                settings,
                store,
                progress=progress,
                today=as_of.date(),
                dry_run=options.dry_run,
                allow_closing=options.allow_closing,
                max_closing_share=options.max_closing_share,
            )
        except OSError as err:
            raise CliFailure(f"cannot read {settings.path}: {err.strerror or err}", EXIT_INPUT) from err
        except ConnectorError as err:
            raise CliFailure(str(err), EXIT_INPUT) from err


def execute_run(
    store: Store,
    settings: FileSettings,
    policy: Policy,
    as_of: datetime,
    rates: dict[str, Decimal],
    options: RunOptions,
) -> RunOutcome:
    """Import, plan, record and measure: the body of `run`, free of any printing."""
    result = run_import(store, settings, as_of, options)
    try:
        preview = None
        if options.dry_run:
            stored = store.load_portfolio(settings.tenant, settings.company_currency, rates)
            preview = preview_portfolio(stored, result, as_of.date())
        planned = plan_tenant(
            store,
            settings.tenant,
            policy,
            as_of,
            settings.company_currency,
            rates,
            dry_run=options.dry_run,
            portfolio=preview,
        )
        decisions, portfolio = planned.decisions, planned.portfolio
        kpis = compute_kpis(portfolio, policy, planned.history, as_of, decisions, options.group_by)
    except InputError as err:
        raise CliFailure(str(err), EXIT_INPUT) from err
    aging = age_items(
        portfolio.items, policy.aging_buckets, local_today(policy, as_of), portfolio.company_currency, rates
    )
    return RunOutcome(
        tenant=settings.tenant,
        as_of=as_of,
        decisions=decisions,
        aging=aging,
        kpis=kpis,
        new_action_keys=planned.new_keys,
        rows_read=result.rows_read,
        problems=[{"line": p.line, "reason": p.reason} for p in result.problems],
        skipped_import=result.skipped,
        closed_items=result.closed_ids,
        closing_withheld=result.closing_withheld,
        customers=portfolio.customers,
        report=report_json(result, as_of),
    )


def report_json(result: ImportResult, as_of: datetime) -> dict[str, Any] | None:
    """The recognised report of an import, with a note when its date is not the planning date."""
    if result.report is None:
        return None
    report: dict[str, Any] = result.report.to_json()
    report["describe"] = result.report.describe()
    if report["as_of"] and report["as_of"] != as_of.date().isoformat():
        report["notes"].append(
            f"the report is as of {report['as_of']} but this run plans for {as_of.date()}: "
            f"give --as-of {report['as_of']} to plan on the report's date"
        )
    return report


def write_report(path: Path, outcome: RunOutcome, policy: Policy) -> None:
    """Write the HTML report of a run."""
    customers = {c.id: c for c in outcome.customers}
    html = render_html_report(outcome.decisions, outcome.aging, outcome.kpis, policy, customers, title=outcome.tenant)
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as err:
        raise CliFailure(f"--report {path}: cannot write it ({err.strerror or err})", EXIT_INPUT) from err
    err_console.print(f"report written to {path}")


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def outcome_json(outcome: RunOutcome) -> dict[str, Any]:
    """Return the machine-readable result of a run."""
    return {
        "tenant": outcome.tenant,
        "as_of": outcome.as_of.isoformat(),
        "import": {
            "rows_read": outcome.rows_read,
            "skipped": outcome.skipped_import,
            "problems": outcome.problems,
            "closed": len(outcome.closed_items),
            "closed_items": outcome.closed_items[:CLOSED_SHOWN],
            "closing_withheld": outcome.closing_withheld,
        },
        "report": outcome.report,
        "actions": [to_jsonable(action) for action in outcome.decisions.actions()],
        "new_actions": len(outcome.new_action_keys),
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
            }
            for d in outcome.decisions.customers
        ],
        "aging": to_jsonable(outcome.aging),
        "kpis": to_jsonable(outcome.kpis),
    }


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _figure(value: float | None, suffix: str = "", decimals: int = 1) -> str:
    return "—" if value is None else f"{value:,.{decimals}f}{suffix}"


def print_outcome(outcome: RunOutcome, limit: int) -> None:
    """Print the worklist, the aging and the KPIs as tables."""
    console = _console()
    if outcome.problems:
        err_console.print(f"[yellow]{len(outcome.problems)} ledger rows were not loaded:[/yellow]")
        for problem in outcome.problems[:20]:
            err_console.print(f"  line {problem['line']}: {problem['reason']}")
        if len(outcome.problems) > 20:
            err_console.print(f"  ... and {len(outcome.problems) - 20} more (use --format json to see all)")
    print_report(console, outcome.report)
    print_closing(console, outcome)
    names = {d.customer_id: d for d in outcome.decisions.customers}
    actions = sorted(outcome.decisions.actions(), key=lambda a: (-a.amount_due, a.customer_id, a.channel))
    table = Table(
        title=f"Worklist for {outcome.as_of:%Y-%m-%d %H:%M %Z} ({len(actions)} actions, "
        f"{len(outcome.new_action_keys)} newly recorded)"
    )
    for column in ("customer", "level", "channel", "not before (local)", "amount due", "risk", "why"):
        table.add_column(column, overflow="fold", justify="right" if column == "amount due" else "left")
    for action in actions[: limit or None]:
        risk = names[action.customer_id].risk
        top = max(risk.contributions, key=lambda c: c.points)
        table.add_row(
            action.customer_id,
            action.level,
            action.channel,
            f"{action.local_time:%a %d %b %H:%M}",
            _money(action.amount_due),
            f"{risk.score:.0f} {risk.category} ({top.detail})"
            if top.points >= 0.5
            else f"{risk.score:.0f} {risk.category}",
            action.reason,
        )
    console.print(table)
    if limit and len(actions) > limit:
        console.print(f"... {len(actions) - limit} more actions (--limit 0 shows all)")
    print_aging(console, outcome.aging)
    print_kpis(console, outcome.kpis)


def print_report(console: Console, report: dict[str, Any] | None) -> None:
    """Say which accounting report the ledger was recognised as, and its notes (summary, dates, total row)."""
    if report is None:
        return
    console.print(f"Recognised {report['describe']}")
    for note in report["notes"]:
        warning = note.startswith("the report's total row")
        console.print(f"[yellow]warning: {note}[/yellow]" if warning else f"  note: {note}")


def print_closing(console: Console, outcome: RunOutcome) -> None:
    """Say which open items this file closed (no longer listed: paid or cancelled), or why none was."""
    closed = outcome.closed_items
    if closed:
        more = f" and {len(closed) - CLOSED_SHOWN} more" if len(closed) > CLOSED_SHOWN else ""
        shown = ", ".join(closed[:CLOSED_SHOWN]) + more
        console.print(f"Closed {len(closed)} open items no longer in the file (paid or cancelled): {shown}")
    if outcome.closing_withheld:
        console.print(f"[yellow]{outcome.closing_withheld}[/yellow]")


def print_aging(console: Console, aging: AgingReport) -> None:
    """Print the aging buckets."""
    table = Table(title=f"Aging ({aging.company_currency})")
    table.add_column("bucket")
    table.add_column("items", justify="right")
    table.add_column("amount", justify="right")
    for bucket in aging.buckets:
        table.add_row(bucket.label, str(bucket.items), _money(bucket.company_amount))
    table.add_row("total", str(sum(b.items for b in aging.buckets)), _money(aging.total))
    console.print(table)


KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    ("DSO (days)", "dso", ""),
    ("DSO countback (days)", "dso_countback", ""),
    ("Best possible DSO (days)", "best_possible_dso", ""),
    ("Average days delinquent", "average_days_delinquent", ""),
    ("CEI", "cei", " %"),
    ("Customers delinquent", "pct_customers_delinquent", " %"),
    ("Amount delinquent", "pct_amount_delinquent", " %"),
    ("Recovery rate", "recovery_rate", " %"),
    ("Promise-kept rate", "promise_kept_rate", " %"),
    ("Cost per unit collected", "cost_per_collection", ""),
)


def print_kpis(console: Console, report: KpiReport) -> None:
    """Print the KPIs, overall and per group."""
    sets: list[tuple[str, KpiSet]] = [("overall", report.overall), *report.groups.items()]
    overall = report.overall
    table = Table(title=f"KPIs {overall.period_start} to {overall.period_end}")
    table.add_column("KPI")
    for name, _ in sets:
        table.add_column(name, justify="right")
    for label, attribute, suffix in KPI_ROWS:
        decimals = 4 if attribute == "cost_per_collection" else 1
        table.add_row(label, *(_figure(getattr(kpi, attribute), suffix, decimals) for _, kpi in sets))
    table.add_row("Receivables", *(_money(kpi.receivables) for _, kpi in sets))
    table.add_row("Overdue", *(_money(kpi.overdue) for _, kpi in sets))
    console.print(table)


# --------------------------------------------------------------------------------------
# experiment
# --------------------------------------------------------------------------------------


@cli.command()
@click.option("--tenant", required=True, help="Ledger in the store, e.g. files:demo.")
@click.option("--strategy", default="standard", show_default=True, help="Strategy whose A/B variants are compared.")
@click.option("--control", help="Variant to compare the others with (default: first in order).")
@click.option("--since", "since_text", help="Only contacts from this date on (YYYY-MM-DD).")
@click.option("--as-of", "as_of_text", help="Date (YYYY-MM-DD) or ISO datetime of the measure; default now.")
@click.option("--currency", default="EUR", show_default=True, help="Company currency.")
@click.option("--rate", "rates", multiple=True, help="Exchange rate CODE=VALUE (1 unit in company currency).")
@click.option("--confidence", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True)
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def experiment(
    ctx: click.Context,
    tenant: str,
    strategy: str,
    control: str | None,
    since_text: str | None,
    as_of_text: str | None,
    currency: str,
    rates: Sequence[str],
    confidence: float,
    output_format: str,
) -> None:
    """Compare the A/B variants of a strategy: recovery, days to pay, cost, significance."""
    store = open_store(ctx)
    as_of = parse_as_of(as_of_text, datetime.now(timezone.utc).replace(microsecond=0))
    since = parse_as_of(since_text, as_of) if since_text else None
    rate_map = {**(DEMO_RATES if tenant == "files:demo" else {}), **parse_rates(rates)}
    portfolio = store.load_portfolio(tenant, currency.upper(), rate_map)
    try:
        observations = observe_experiment(portfolio, store.load_history(tenant), as_of, strategy, since)
        report = experiment_results(observations, control, confidence)
    except (InputError, ValueError) as err:
        raise CliFailure(str(err), EXIT_INPUT) from err
    if output_format == "json":
        click.echo(json.dumps(to_jsonable(report), indent=2))
        return
    if not report.variants:
        click.echo(f"no contacts under variants of {strategy!r} in {tenant} yet")
        return
    print_experiment(report)


def print_experiment(report: ExperimentReport) -> None:
    """Print the variants of an experiment side by side."""
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
        "p-value",
        "significant",
    ):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in report.variants:
        interval = f"{v.recovery_interval[0]:.1%}-{v.recovery_interval[1]:.1%}" if v.recovery_interval else "—"
        table.add_row(
            v.variant,
            str(v.customers),
            _figure(None if v.recovery_rate is None else v.recovery_rate * 100, " %"),
            interval,
            _figure(None if v.paid_share is None else v.paid_share * 100, " %"),
            _figure(v.mean_days_to_pay),
            _figure(v.cost_per_unit_collected, "", 4),
            _figure(None if v.recovery_difference is None else v.recovery_difference * 100, " pts"),
            _figure(v.p_value, "", 4),
            "yes" if v.significant else "no",
        )
    _console().print(table)


def _console() -> Console:
    """A console for tables: the terminal's width, or wide enough not to fold when piped."""
    return Console() if sys.stdout.isatty() else Console(width=200)


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
    from .cli_platforms import failure
    from .common.errors import ConnectorError
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


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="odoo-collections")


if __name__ == "__main__":
    main()
