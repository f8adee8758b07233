"""Commands that record what happens outside the platform: ``promise``, ``plan``, ``call``, and ``bank``.

A collector's promise to pay, a payment plan and a call's outcome are kept in the store for any tenant (a
ledger ``files:NAME`` or a connected platform's), checked as the engine checks them under the policy and
``--as-of``; the next ``run`` reads them like anything synced: a promise or a plan pauses dunning of its items,
a broken one lets it resume, a call carries out the call action it answers. ``bank`` keeps where customers pay
by transfer, shown in the worklist. ``--dry-run`` checks and shows what would be recorded and writes nothing.

Exit codes (``connectors.cli_common``): 0 success; 2 usage; 3 invalid policy; 5 a customer, an item, a record
or a tenant the store does not hold; 8 a run holds the tenant; 9 the policy refuses the promise or the plan
(each problem named).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table

from collections_engine.decisions import PlanEvaluation, PromiseEvaluation
from collections_engine.promises import promise_deadline
from collections_engine.types import FREQUENCIES, Customer, PaymentPlan, Promise

from .cli_common import (
    DEFAULT_TENANT_SETTING,
    EXIT_INPUT,
    EXIT_LOCKED,
    EXIT_REFUSED,
    CliFailure,
    console,
    echo_json,
    err_console,
    load_policy,
    now_utc,
    open_runtime,
    parse_as_of,
    parse_rates,
)
from .common.banking import BankAccount, bic_problem, grouped_iban, iban_problem, normalised_iban
from .common.errors import LockedError
from .common.locks import LOCK_TTL
from .common.runtime import Runtime
from .files.demo import DEMO_RATES
from .outcomes import (
    CALL_OUTCOMES,
    LOGGED_CHANNELS,
    CallRecord,
    Ledger,
    PlanProposal,
    RecordError,
    Refused,
    call_record,
    find_customer,
    load_ledger,
    new_promise,
    plan_evaluations,
    promise_evaluations,
    propose_plan,
    split_references,
)

F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------------------
# Shared options
# --------------------------------------------------------------------------------------


def tenant_option(function: F) -> F:
    """``--tenant``: a ledger (files:NAME, or NAME) or a connected platform's tenant; default the store's ledger."""
    return click.option(
        "--tenant",
        help="A ledger (files:NAME) or a connected platform's tenant (quickbooks:REALM...); default the store's "
        "default ledger.",
    )(function)


def ledger_options(function: F) -> F:
    """The options of every command that reads a tenant's ledger: tenant, policy, moment, rates, format."""
    for option in reversed(
        (
            tenant_option,
            click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
            click.option("--as-of", "as_of_text", help="Date (YYYY-MM-DD) or ISO datetime; default now."),
            click.option(
                "--rate", "rates", multiple=True, help="Exchange rate CODE=VALUE (1 unit in company currency)."
            ),
            click.option(
                "--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True
            ),
        )
    ):
        function = option(function)
    return function


def dry_run_option(function: F) -> F:
    """``--dry-run``: check and show, write nothing."""
    return click.option("--dry-run", is_flag=True, help="Check and show what would be recorded; write nothing.")(
        function
    )


def tenant_name(runtime: Runtime, option: str | None) -> str:
    """The tenant a command is about: ``--tenant`` (``files:`` added to a bare name), else the default ledger."""
    if option:
        name = option if ":" in option else f"files:{option}"
        if not re.fullmatch(r"[a-z0-9_]+:[\w.@-]{1,100}", name):
            raise click.BadParameter(f"{option!r}: expected files:NAME or PLATFORM:ID", param_hint="--tenant")
        return name
    stored = runtime.store.tenants.setting(DEFAULT_TENANT_SETTING)
    if not stored:
        raise click.UsageError("give --tenant (files:NAME or a connected platform's tenant)")
    return stored


def open_ledger(
    ctx: click.Context, option: str | None, policy_path: Path | None, as_of_text: str | None, rates: Sequence[str]
) -> tuple[Runtime, Ledger]:
    """The runtime and the tenant's stored ledger under the policy, as of ``--as-of``."""
    policy = load_policy(policy_path)
    as_of = parse_as_of(as_of_text, now_utc())
    given = parse_rates(rates)
    runtime = open_runtime(ctx)
    store = runtime.store
    tenant = tenant_name(runtime, option)
    if tenant not in store.ledger.tenants():
        raise CliFailure(f"{tenant}: the store holds no customers of it (run `odoo-collections run` first)", EXIT_INPUT)
    record = store.tenants.tenant_record(tenant)
    settings = record["settings"] if record else {}
    currency = str(settings.get("home_currency") or settings.get("company_currency") or "EUR").upper()
    known = {**(DEMO_RATES if tenant == "files:demo" else {}), **given}
    return runtime, load_ledger(store, tenant, policy, as_of, currency, known)


def write_locked(runtime: Runtime, tenant: str, write: Callable[[], object]) -> None:
    """Write under the tenant's lock, so that a run of the tenant never reads half of it."""
    try:
        with runtime.locks.hold(f"act:{tenant}", wait=10, ttl=LOCK_TTL):
            write()
    except LockedError as err:
        raise CliFailure(f"another run is busy with {tenant}: try again when it has finished", EXIT_LOCKED) from err


def refused(problems: Sequence[str], what: str, payload: dict[str, Any], output_format: str) -> CliFailure:
    """The failure (exit 9) of something the policy refuses, the problems printed (as JSON with ``--format json``)."""
    if output_format == "json":
        echo_json(payload)
    return CliFailure(f"{what} refused:\n  " + "\n  ".join(problems), EXIT_REFUSED)


def parse_amount(value: str, option: str) -> Decimal:
    """A money amount given on the command line (a dot for decimals)."""
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise click.BadParameter(f"{value!r} is not an amount such as 1500 or 1500.50", param_hint=option)
    return amount


def parse_day(value: str, option: str) -> date:
    """A date given on the command line (YYYY-MM-DD)."""
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from err


def _print(payload: dict[str, Any], output_format: str, headline: str, lines: Sequence[str] = ()) -> None:
    if output_format == "json":
        echo_json(payload)
        return
    console().print(headline)
    for line in lines:
        console().print(f"  {line}")


def _invoice_numbers(ledger: Ledger, item_ids: Sequence[str]) -> list[str]:
    numbers = ledger.invoice_numbers
    return list(dict.fromkeys(numbers.get(item_id, item_id) for item_id in item_ids))


# --------------------------------------------------------------------------------------
# promise
# --------------------------------------------------------------------------------------


@click.group()
def promise() -> None:
    """Promises to pay: record one (checked against the policy), list them with their status, cancel one."""


def promise_json(
    ledger: Ledger, record: Promise, evaluation: PromiseEvaluation | None, note: str | None
) -> dict[str, Any]:
    """A promise as the commands show it, with its status as the engine judges it (None: made after --as-of)."""
    return {
        "id": record.id,
        "customer_id": record.customer_id,
        "customer_name": ledger.customer_names.get(record.customer_id, record.customer_id),
        "created_on": record.created_on,
        "promised_date": record.promised_date,
        "deadline": promise_deadline(record, ledger.policy.promises),
        "amount": record.amount,
        "currency": record.currency,
        "item_ids": list(record.item_ids),
        "invoice_numbers": _invoice_numbers(ledger, record.item_ids),
        "status": evaluation.status if evaluation else ("cancelled" if record.cancelled else "pending"),
        "paid": evaluation.paid if evaluation else Decimal(0),
        "note": note,
    }


@promise.command("add")
@click.argument("customer")
@click.option("--amount", required=True, help="Amount promised, in the items' currency.")
@click.option("--date", "promised", required=True, help="Date the customer promises to pay by (YYYY-MM-DD).")
@click.option(
    "--items",
    "--item",
    "items",
    multiple=True,
    help="Invoice numbers or item ids promised (repeat, or separate with commas); default every open invoice.",
)
@click.option("--note", help="What the customer said.")
@ledger_options
@dry_run_option
@click.pass_context
def promise_add(
    ctx: click.Context,
    customer: str,
    amount: str,
    promised: str,
    items: Sequence[str],
    note: str | None,
    tenant: str | None,
    policy_path: Path | None,
    as_of_text: str | None,
    rates: Sequence[str],
    output_format: str,
    dry_run: bool,
) -> None:
    """Record a promise to pay: dunning of its items pauses until its date (and the policy's grace); exit 9 when
    the policy refuses it (more days ahead than promises.max_days_ahead, more than is open...)."""
    runtime, ledger = open_ledger(ctx, tenant, policy_path, as_of_text, rates)
    found = _customer(ledger, customer)
    value, day = parse_amount(amount, "--amount"), parse_day(promised, "--date")
    try:
        made = new_promise(ledger, found, value, day, split_references(items))
    except RecordError as err:
        raise CliFailure(str(err), EXIT_INPUT) from err
    except Refused as err:
        payload = {"tenant": ledger.tenant, "dry_run": dry_run, "recorded": False, "problems": err.problems}
        raise refused(err.problems, "promise", payload, output_format) from err
    already = any(p.id == made.id for p in ledger.portfolio.promises)
    if not dry_run and not already:
        write_locked(runtime, ledger.tenant, lambda: runtime.store.outcomes.record_promise(ledger.tenant, made, note))
    shown = promise_json(ledger, made, None, note)
    payload = {
        "tenant": ledger.tenant,
        "dry_run": dry_run,
        "recorded": not dry_run and not already,
        "already_recorded": already,
        "promise": shown,
    }
    what = ", ".join(shown["invoice_numbers"]) or "every open invoice"
    headline = (
        "Dry run: this promise would be recorded (nothing was written)"
        if dry_run
        else "This promise was recorded already"
        if already
        else "Promise to pay recorded"
    )
    _print(
        payload,
        output_format,
        headline,
        [
            f"{shown['customer_name']} ({made.customer_id}) promises {made.amount} {made.currency} by "
            f"{made.promised_date} (counted until {shown['deadline']}, the policy's grace)",
            f"covers {what}: no reminder for it until then",
            f"id {made.id}",
        ],
    )


@promise.command("list")
@click.option("--customer", help="Only this customer's (id or exact name).")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["pending", "kept", "partially_kept", "broken", "cancelled"]),
    help="Only promises in this status as of --as-of (repeat for several).",
)
@ledger_options
@click.pass_context
def promise_list(
    ctx: click.Context,
    customer: str | None,
    statuses: Sequence[str],
    tenant: str | None,
    policy_path: Path | None,
    as_of_text: str | None,
    rates: Sequence[str],
    output_format: str,
) -> None:
    """The promises made by --as-of, each with its status as the engine judges it then (pending, kept, partially
    kept, broken, cancelled) and what was paid towards it."""
    runtime, ledger = open_ledger(ctx, tenant, policy_path, as_of_text, rates)
    only = _customer(ledger, customer).id if customer else None
    evaluations = promise_evaluations(ledger)
    notes = runtime.store.outcomes.notes(ledger.tenant, "promise")
    rows = [
        promise_json(ledger, record, evaluations[record.id], notes.get(record.id))
        for record in sorted(ledger.portfolio.promises, key=lambda p: (p.promised_date, p.customer_id, p.id))
        if record.id in evaluations and (only is None or record.customer_id == only)
    ]
    rows = [row for row in rows if not statuses or row["status"] in statuses]
    if output_format == "json":
        echo_json({"tenant": ledger.tenant, "as_of": ledger.as_of, "promises": rows})
        return
    table = Table(title=f"Promises to pay of {ledger.tenant} as of {ledger.today}: {len(rows)}")
    for column in ("customer", "made", "promised for", "amount", "paid", "status", "items", "note", "id"):
        table.add_column(column, justify="right" if column in ("amount", "paid") else "left", overflow="fold")
    for row in rows:
        table.add_row(
            f"{row['customer_name']} ({row['customer_id']})",
            str(row["created_on"]),
            str(row["promised_date"]),
            f"{row['amount']:,} {row['currency']}",
            f"{row['paid']:,}",
            row["status"].replace("_", " "),
            ", ".join(row["invoice_numbers"]) or "all",
            row["note"] or "",
            row["id"],
        )
    console().print(table)


@promise.command("cancel")
@click.argument("promise_id")
@tenant_option
@dry_run_option
@click.pass_context
def promise_cancel(ctx: click.Context, promise_id: str, tenant: str | None, dry_run: bool) -> None:
    """Cancel a promise recorded by mistake (it no longer pauses dunning, nor counts as broken)."""
    _cancel(ctx, "promise", promise_id, tenant, dry_run)


def _cancel(ctx: click.Context, kind: str, record_id: str, tenant: str | None, dry_run: bool) -> None:
    runtime = open_runtime(ctx)
    name = tenant_name(runtime, tenant)
    portfolio = runtime.store.ledger.load_portfolio(name, "EUR", {})
    records = portfolio.promises if kind == "promise" else portfolio.plans
    if not any(record.id == record_id for record in records):
        raise CliFailure(f"{record_id}: no such {kind} in {name}", EXIT_INPUT)
    if dry_run:
        click.echo(f"Dry run: {kind} {record_id} would be cancelled (nothing was written)")
        return
    write_locked(runtime, name, lambda: runtime.store.outcomes.cancel(name, kind, record_id))
    click.echo(f"{kind} {record_id} cancelled")


def _customer(ledger: Ledger, text: str) -> Customer:
    try:
        return find_customer(ledger, text)
    except RecordError as err:
        raise CliFailure(str(err), EXIT_INPUT) from err


# --------------------------------------------------------------------------------------
# plan
# --------------------------------------------------------------------------------------


@click.group("plan")
def payment_plan() -> None:
    """Payment plans: propose one (scheduled and checked by the engine under the policy's plan rules for the
    customer's risk category), list them with their status, cancel one."""


def plan_json(
    ledger: Ledger, record: PaymentPlan, evaluation: PlanEvaluation | None, note: str | None
) -> dict[str, Any]:
    """A plan as the commands show it, with its status and instalments as the engine judges them."""
    states = {state.sequence: state for state in evaluation.installments} if evaluation else {}
    return {
        "id": record.id,
        "customer_id": record.customer_id,
        "customer_name": ledger.customer_names.get(record.customer_id, record.customer_id),
        "created_on": record.created_on,
        "currency": record.currency,
        "total": record.total,
        "frequency": record.frequency,
        "grace_days": record.grace_days,
        "item_ids": list(record.item_ids),
        "invoice_numbers": _invoice_numbers(ledger, record.item_ids),
        "status": evaluation.status if evaluation else ("cancelled" if record.cancelled else "good_standing"),
        "paid": evaluation.paid if evaluation else Decimal(0),
        "next_due": evaluation.next_due if evaluation else None,
        "installments": [
            {
                "sequence": i.sequence,
                "due_date": i.due_date,
                "amount": i.amount,
                "paid": states[i.sequence].paid if i.sequence in states else Decimal(0),
                "status": states[i.sequence].status if i.sequence in states else "open",
            }
            for i in record.installments
        ],
        "note": note,
    }


def _rule_json(proposal: PlanProposal) -> dict[str, Any] | None:
    rule = proposal.rule
    if rule is None:
        return None
    return {
        "max_installments": rule.max_installments,
        "min_down_payment_pct": rule.min_down_payment_pct,
        "frequencies": list(rule.frequencies),
        "grace_days": rule.grace_days,
    }


@payment_plan.command("propose")
@click.argument("customer")
@click.option(
    "--instalments",
    "--installments",
    "instalments",
    type=click.IntRange(1, 120),
    required=True,
    help="Regular instalments after the down payment.",
)
@click.option("--frequency", type=click.Choice(FREQUENCIES), required=True)
@click.option("--down-payment", default="0", show_default=True, help="Paid today, before the instalments.")
@click.option("--first-date", help="Due date of the first instalment (YYYY-MM-DD); default one period from today.")
@click.option(
    "--grace-days",
    type=click.IntRange(0, 365),
    help="Days an instalment may be late before the plan is broken; default the most the rule allows.",
)
@click.option(
    "--items",
    "--item",
    "items",
    multiple=True,
    help="Invoice numbers or item ids the plan covers; default every open invoice not disputed.",
)
@click.option("--note", help="What was agreed, by whom.")
@ledger_options
@dry_run_option
@click.pass_context
def plan_propose(
    ctx: click.Context,
    customer: str,
    instalments: int,
    frequency: str,
    down_payment: str,
    first_date: str | None,
    grace_days: int | None,
    items: Sequence[str],
    note: str | None,
    tenant: str | None,
    policy_path: Path | None,
    as_of_text: str | None,
    rates: Sequence[str],
    output_format: str,
    dry_run: bool,
) -> None:
    """Propose a payment plan: the engine schedules it and checks it against the plan rule of the customer's risk
    category; inside the rule it is recorded (its items are no longer dunned while it is kept), outside it is
    refused with every reason (exit 9)."""
    runtime, ledger = open_ledger(ctx, tenant, policy_path, as_of_text, rates)
    found = _customer(ledger, customer)
    first = parse_day(first_date, "--first-date") if first_date else None
    try:
        proposal = propose_plan(
            ledger,
            found,
            instalments,
            frequency,
            parse_amount(down_payment, "--down-payment"),
            first,
            grace_days,
            split_references(items),
        )
    except RecordError as err:
        raise CliFailure(str(err), EXIT_INPUT) from err
    except Refused as err:
        proposal = PlanProposal(None, found, "", 0.0, None, err.problems)
    made = proposal.plan
    already = made is not None and any(p.id == made.id for p in ledger.portfolio.plans)
    recorded = proposal.accepted and not dry_run and not already
    payload = {
        "tenant": ledger.tenant,
        "dry_run": dry_run,
        "accepted": proposal.accepted,
        "recorded": recorded,
        "already_recorded": already,
        "customer_id": found.id,
        "customer_name": found.name,
        "risk_category": proposal.risk_category or None,
        "risk_score": round(proposal.risk_score, 1),
        "rule": _rule_json(proposal),
        "problems": proposal.problems,
        "plan": plan_json(ledger, made, None, note) if made else None,
    }
    if not proposal.accepted:
        raise refused(proposal.problems, f"payment plan for {found.name} ({found.id})", payload, output_format)
    assert made is not None
    if recorded:
        write_locked(runtime, ledger.tenant, lambda: runtime.store.outcomes.record_plan(ledger.tenant, made, note))
    if output_format == "json":
        echo_json(payload)
        return
    headline = (
        "Dry run: this plan is inside the rules and would be recorded (nothing was written)"
        if dry_run
        else "This plan was recorded already"
        if already
        else "Payment plan accepted and recorded"
    )
    print_schedule(payload, headline)


def print_schedule(payload: dict[str, Any], headline: str) -> None:
    """A plan's schedule as a table, under a headline naming the customer, the risk category and the rule."""
    plan, rule = payload["plan"], payload["rule"]
    limits = (
        (
            f"up to {rule['max_installments']} instalments, down payment from {rule['min_down_payment_pct']}%, "
            f"{'/'.join(rule['frequencies'])}, {rule['grace_days']} days' grace"
        )
        if rule
        else "no rule"
    )
    table = Table(
        title=f"{headline}: {payload['customer_name']} ({payload['customer_id']}), risk "
        f"{payload['risk_category']} {payload['risk_score']:g} ({limits})"
    )
    for column in ("#", "due", "amount"):
        table.add_column(column, justify="left" if column == "due" else "right")
    for instalment in plan["installments"]:
        label = "down payment" if instalment["sequence"] == 0 else str(instalment["sequence"])
        table.add_row(label, str(instalment["due_date"]), f"{instalment['amount']:,}")
    table.add_row("total", "", f"{plan['total']:,} {plan['currency']}")
    console().print(table)
    console().print(
        f"  {plan['frequency']}, {plan['grace_days']} days' grace; covers "
        f"{', '.join(plan['invoice_numbers'])}; id {plan['id']}"
    )


@payment_plan.command("list")
@click.option("--customer", help="Only this customer's (id or exact name).")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["good_standing", "late", "broken", "completed", "cancelled"]),
    help="Only plans in this status as of --as-of (repeat for several).",
)
@ledger_options
@click.pass_context
def plan_list(
    ctx: click.Context,
    customer: str | None,
    statuses: Sequence[str],
    tenant: str | None,
    policy_path: Path | None,
    as_of_text: str | None,
    rates: Sequence[str],
    output_format: str,
) -> None:
    """The payment plans made by --as-of, with their status as the engine judges it then (good standing, late,
    broken, completed, cancelled), what was paid and the next due date."""
    runtime, ledger = open_ledger(ctx, tenant, policy_path, as_of_text, rates)
    only = _customer(ledger, customer).id if customer else None
    evaluations = plan_evaluations(ledger)
    notes = runtime.store.outcomes.notes(ledger.tenant, "plan")
    rows = [
        plan_json(ledger, record, evaluations[record.id], notes.get(record.id))
        for record in sorted(ledger.portfolio.plans, key=lambda p: (p.created_on, p.customer_id, p.id))
        if record.id in evaluations and (only is None or record.customer_id == only)
    ]
    rows = [row for row in rows if not statuses or row["status"] in statuses]
    if output_format == "json":
        echo_json({"tenant": ledger.tenant, "as_of": ledger.as_of, "plans": rows})
        return
    table = Table(title=f"Payment plans of {ledger.tenant} as of {ledger.today}: {len(rows)}")
    for column in ("customer", "made", "total", "paid", "instalments", "next due", "status", "note", "id"):
        table.add_column(column, justify="right" if column in ("total", "paid") else "left", overflow="fold")
    for row in rows:
        regular = [i for i in row["installments"] if i["sequence"] > 0]
        table.add_row(
            f"{row['customer_name']} ({row['customer_id']})",
            str(row["created_on"]),
            f"{row['total']:,} {row['currency']}",
            f"{row['paid']:,}",
            f"{len(regular)} {row['frequency']}"
            + (" + down payment" if len(regular) < len(row["installments"]) else ""),
            str(row["next_due"] or "—"),
            row["status"].replace("_", " "),
            row["note"] or "",
            row["id"],
        )
    console().print(table)


@payment_plan.command("cancel")
@click.argument("plan_id")
@tenant_option
@dry_run_option
@click.pass_context
def plan_cancel(ctx: click.Context, plan_id: str, tenant: str | None, dry_run: bool) -> None:
    """Cancel a payment plan (its items are dunned again by the next run)."""
    _cancel(ctx, "plan", plan_id, tenant, dry_run)


# --------------------------------------------------------------------------------------
# call
# --------------------------------------------------------------------------------------


@click.group()
def call() -> None:
    """Calls made by collectors: log their outcome in the contact history the engine reads."""


@call.command("log")
@click.argument("customer")
@click.option(
    "--outcome",
    type=click.Choice(CALL_OUTCOMES),
    required=True,
    help="responded: talked to the customer; promised: promised to pay (give --promise-amount and "
    "--promise-date); paid: says it is paid; disputed: disputes the invoices; no_answer: no answer or a "
    "message left (for a visit: nobody there); failed: wrong or dead number (for a visit: wrong address).",
)
@click.option(
    "--channel",
    type=click.Choice(LOGGED_CHANNELS),
    default="call",
    show_default=True,
    help="visit: log an in-person visit instead of a call (it carries out the open visit action).",
)
@click.option("--note", help="What was said.")
@click.option("--promise-amount", help="With --outcome promised: the amount promised.")
@click.option("--promise-date", help="With --outcome promised: the date promised (YYYY-MM-DD).")
@click.option(
    "--items",
    "--item",
    "items",
    multiple=True,
    help="With --outcome promised: the invoices promised; default every open invoice.",
)
@ledger_options
@dry_run_option
@click.pass_context
def call_log(
    ctx: click.Context,
    customer: str,
    outcome: str,
    channel: str,
    note: str | None,
    promise_amount: str | None,
    promise_date: str | None,
    items: Sequence[str],
    tenant: str | None,
    policy_path: Path | None,
    as_of_text: str | None,
    rates: Sequence[str],
    output_format: str,
    dry_run: bool,
) -> None:
    """Log a call (or with --channel visit, a visit) made at --as-of (default now): it carries out the customer's
    open call or visit action (the one a run recorded, or the one the engine asks for today) so it is not handed
    over again, and its outcome teaches the engine (a channel that is not answered is switched); a promise made in
    it pauses dunning."""
    promised = outcome == "promised"
    if promised and not (promise_amount and promise_date):
        raise click.UsageError("--outcome promised needs --promise-amount and --promise-date")
    if not promised and (promise_amount or promise_date or items):
        raise click.UsageError("--promise-amount, --promise-date and --items go with --outcome promised")
    runtime, ledger = open_ledger(ctx, tenant, policy_path, as_of_text, rates)
    found = _customer(ledger, customer)
    made = None
    try:
        if promised and promise_amount and promise_date:
            made = new_promise(
                ledger,
                found,
                parse_amount(promise_amount, "--promise-amount"),
                parse_day(promise_date, "--promise-date"),
                split_references(items),
            )
        record = call_record(runtime.store, ledger, found, outcome, made, channel)
    except RecordError as err:
        raise CliFailure(str(err), EXIT_INPUT) from err
    except Refused as err:
        payload = {"tenant": ledger.tenant, "dry_run": dry_run, "recorded": False, "problems": err.problems}
        raise refused(err.problems, "promise", payload, output_format) from err
    if not dry_run:
        write_locked(runtime, ledger.tenant, lambda: _write_call(runtime, ledger, record, note))
    event = record.event
    payload = {
        "tenant": ledger.tenant,
        "dry_run": dry_run,
        "recorded": not dry_run,
        "customer_id": found.id,
        "customer_name": found.name,
        "outcome": outcome,
        "channel": channel,
        "at": event.at,
        "event_id": event.id,
        "answers": record.answers,
        "level": record.answered_level,
        "recorded_first": [action.key for action in record.record_first],
        "promise": promise_json(ledger, made, None, note) if made else None,
        "note": note,
    }
    answered = (
        f"carries out the {channel} action at level {record.answered_level!r} ({record.answers})"
        if record.answers
        else f"no {channel} action was open: logged as a {channel} of its own"
    )
    lines = [f"{found.name} ({found.id}): {outcome.replace('_', ' ')} at {event.at:%Y-%m-%d %H:%M %Z}", answered]
    if made is not None:
        lines.append(f"promise {made.id}: {made.amount} {made.currency} by {made.promised_date}")
    _print(
        payload,
        output_format,
        f"Dry run: this {channel} would be logged (nothing was written)" if dry_run else f"{channel.title()} logged",
        lines,
    )


def _write_call(runtime: Runtime, ledger: Ledger, record: CallRecord, note: str | None) -> None:
    store = runtime.store
    if record.record_first:
        store.outbox.enqueue_actions(
            ledger.tenant, None, record.record_first, ledger.as_of, {record.event.customer_id: record.context}
        )
    store.outcomes.record_call(
        ledger.tenant, record.event, answers=record.answers, promise=record.promise, note=note, at=ledger.as_of
    )


# --------------------------------------------------------------------------------------
# bank
# --------------------------------------------------------------------------------------


@click.group()
def bank() -> None:
    """Where customers pay by transfer: the worklist and the report show it with the invoice numbers to quote."""


@bank.command("set")
@click.option("--currency", default="", help="Currency of the payments it takes (ISO 4217); default any currency.")
@click.option("--holder", required=True, help="Account holder: the company's legal name.")
@click.option("--bank-name", required=True, help="The bank's name.")
@click.option("--iban", help="IBAN (checked).")
@click.option("--account", "account_number", help="Account number where there is no IBAN (with its routing number).")
@click.option("--bic", help="BIC / SWIFT code.")
@tenant_option
@click.pass_context
def bank_set(
    ctx: click.Context,
    currency: str,
    holder: str,
    bank_name: str,
    iban: str | None,
    account_number: str | None,
    bic: str | None,
    tenant: str | None,
) -> None:
    """Set the tenant's bank account for a currency (or for any currency), replacing the one it had."""
    if bool(iban) == bool(account_number):
        raise click.UsageError("give either --iban or --account")
    code = currency.strip().upper()
    if code and not re.fullmatch(r"[A-Z]{3}", code):
        raise click.BadParameter(f"{currency!r} is not an ISO 4217 code such as EUR", param_hint="--currency")
    number = normalised_iban(iban) if iban else None
    problem = iban_problem(number) if number else None
    if problem:
        raise click.BadParameter(problem, param_hint="--iban")
    swift = bic.strip().upper() if bic else None
    if swift and (problem := bic_problem(swift)):
        raise click.BadParameter(problem, param_hint="--bic")
    runtime = open_runtime(ctx)
    name = tenant_name(runtime, tenant)
    account = BankAccount(
        code, holder.strip(), bank_name.strip(), number, (account_number or "").strip() or None, swift
    )
    runtime.store.tenants.save_bank_account(name, account)
    click.echo(f"{name}: payments in {code or 'any currency'} go to {account.describe()}")


@bank.command("list")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@tenant_option
@click.pass_context
def bank_list(ctx: click.Context, output_format: str, tenant: str | None) -> None:
    """The tenant's bank accounts, by currency."""
    runtime = open_runtime(ctx)
    name = tenant_name(runtime, tenant)
    accounts = runtime.store.tenants.bank_accounts(name)
    if output_format == "json":
        echo_json({"tenant": name, "accounts": [a.to_json() for a in accounts]})
        return
    table = Table(title=f"Bank accounts of {name}")
    for column in ("currency", "holder", "bank", "IBAN / account", "BIC"):
        table.add_column(column)
    for account in accounts:
        table.add_row(
            account.currency or "any",
            account.holder,
            account.bank_name,
            grouped_iban(account.iban) if account.iban else account.account_number or "",
            account.bic or "",
        )
    console().print(table)


@bank.command("remove")
@click.option("--currency", default="", help="The account's currency; default the one for any currency.")
@tenant_option
@click.pass_context
def bank_remove(ctx: click.Context, currency: str, tenant: str | None) -> None:
    """Forget the tenant's bank account for a currency."""
    runtime = open_runtime(ctx)
    name = tenant_name(runtime, tenant)
    if not runtime.store.tenants.remove_bank_account(name, currency.strip().upper()):
        raise CliFailure(f"{name}: no bank account for {currency.upper() or 'any currency'}", EXIT_INPUT)
    err_console.print(f"{name}: bank account for {currency.upper() or 'any currency'} removed")


def register(group: click.Group) -> None:
    """Add the commands that record outcomes to the main command group."""
    for command in (promise, payment_plan, call, bank):
        group.add_command(command)
