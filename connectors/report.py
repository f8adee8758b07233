"""A self-contained HTML report of a run: aging, risk distribution, stage funnel, KPIs, worklist.

No external CSS, JS or fonts (the page must open offline); charts are inline SVG built here.
Every caption comes from a labels mapping, so the page can be rendered in Spanish.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape

from babel.dates import format_date

from collections_engine.aging import AgingReport
from collections_engine.decisions import Decisions
from collections_engine.forecast import PaymentOutlook
from collections_engine.kpis import KpiReport, KpiSet
from collections_engine.policy import Policy
from collections_engine.types import Customer

from .common.banking import PayDetails
from .texts import gettext, moment, money, number, render, render_all

DEFAULT_LABELS: dict[str, str] = {
    "aging": "Aging",
    "risk": "Risk distribution",
    "stages": "Cases by stage",
    "kpis": "Key indicators",
    "worklist": "Worklist",
    "customer": "Customer",
    "level": "Level",
    "channel": "Channel",
    "actions": "Actions",
    "amount": "Amount due",
    "when": "Not before (local time)",
    "why": "Why",
    "risk_col": "Risk",
    "stage": "Stage",
    "customers": "customers",
    "cases": "Cases",
    "overdue": "Overdue",
    "generated": "As of {as_of} - policy {policy} (revision {revision})",
    "dso": "DSO (days)",
    "dso_countback": "Countback DSO (days)",
    "cei": "CEI",
    "average_days_delinquent": "Average days delinquent",
    "pct_customers_delinquent": "Customers delinquent",
    "pct_amount_delinquent": "Amount delinquent",
    "recovery_rate": "Recovery rate",
    "promise_kept_rate": "Promises kept",
    "cost_per_collection": "Cost per unit collected",
    "group": "Group",
    "no_actions": "Nothing to do today.",
    "not_due": "Not due",
    "days": "{range} days",
    "email": "Email",
    "sms": "SMS",
    "letter": "Letter",
    "call": "Call",
    "whatsapp": "WhatsApp",
    "visit": "Visit",
    "pay": "How to pay",
    "pay_online": "Pay online",
    "transfer": "Bank transfer to {account}, quoting {reference}",
    "forecast": "Cash-in forecast",
    "forecast_note": "Open amounts by the week of their expected payment date (payment prediction trained on {count} "
    "settled items); amounts in {currency}.",
    "week_of": "week of",
    "items": "items",
    "later": "later",
    "no_forecast": "No payment prediction: {reason}",
    "credit_hold": "Credit hold",
    "credit_hold_note": "New orders of these customers wait until the causes are gone.",
    "balance": "Balance",
}
"""The report's captions in English: the message ids of its translations (connectors/locale)."""


def captions(lang: str) -> dict[str, str]:
    """The captions in a language (English where a translation is missing)."""
    return {key: gettext(text, lang) for key, text in DEFAULT_LABELS.items()}


# Odoo's kanban colour indexes 0-11, so the report matches the addon.
PALETTE = (
    "#9e9e9e",
    "#f06050",
    "#f4a460",
    "#f7cd1f",
    "#6cc1ed",
    "#814968",
    "#eb7e7f",
    "#2c8397",
    "#475577",
    "#d6145f",
    "#30c381",
    "#9365b8",
)
KPI_TILES: tuple[tuple[str, str], ...] = (
    ("dso", ""),
    ("dso_countback", ""),
    ("cei", " %"),
    ("average_days_delinquent", ""),
    ("pct_customers_delinquent", " %"),
    ("pct_amount_delinquent", " %"),
    ("recovery_rate", " %"),
    ("promise_kept_rate", " %"),
    ("cost_per_collection", ""),
)
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:13px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:24px}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.tile{border:1px solid #e3e3e3;border-radius:6px;padding:10px}.tile b{display:block;font-size:22px}
.tile span{color:#666;font-size:12px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eee;padding:5px 6px;text-align:left;vertical-align:top}th{background:#f6f6f6}
td.num,th.num{text-align:right;white-space:nowrap}.pill{border-radius:9px;padding:1px 7px;color:#fff;font-size:11px}
svg text{font-size:11px;fill:#333}@media print{body{margin:0}.grid{display:block}}
"""


def _money(value: Decimal | float | None, lang: str = "en", currency: str | None = None) -> str:
    return "—" if value is None else money(value, currency, lang)


def bucket_label(label: str, text: Mapping[str, str]) -> str:
    """An aging bucket as people read it: 'Not due', '1-30 days', '121+ days'."""
    return text["not_due"] if label == "not_due" else text["days"].format(range=label)


def _bars(values: Sequence[tuple[str, float, str]], width: int = 520, height: int = 220) -> str:
    """A vertical bar chart: (label, value, colour) per bar, values printed above the bars."""
    top = max((v for _, v, _ in values), default=0.0) or 1.0
    slot = width / max(1, len(values))
    parts = [f'<svg viewBox="0 0 {width} {height + 40}" width="100%" role="img">']
    for index, (label, value, colour) in enumerate(values):
        bar = (height - 20) * value / top
        x = index * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bar:.1f}" width="{slot * 0.7:.1f}" height="{bar:.1f}" fill="{colour}"/>'
        )
        middle = x + slot * 0.35
        parts.append(f'<text x="{middle:.1f}" y="{height - bar - 4:.1f}" text-anchor="middle">{_short(value)}</text>')
        parts.append(f'<text x="{middle:.1f}" y="{height + 16}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


def _aging_chart(aging: AgingReport, text: Mapping[str, str]) -> str:
    colours = ("#30c381", "#6cc1ed", "#f7cd1f", "#f4a460", "#f06050", "#9d1c1c")
    return _bars([(bucket_label(b.label, text), float(b.company_amount), colours[min(i, len(colours) - 1)])
                  for i, b in enumerate(aging.buckets)])


def _risk_chart(decisions: Decisions, policy: Policy) -> str:
    bins = [0] * 10
    for decision in decisions.customers:
        bins[min(9, int(decision.risk.score // 10))] += 1
    bars = []
    for index, count in enumerate(bins):
        colour = PALETTE[policy.category_for(index * 10 + 5).color % len(PALETTE)]
        bars.append((f"{index * 10}-{index * 10 + 10}", float(count), colour))
    return _bars(bars)


def _category_counts(decisions: Decisions, policy: Policy, labels: Mapping[str, str]) -> str:
    counts = {c.key: 0 for c in policy.risk.categories}
    for decision in decisions.customers:
        counts[decision.risk.category] = counts.get(decision.risk.category, 0) + 1
    return " ".join(
        f'<span class="pill" style="background:{PALETTE[c.color % len(PALETTE)]}">{escape(c.name)}: '
        f"{counts[c.key]} {escape(labels['customers'])}</span>"
        for c in policy.risk.categories
    )


def _stages(decisions: Decisions, policy: Policy, labels: Mapping[str, str], currency: str, lang: str) -> str:
    rows = []
    for stage in sorted(policy.stages, key=lambda s: s.sequence):
        cases = [d for d in decisions.customers if d.stage == stage.key]
        amount = sum((d.overdue_amount for d in cases), Decimal(0))
        rows.append(f"<tr><td>{escape(stage.name)}</td><td class=num>{number(len(cases), lang)}</td>"
                    f"<td class=num>{escape(_money(amount, lang))}</td></tr>")
    return (
        f"<table><tr><th>{escape(labels['stage'])}</th><th class=num>{escape(labels['cases'])}</th>"
        f"<th class=num>{escape(labels['overdue'])} ({escape(currency)})</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _figure(kpi: KpiSet, name: str, suffix: str, lang: str) -> str:
    value = getattr(kpi, name)
    return "—" if value is None else number(value, lang, 3 if name == "cost_per_collection" else 1) + suffix


def _kpis(report: KpiReport, labels: Mapping[str, str], lang: str) -> str:
    tiles = "".join(
        f'<div class="tile"><b>{escape(_figure(report.overall, name, suffix, lang))}</b>'
        f"<span>{escape(labels[name])}</span></div>"
        for name, suffix in KPI_TILES
    )
    html = f'<div class="tiles">{tiles}</div>'
    if report.groups:
        head = "".join(f"<th class=num>{escape(labels[name])}</th>" for name, _ in KPI_TILES)
        body = "".join(
            f"<tr><td>{escape(group)}</td>"
            + "".join(f"<td class=num>{escape(_figure(kpi, n, s, lang))}</td>" for n, s in KPI_TILES)
            + "</tr>"
            for group, kpi in report.groups.items()
        )
        html += f"<h3>{escape(labels['group'])}: {escape(report.grouping or '')}</h3>"
        html += f"<table><tr><th></th>{head}</tr>{body}</table>"
    return html


def _forecast(outlook: PaymentOutlook | None, note: str | None, text: Mapping[str, str], lang: str) -> str:
    """The cash expected week by week from the predicted payment dates: a bar per week (and one for later) and the
    same figures as a table, in the company currency; or why there is no prediction."""
    if outlook is None:
        return f"<p>{escape(text['no_forecast'].format(reason=note))}</p>" if note else ""
    weeks = [(format_date(week.week_start, "d MMM", locale=lang), week.items, week.amount) for week in outlook.weeks]
    weeks.append((text["later"], outlook.later_items, outlook.later_amount))
    chart = _bars([(label, float(amount), "#2c8397") for label, _, amount in weeks], width=900)
    rows = "".join(
        f"<tr><td>{escape(label)}</td><td class=num>{escape(number(items, lang))}</td>"
        f"<td class=num>{escape(_money(amount, lang, outlook.company_currency))}</td></tr>"
        for label, items, amount in weeks
    )
    note_text = text["forecast_note"].format(count=number(outlook.model.training_items, lang),
                                             currency=outlook.company_currency)
    return (
        f"<p class=meta>{escape(note_text)}</p>{chart}"
        f"<table><tr><th>{escape(text['week_of'])}</th><th class=num>{escape(text['items'])}</th>"
        f"<th class=num>{escape(text['amount'])}</th></tr>{rows}</table>"
    )


def _credit_holds(decisions: Decisions, customers: Mapping[str, Customer], text: Mapping[str, str], lang: str) -> str:
    """The customers on credit hold, largest overdue first: why, overdue and balance (company currency)."""
    held = sorted((d.credit_hold for d in decisions.customers if d.credit_hold is not None),
                  key=lambda h: (-h.overdue, h.customer_id))
    if not held:
        return ""
    rows = "".join(
        f"<tr><td>{escape(customers[h.customer_id].name if h.customer_id in customers else h.customer_id)}</td>"
        f"<td>{escape(render_all(h.reason_parts, lang))}</td>"
        f"<td class=num>{escape(_money(h.overdue, lang, h.currency))}</td>"
        f"<td class=num>{escape(_money(h.balance, lang, h.currency))}</td></tr>"
        for h in held
    )
    return (
        f"<p class=meta>{escape(text['credit_hold_note'])}</p><table><tr><th>{escape(text['customer'])}</th>"
        f"<th>{escape(text['why'])}</th><th class=num>{escape(text['overdue'])}</th>"
        f"<th class=num>{escape(text['balance'])}</th></tr>{rows}</table>"
    )


def _pay_cell(details: PayDetails | None, labels: Mapping[str, str]) -> str:
    """The platform's pay links and the transfer to make, quoting the invoice numbers."""
    if not details:
        return "<td></td>"
    parts = [
        f'<a href="{escape(link, quote=True)}">{escape(labels["pay_online"])}</a>'
        for link in details.links
        if link.startswith(("https://", "http://"))  # a platform's link, never a script
    ]
    if details.account is not None:
        parts.append(escape(labels["transfer"].format(account=details.account.describe(), reference=details.reference)))
    return f"<td>{'<br>'.join(parts)}</td>"


def _worklist(
    decisions: Decisions,
    customers: Mapping[str, Customer],
    policy: Policy,
    labels: Mapping[str, str],
    lang: str,
    payments: Mapping[str, PayDetails] | None = None,
) -> str:
    """One row per customer with today's actions: their levels and channels, when, the amount asked (the
    largest of the customer's actions: each reminder asks the same statement), the risk and why, and how to pay
    (pay links, bank transfer) when there is a way."""
    by_customer = [d for d in decisions.customers if d.actions]
    if not by_customer:
        return f"<p>{escape(labels['no_actions'])}</p>"
    by_customer.sort(key=lambda d: (-max(a.amount_due for a in d.actions), d.customer_id))
    colours = {c.key: PALETTE[c.color % len(PALETTE)] for c in policy.risk.categories}
    levels = {level.key: level.name for strategy in policy.strategies for level in strategy.levels}
    paying = {k: v for k, v in (payments or {}).items() if v}
    columns = ("customer", "actions", "amount", "when", "risk_col", "why") + (("pay",) if paying else ())
    head = "".join(f"<th{' class=num' if k == 'amount' else ''}>{escape(labels[k])}</th>" for k in columns)
    rows = []
    for decision in by_customer:
        actions = sorted(decision.actions, key=lambda a: (a.not_before, a.channel))
        risk = decision.risk
        customer = customers.get(decision.customer_id)
        name = customer.name if customer is not None else decision.customer_id
        steps = "<br>".join(
            f"{escape(levels.get(a.level, a.level))}: {escape(labels.get(a.channel, a.channel))}" for a in actions
        )
        asked = max(actions, key=lambda a: a.amount_due)
        when = sorted({moment(a.local_time, lang) for a in actions})
        top = sorted(risk.contributions, key=lambda c: -c.points)[:3]
        explanation = "; ".join(f"{render(c.phrase, lang)} (+{c.points:.0f})" for c in top if c.points >= 0.5)
        why = "<br>".join(sorted({escape(render_all(a.reason_parts, lang)) for a in actions if a.reason_parts}))
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{steps}</td>"
            f"<td class=num>{escape(_money(asked.amount_due, lang, asked.currency))}</td>"
            f"<td>{'<br>'.join(escape(w) for w in when)}</td>"
            f'<td><span class="pill" style="background:{colours.get(risk.category, "#999")}">{risk.score:.0f}</span> '
            f"{escape(explanation)}</td><td>{why}</td>"
            + (_pay_cell(paying.get(decision.customer_id), labels) if paying else "")
            + "</tr>"
        )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def render_html_report(
    decisions: Decisions,
    aging: AgingReport,
    kpis: KpiReport,
    policy: Policy,
    customers: Mapping[str, Customer],
    title: str,
    labels: Mapping[str, str] | None = None,
    lang: str = "en",
    payments: Mapping[str, PayDetails] | None = None,
    outlook: PaymentOutlook | None = None,
    outlook_note: str | None = None,
) -> str:
    """Return the report page as one HTML string (same inputs, same bytes), in English or Spanish (``lang``);
    ``payments`` says how each customer pays (pay links, bank transfer), shown beside their worklist row;
    ``outlook`` (payment prediction) adds the cash-in forecast by week, ``outlook_note`` says why there is none."""
    text = {**captions(lang), **(labels or {})}
    footer = text["generated"].format(as_of=moment(decisions.as_of, lang), policy=policy.name,
                                      revision=policy.revision)
    sections = [
        f"<h2>{escape(text['kpis'])}</h2>{_kpis(kpis, text, lang)}",
        '<div class="grid"><div>',
        f"<h2>{escape(text['aging'])} ({escape(aging.company_currency)})</h2>{_aging_chart(aging, text)}</div><div>",
        f"<h2>{escape(text['risk'])}</h2>{_risk_chart(decisions, policy)}",
        f"<p>{_category_counts(decisions, policy, text)}</p></div></div>",
        f"<h2>{escape(text['stages'])}</h2>{_stages(decisions, policy, text, aging.company_currency, lang)}",
    ]
    holds = _credit_holds(decisions, customers, text, lang)
    if holds:
        sections.append(f"<h2>{escape(text['credit_hold'])}</h2>{holds}")
    forecast = _forecast(outlook, outlook_note, text, lang)
    if forecast:
        sections.append(f"<h2>{escape(text['forecast'])}</h2>{forecast}")
    sections += [
        f"<h2>{escape(text['worklist'])}</h2>{_worklist(decisions, customers, policy, text, lang, payments)}",
    ]
    head = f'<!DOCTYPE html><html lang="{escape(lang)}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
    return (
        f"{head}<style>{STYLE}</style></head><body><h1>{escape(title)}</h1><p class=meta>{escape(footer)}</p>"
        + "".join(sections)
        + f"<p class=meta>{escape(footer)}</p></body></html>\n"
    )
