"""What people read from the CLI and the HTML report: the engine's codes rendered in English and Spanish."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

from collections_engine.aging import age_items
from collections_engine.defaults import default_policy
from collections_engine.engine import plan
from collections_engine.kpis import compute_kpis
from collections_engine.phrases import ENGLISH, Phrase, english
from collections_engine.types import Customer, History, Portfolio, ReceivableItem
from connectors.cli_output import TERMINAL_LABELS, TERMINAL_PLURALS
from connectors.report import DEFAULT_LABELS, render_html_report
from connectors.texts import LOCALES, moment, money, render

AS_OF = datetime(2026, 11, 24, 10, tzinfo=timezone.utc)


def test_every_engine_phrase_and_caption_of_the_report_and_the_terminal_has_a_spanish_translation() -> None:
    with (LOCALES / "es" / "LC_MESSAGES" / "odoo_collections.po").open("rb") as handle:
        catalogue = read_po(handle, locale="es")
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalogue if m.id}
    wanted = [t.singular for t in ENGLISH.values()] + list(DEFAULT_LABELS.values()) + list(TERMINAL_LABELS.values())
    wanted += [singular for singular, _plural in TERMINAL_PLURALS.values()]
    missing = [text for text in wanted if not translated.get(text)]
    assert missing == []
    plurals = [m for m in catalogue if m.id and not isinstance(m.id, str)]
    assert plurals and all(all(form for form in m.string) for m in plurals)  # every plural form filled
    for message in catalogue:  # a translation keeps the template's parameters, or rendering would fail
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        fields = {f for text in ids for f in re.findall(r"\{(\w+)", text)}
        assert all({f for f in re.findall(r"\{(\w+)", s)} <= fields for s in strings), message.id


@pytest.mark.parametrize(("days", "english_text", "spanish"), [
    (1, "F-7 1 day overdue", "F-7 vencida hace 1 día"),
    (12, "F-7 12 days overdue", "F-7 vencida hace 12 días"),
])
def test_counts_take_the_singular_or_the_plural(days: int, english_text: str, spanish: str) -> None:
    phrase = Phrase.of("item_overdue", invoice="F-7", days=days)
    assert english(phrase) == render(phrase, "en") == english_text
    assert render(phrase, "es") == spanish


def test_numbers_money_and_dates_follow_the_language() -> None:
    share = Phrase.of("risk_late_share", value=0.42)
    assert render(share, "en") == "42% of items paid late or long overdue"
    assert render(share, "es") == "42\xa0% de las partidas pagadas tarde o muy vencidas"
    assert money(Decimal("1234.5"), "EUR", "en") == "1,234.50 EUR"
    assert money(Decimal("1234.5"), "EUR", "es") == "1.234,50 EUR"
    assert moment(AS_OF, "en") == "24 Nov 2026, 10:00 UTC"
    assert moment(AS_OF, "es") == "24 nov 2026, 10:00 UTC"


def _decisions() -> tuple[object, ...]:
    customers = (Customer(id="C1", name="Talleres Ebro S.L.", email="ap@ebro.example", country="ES"),)
    items = tuple(
        ReceivableItem(id=f"F-{n}", customer_id="C1", invoice_ref=f"F-{n}", currency="EUR",
                       amount=Decimal("1234.50"), residual=Decimal("1234.50"),
                       issue_date=date(2026, 10, 1) + timedelta(days=n),
                       due_date=date(2026, 11, 10) + timedelta(days=n))
        for n in range(3)
    )
    portfolio = Portfolio(company_currency="EUR", customers=customers, items=items)
    policy = default_policy()
    decisions = plan(portfolio, policy, History(), AS_OF)
    kpis = compute_kpis(portfolio, policy, History(), AS_OF, decisions)
    aging = age_items(portfolio.items, policy.aging_buckets, AS_OF.date(), "EUR", {})
    return decisions, aging, kpis, policy, {c.id: c for c in customers}


def test_the_spanish_report_reads_spanish_with_the_ledgers_figures() -> None:
    decisions, aging, kpis, policy, customers = _decisions()
    html = render_html_report(decisions, aging, kpis, policy, customers, title="Talleres", lang="es")  # type: ignore[arg-type]
    actions = decisions.actions()  # type: ignore[attr-defined]
    assert actions, "the ledger is overdue: there is something to do"
    assert "3.703,50 EUR" in html or "1.234,50 EUR" in html  # the amount asked, written the Spanish way
    assert "vencida hace" in html and "overdue" not in html.split("<h2>Lista de trabajo</h2>")[1]
    assert "No vencido" in html and "not_due" not in html and "121+ días" in html
    assert "Vencido (EUR)" in html  # the stage table says its currency
    assert html.count("Talleres Ebro S.L.") == 1  # one row per customer, whatever its number of actions
    english_html = render_html_report(decisions, aging, kpis, policy, customers, title="Talleres")  # type: ignore[arg-type]
    assert "days overdue" in english_html and "Not due" in english_html and "24 Nov 2026, 10:00" in english_html


SPLIT_EVE = date(2025, 12, 31)


def _settled_history() -> Portfolio:
    """Twelve customers, each with its own habit (paid from 6 days early to 14 late), two years of settled
    invoices and three open ones, so that payment prediction has something to learn and to predict."""
    customers, items = [], []
    for c in range(12):
        customers.append(Customer(id=f"c{c}", name=f"Cliente {c}", email=f"c{c}@example.com", country="ES"))
        for n in range(27):
            issued = SPLIT_EVE - timedelta(days=720 - n * 27)
            due = issued + timedelta(days=30)
            settled = due + timedelta(days=(c % 6) * 4 - 6 + n % 3) if n < 24 else None
            settled = settled if settled is None or settled <= SPLIT_EVE else None
            amount = Decimal(100 + 37 * c + n)
            items.append(ReceivableItem(
                id=f"c{c}-{n}", customer_id=f"c{c}", invoice_ref=f"F-{c}-{n}", currency="EUR", amount=amount,
                residual=amount if settled is None else Decimal(0), issue_date=issued, due_date=due,
                settled_on=settled))
    return Portfolio(company_currency="EUR", customers=tuple(customers), items=tuple(items))


def test_the_report_shows_the_cash_in_forecast_with_the_outlooks_figures() -> None:
    from collections_engine.forecast import payment_outlook

    book = _settled_history()
    outlook = payment_outlook(book, History(), SPLIT_EVE, weeks=4)
    assert len(outlook.predictions) == 36 and outlook.later_items and all(w.items for w in outlook.weeks)
    policy = default_policy()
    decisions = plan(book, policy, History(), datetime(2025, 12, 31, 10, tzinfo=timezone.utc))
    kpis = compute_kpis(book, policy, History(), decisions.as_of, decisions)
    aging = age_items(book.items, policy.aging_buckets, SPLIT_EVE, "EUR", {})
    customers = {c.id: c for c in book.customers}
    for lang, heading, later in (("en", "Cash-in forecast", "later"), ("es", "Previsión de cobros", "más adelante")):
        html = render_html_report(decisions, aging, kpis, policy, customers, title="T", lang=lang,  # type: ignore[arg-type]
                                  outlook=outlook)
        section = html.split(f"<h2>{heading}</h2>")[1].split("<h2>")[0]
        rows = re.findall(r"<tr><td>([^<]*)</td><td class=num>([^<]*)</td><td class=num>([^<]*)</td></tr>", section)
        assert len(rows) == len(outlook.weeks) + 1 and rows[-1][0] == later
        expected = [*(w.amount for w in outlook.weeks), outlook.later_amount]
        assert [r[2] for r in rows] == [money(a, "EUR", lang) for a in expected]
        assert sum(int(r[1].replace(".", "").replace(",", "")) for r in rows) == len(outlook.predictions)
        assert section.count("<rect") == len(rows)  # a bar per week and one for later
        assert sum(expected, Decimal(0)) == sum((i.residual for i in book.items), Decimal(0))  # all that is open
    note_only = render_html_report(decisions, aging, kpis, policy, customers, title="T",  # type: ignore[arg-type]
                                   outlook_note="no invoice was settled before the day")
    assert "No payment prediction: no invoice was settled before the day" in note_only
