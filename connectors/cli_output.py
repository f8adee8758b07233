"""What `run` prints in the terminal, in the reader's language (``--lang``): worklist, how to pay, aging, KPIs.

Captions come from the same gettext catalogue as the HTML report (``connectors/locale``), the engine's reasons
and risk factors are its phrases rendered there, and numbers, money and dates are written the language's way
(Babel). English is the default; a caption without a translation stays English.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_datetime
from rich.console import Console
from rich.table import Table

from collections_engine.aging import AgingReport
from collections_engine.decisions import Action
from collections_engine.kpis import KpiReport, KpiSet

from .cli_common import console, err_console
from .common.banking import PayDetails, pay_details
from .pipeline import RunOutcome
from .report import bucket_label, captions
from .texts import gettext, money, ngettext, number, render, render_all

CLOSED_SHOWN = 20

TERMINAL_LABELS: dict[str, str] = {
    "customer": "customer",
    "level": "level",
    "channel": "channel",
    "not_before": "not before (local)",
    "amount_due": "amount due",
    "at_risk": "at risk",
    "risk": "risk",
    "why": "why",
    "new": "new",
    "would_be_new": "would be new (dry run)",
    "all_shown": "all shown",
    "all_hint": "--all shows every one",
    "at_risk_order": ", largest amount at risk first",
    "pay_title": "How to pay",
    "reference": "reference to quote",
    "pay_online": "pay online",
    "transfer": "Bank transfer ({currency}): {account}",
    "any_currency": "any currency",
    "aging_title": "Aging ({currency})",
    "bucket": "bucket",
    "items": "items",
    "amount": "amount",
    "total": "total",
    "no_prediction": "No payment prediction: {reason}",
    "week_of": "week of",
    "expected": "expected",
    "later": "later",
    "kpis_title": "KPIs {start} to {end}",
    "kpi": "KPI",
    "overall": "overall",
    "dso": "DSO (days)",
    "dso_countback": "DSO countback (days)",
    "best_possible_dso": "Best possible DSO (days)",
    "average_days_delinquent": "Average days delinquent",
    "cei": "CEI",
    "pct_customers_delinquent": "Customers delinquent",
    "pct_amount_delinquent": "Amount delinquent",
    "recovery_rate": "Recovery rate",
    "promise_kept_rate": "Promise-kept rate",
    "cost_per_collection": "Cost per unit collected",
    "receivables": "Receivables",
    "overdue": "Overdue",
    "failed": ", {failed} failed (they are retried by the next run)",
    "balance": "balance",
}
"""The terminal's captions in English: the message ids of their translations (connectors/locale)."""

TERMINAL_PLURALS: dict[str, tuple[str, str]] = {
    "worklist_title": (
        "Worklist for {when}: {new} {new_word} of {planned} action planned today ({shown}{ordering})",
        "Worklist for {when}: {new} {new_word} of {planned} actions planned today ({shown}{ordering})",
    ),
    "more": ("... {count} more action (--limit 0 shows all)", "... {count} more actions (--limit 0 shows all)"),
    "dry_run": (
        "Dry run: {due} action is due; nothing was recorded or sent.",
        "Dry run: {due} actions are due; nothing was recorded or sent.",
    ),
    "delivered": ("Delivered {delivered} due action{failed}.", "Delivered {delivered} due actions{failed}."),
    "held_title": (
        "Credit hold ({currency}): new orders of {count} customer wait until the causes are gone",
        "Credit hold ({currency}): new orders of {count} customers wait until the causes are gone",
    ),
    "cash_in_title": (
        "Cash-in forecast ({currency}), from the expected payment dates of {count} open item",
        "Cash-in forecast ({currency}), from the expected payment dates of {count} open items",
    ),
}
"""Captions with a count: singular and plural message ids."""

KPI_ROWS: tuple[tuple[str, str], ...] = (
    ("dso", ""),
    ("dso_countback", ""),
    ("best_possible_dso", ""),
    ("average_days_delinquent", ""),
    ("cei", " %"),
    ("pct_customers_delinquent", " %"),
    ("pct_amount_delinquent", " %"),
    ("recovery_rate", " %"),
    ("promise_kept_rate", " %"),
    ("cost_per_collection", ""),
)


class Words:
    """The terminal's captions in one language, and its way with numbers, money and dates."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang
        self.report = captions(lang)

    def __call__(self, key: str, **values: Any) -> str:
        """A caption, its parameters filled in."""
        text = gettext(TERMINAL_LABELS[key], self.lang)
        return text.format(**values) if values else text

    def counted(self, key: str, count: int, **values: Any) -> str:
        """A caption whose form depends on ``count`` (also available to the text as ``{count}``)."""
        singular, plural = TERMINAL_PLURALS[key]
        return ngettext(singular, plural, count, self.lang).format(count=count, **values)

    def money(self, value: Decimal | None) -> str:
        """An amount with two decimals (no currency: the caption says it)."""
        return "—" if value is None else money(value, None, self.lang)

    def figure(self, value: float | None, suffix: str = "", decimals: int = 1) -> str:
        """A KPI figure."""
        return "—" if value is None else number(value, self.lang, decimals) + suffix

    def count(self, value: int) -> str:
        """A whole number."""
        return number(value, self.lang)

    def moment(self, value: datetime, pattern: str) -> str:
        """A time by a CLDR pattern, in the language (``EEE dd MMM HH:mm``: Tue 24 Nov 10:00, mar 24 nov 10:00)."""
        return format_datetime(value, pattern, locale=self.lang)

    def day(self, value: date, pattern: str = "d MMM y") -> str:
        """A date: ISO in English (as the terminal always wrote it), by a CLDR pattern in other languages."""
        return value.isoformat() if self.lang == "en" else format_date(value, pattern, locale=self.lang)

    def instant(self, value: datetime) -> str:
        """A moment with its zone: 2026-11-24 10:00 UTC in English, 24 nov 2026, 10:00 UTC in Spanish."""
        if self.lang == "en":
            return f"{value:%Y-%m-%d %H:%M %Z}".strip()
        return f"{format_datetime(value, 'd MMM y, HH:mm', locale=self.lang)} {value:%Z}".strip()

    def channel(self, name: str) -> str:
        """A channel as the report names it (Email, SMS, Letter, Call, WhatsApp, Visit)."""
        return self.report.get(name, name)


# --------------------------------------------------------------------------------------
# Worklist
# --------------------------------------------------------------------------------------


def ordered_actions(outcome: RunOutcome, actions: Sequence[Action], order_by: str = "amount") -> list[Action]:
    """The worklist's order: amount due (largest first), or amount at risk when predicted."""
    outlook = outcome.outlook if order_by == "at-risk" and actions else None
    if outlook is not None:
        at_risk = {a.key: outlook.amount_at_risk(a.item_ids) for a in actions}
        return sorted(actions, key=lambda a: (-at_risk[a.key], -a.amount_due, a.customer_id, a.channel))
    return sorted(actions, key=lambda a: (-a.amount_due, a.customer_id, a.channel))


def how_to_pay(outcome: RunOutcome, item_ids: Sequence[str], currency: str) -> PayDetails:
    """How a customer pays the items asked for: the platform's pay links, and a transfer to the tenant's account for
    the currency quoting the invoice numbers."""
    return pay_details(outcome.pay_links, outcome.invoice_numbers, outcome.bank_accounts, item_ids, currency)


def customers_pay_details(outcome: RunOutcome) -> dict[str, PayDetails]:
    """How each customer with actions today pays what they ask (the items of all their actions)."""
    details = {}
    for decision in outcome.decisions.customers:
        if decision.actions:
            items = list(dict.fromkeys(i for action in decision.actions for i in action.item_ids))
            details[decision.customer_id] = how_to_pay(outcome, items, decision.actions[0].currency)
    return details


def print_outcome(
    outcome: RunOutcome, limit: int, show_all: bool = False, order_by: str = "amount", lang: str = "en"
) -> None:
    """Print the worklist (the new actions, or with ``show_all`` every one planned today, by amount due or at
    risk), how each customer pays, the aging, the cash-in forecast and the KPIs as tables, in ``lang``."""
    out = console()
    words = Words(lang)
    problems = outcome.sync.problems if outcome.sync else []
    if problems:
        err_console.print(f"[yellow]{len(problems)} rows or records were not loaded:[/yellow]")
        for problem in problems[:20]:
            where = f"line {problem['line']}" if "line" in problem else problem.get("record", "?")
            err_console.print(f"  {where}: {problem['reason']}")
        if len(problems) > 20:
            err_console.print(f"  ... and {len(problems) - 20} more (use --format json to see all)")
    print_report(out, recognised_report(outcome))
    print_closing(out, outcome)
    # a rerun with nothing new lists no action: its decisions are not even read (see pipeline.DeferredDetail)
    planned = outcome.decisions.actions() if show_all or outcome.fresh_keys else []
    fresh = [a for a in planned if a.key in outcome.fresh_keys]
    actions = ordered_actions(outcome, planned if show_all else fresh, order_by)[: limit or None]
    out.print(worklist_table(outcome, words, actions, len(fresh), outcome.planned, show_all, order_by))
    more = len(planned if show_all else fresh) - len(actions)
    if limit and more > 0:
        out.print(words.counted("more", more))
    print_pay_details(out, outcome, actions, words)
    print_credit_holds(out, outcome, words)
    print_delivery(out, outcome, lang)
    print_aging(out, outcome.aging, lang)
    print_cash_in(out, outcome, lang)
    print_kpis(out, outcome.kpis, lang)


def worklist_table(
    outcome: RunOutcome,
    words: Words,
    actions: Sequence[Action],
    fresh: int,
    planned: int,
    show_all: bool,
    order_by: str,
) -> Table:
    """The worklist: who to contact, on which channel, not before when, for how much, the risk and why."""
    outlook = outcome.outlook if actions else None
    title = words.counted(
        "worklist_title",
        planned,
        when=words.instant(outcome.as_of),
        new=fresh,
        planned=planned,
        new_word=words("would_be_new" if outcome.delivery.dry_run else "new"),
        shown=words("all_shown" if show_all else "all_hint"),
        ordering=words("at_risk_order") if order_by == "at-risk" and outcome.predicted else "",
    )
    table = Table(title=title)
    columns = ["customer", "level", "channel", "not_before", "amount_due", "risk", "why"]
    if outcome.predicted:
        columns.insert(5, "at_risk")
    for column in columns:
        table.add_column(
            words(column), overflow="fold", justify="right" if column in ("amount_due", "at_risk") else "left"
        )
    decisions = {d.customer_id: d for d in outcome.decisions.customers} if actions else {}
    people = {c.id: c.name for c in outcome.customers} if actions else {}
    for action in actions:
        risk = decisions[action.customer_id].risk
        top = max(risk.contributions, key=lambda c: c.points)
        name = people.get(action.customer_id, action.customer_id)
        factor = f" ({render(top.phrase, words.lang)})" if top.points >= 0.5 else ""
        cells = [
            name if name == action.customer_id else f"{name} ({action.customer_id})",
            action.level,
            words.channel(action.channel),
            words.moment(action.local_time, "EEE dd MMM HH:mm"),
            words.money(action.amount_due),
            f"{risk.score:.0f} {risk.category}{factor}",
            render_all(action.reason_parts, words.lang) if action.reason_parts else action.reason,
        ]
        if outlook is not None:
            cells.insert(5, words.money(outlook.amount_at_risk(action.item_ids)))
        table.add_row(*cells)
    return table


def print_credit_holds(console: Console, outcome: RunOutcome, words: Words) -> None:
    """The customers on credit hold (the policy's ``credit_hold``), largest overdue first: why, how much."""
    held = outcome.credit_holds
    if not held:
        return
    table = Table(title=words.counted("held_title", len(held), currency=held[0][1].currency))
    for column in ("customer", "why", "overdue", "balance"):
        money_column = column in ("overdue", "balance")
        table.add_column(words(column), overflow="fold", justify="right" if money_column else "left")
    for name, hold in held:
        table.add_row(
            name if name == hold.customer_id else f"{name} ({hold.customer_id})",
            render_all(hold.reason_parts, words.lang),
            words.money(hold.overdue),
            words.money(hold.balance),
        )
    console.print(table)


def print_pay_details(console: Console, outcome: RunOutcome, actions: Sequence[Action], words: Words) -> None:
    """For each customer of the worklist shown: the reference to quote and the pay links; then the bank accounts."""
    rows: dict[str, PayDetails] = {}
    for action in actions:
        if action.customer_id not in rows:
            rows[action.customer_id] = how_to_pay(outcome, action.item_ids, action.currency)
    accounts = outcome.bank_accounts
    if not any(rows.values()):
        return
    people = {c.id: c.name for c in outcome.customers}
    table = Table(title=words("pay_title"))
    for column in ("customer", "reference", "pay_online"):
        table.add_column(words(column), overflow="fold")
    for customer_id, row in rows.items():
        name = people.get(customer_id, customer_id)
        table.add_row(
            name if name == customer_id else f"{name} ({customer_id})", row.reference, "\n".join(row.links) or "—"
        )
    console.print(table)
    for account in accounts:
        console.print(words("transfer", currency=account.currency or words("any_currency"), account=account.describe()))


def recognised_report(outcome: RunOutcome) -> dict[str, Any] | None:
    """The accounting report the ledger file was recognised as (layout, as-of date, totals), else None."""
    report = outcome.sync.details.get("report") if outcome.sync else None
    return report if isinstance(report, dict) else None


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
    sync = outcome.sync
    if sync is None:
        return
    closed = sync.closed_items
    if closed:
        more = f" and {len(closed) - CLOSED_SHOWN} more" if len(closed) > CLOSED_SHOWN else ""
        shown = ", ".join(closed[:CLOSED_SHOWN]) + more
        console.print(f"Closed {len(closed)} open items no longer in the file (paid or cancelled): {shown}")
    if sync.closing_withheld:
        console.print(f"[yellow]{sync.closing_withheld}[/yellow]")


def print_delivery(console: Console, outcome: RunOutcome, lang: str = "en") -> None:
    """Say what was delivered (or, under a dry run, what would have been)."""
    words = Words(lang)
    delivery = outcome.delivery
    if delivery.dry_run:
        console.print(words.counted("dry_run", delivery.due, due=words.count(delivery.due)))
        return
    failed = words("failed", failed=words.count(delivery.failed)) if delivery.failed else ""
    console.print(
        words.counted("delivered", delivery.delivered, delivered=words.count(delivery.delivered), failed=failed)
    )
    for error in delivery.errors[:5]:
        err_console.print(f"  [yellow]{error}[/yellow]")


# --------------------------------------------------------------------------------------
# Aging, cash-in, KPIs
# --------------------------------------------------------------------------------------


def print_aging(console: Console, aging: AgingReport, lang: str = "en") -> None:
    """Print the aging buckets."""
    words = Words(lang)
    table = Table(title=words("aging_title", currency=aging.company_currency))
    table.add_column(words("bucket"))
    table.add_column(words("items"), justify="right")
    table.add_column(words("amount"), justify="right")
    for bucket in aging.buckets:
        table.add_row(
            bucket_label(bucket.label, words.report), words.count(bucket.items), words.money(bucket.company_amount)
        )
    table.add_row(words("total"), words.count(sum(b.items for b in aging.buckets)), words.money(aging.total))
    console.print(table)


def print_cash_in(console: Console, outcome: RunOutcome, lang: str = "en") -> None:
    """Print the open items expected to be paid each week (from their predicted payment dates), or why not."""
    words = Words(lang)
    outlook = outcome.outlook
    if outlook is None:
        if outcome.outlook_note:
            console.print(words("no_prediction", reason=outcome.outlook_note))
        return
    table = Table(title=words.counted("cash_in_title", len(outlook.predictions), currency=outlook.company_currency))
    table.add_column(words("week_of"))
    table.add_column(words("items"), justify="right")
    table.add_column(words("expected"), justify="right")
    for week in outlook.weeks:
        table.add_row(
            format_date(week.week_start, "EEE dd MMM y", locale=lang), words.count(week.items), words.money(week.amount)
        )
    table.add_row(words("later"), words.count(outlook.later_items), words.money(outlook.later_amount))
    console.print(table)


def print_kpis(console: Console, report: KpiReport, lang: str = "en") -> None:
    """Print the KPIs, overall and per group."""
    words = Words(lang)
    sets: list[tuple[str, KpiSet]] = [(words("overall"), report.overall), *report.groups.items()]
    overall = report.overall
    table = Table(title=words("kpis_title", start=words.day(overall.period_start), end=words.day(overall.period_end)))
    table.add_column(words("kpi"))
    for name, _ in sets:
        table.add_column(name, justify="right")
    for attribute, suffix in KPI_ROWS:
        decimals = 4 if attribute == "cost_per_collection" else 1
        table.add_row(words(attribute), *(words.figure(getattr(kpi, attribute), suffix, decimals) for _, kpi in sets))
    table.add_row(words("receivables"), *(words.money(kpi.receivables) for _, kpi in sets))
    table.add_row(words("overdue"), *(words.money(kpi.overdue) for _, kpi in sets))
    console.print(table)
