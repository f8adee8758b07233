"""Deterministic synthetic portfolios for the engine benchmarks (not shipped data)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from collections_engine.types import ContactEvent, Customer, History, Portfolio, ReceivableItem

COUNTRIES = ("ES", "MX", "US", "FR", "DE", "CO", None)


def synthetic(customers: int, items: int, as_of: date, seed: int = 7) -> tuple[Portfolio, History]:
    """Build ``customers`` customers and ``items`` open items spread over the last 18 months."""
    rng = random.Random(seed)
    days = [as_of - timedelta(days=offset) for offset in range(-90, 560)]
    amounts = [Decimal(rng.randint(1_000, 500_000)) / 100 for _ in range(4096)]
    people = []
    for number in range(customers):
        people.append(
            Customer(
                id=f"C{number:07d}",
                name=f"Customer {number}",
                country=COUNTRIES[number % len(COUNTRIES)],
                email=f"ar{number}@example.com" if number % 10 else None,
                phone=f"+3460000{number:06d}",
                credit_limit=Decimal(50_000) if number % 3 == 0 else None,
            )
        )
    rows = []
    per_customer = max(1, items // customers)
    for number in range(items):
        # ledgers are read ordered by customer (SQL ORDER BY partner), so a customer's items are adjacent
        customer = people[min(number // per_customer, customers - 1)]
        issue = days[rng.randint(30, len(days) - 1)]
        due = issue + timedelta(days=(30, 45, 60, 90)[number % 4])
        amount = amounts[number & 4095]
        settled = None
        residual = amount
        if number % 5 == 0:
            residual = (amount / 2).quantize(Decimal("0.01"))
        rows.append(
            ReceivableItem(
                id=f"I{number:08d}",
                customer_id=customer.id,
                invoice_ref=f"INV/{number:08d}",
                currency="EUR",
                amount=amount,
                residual=residual,
                issue_date=issue,
                due_date=due,
                disputed=number % 97 == 0,
                settled_on=settled,
            )
        )
    at = datetime.combine(as_of - timedelta(days=20), datetime.min.time(), UTC).replace(hour=10)
    events = tuple(
        ContactEvent(
            id=f"E{number}",
            customer_id=people[number].id,
            at=at,
            channel="email",
            level="first",
            strategy="standard",
            item_ids=(f"I{number * per_customer:08d}",),
        )
        for number in range(0, customers, 4)
        if number * per_customer < items
    )
    return Portfolio(company_currency="EUR", customers=tuple(people), items=tuple(rows)), History(events=events)


def synthetic_history(customers: int, items: int, as_of: date, seed: int = 11) -> tuple[Portfolio, History]:
    """Build ``items`` invoices of ``customers`` customers issued over the two years before ``as_of``: those
    whose (generated) payment day fell before ``as_of`` are settled, the others (and 8 % never paid) open.
    Each customer has its own habit (days after due), moved by disputes (+) and paper invoices (+), so
    prediction has something to learn; one customer in four got a reminder on some of its late items."""
    rng = random.Random(seed)
    habits = [rng.gauss(0.0, 8.0) for _ in range(customers)]
    paperless_from = [as_of - timedelta(days=rng.randint(0, 900)) for _ in range(customers)]
    people = tuple(Customer(id=f"C{number:07d}", name=f"Customer {number}") for number in range(customers))
    rows = []
    events = []
    per_customer = max(1, items // customers)
    for number in range(items):
        owner = min(number // per_customer, customers - 1)
        issue = as_of - timedelta(days=rng.randint(0, 730))
        due = issue + timedelta(days=30)
        disputed = rng.random() < 0.2
        paper = issue < paperless_from[owner]
        offset = round(habits[owner] + (12 if disputed else 0) + (4 if paper else 0) + rng.gauss(0.0, 5.0))
        paid = max(issue, due + timedelta(days=offset))
        settled = paid if paid <= as_of and rng.random() >= 0.08 else None  # some are never paid (yet)
        amount = Decimal(rng.randint(1_000, 500_000)) / 100
        item_id = f"I{number:08d}"
        rows.append(
            ReceivableItem(
                id=item_id,
                customer_id=people[owner].id,
                invoice_ref=f"INV/{number:08d}",
                currency="EUR",
                amount=amount,
                residual=Decimal(0) if settled else amount,
                issue_date=issue,
                due_date=due,
                disputed=disputed,
                settled_on=settled,
                delivery="paper" if paper else "electronic",
            )
        )
        if owner % 4 == 0 and offset > 7 and due + timedelta(days=7) < as_of:
            at = datetime.combine(due + timedelta(days=7), datetime.min.time(), UTC).replace(hour=10)
            events.append(
                ContactEvent(id=f"R{number}", customer_id=people[owner].id, at=at, channel="email", item_ids=(item_id,))
            )
    return Portfolio(company_currency="EUR", customers=people, items=tuple(rows)), History(events=tuple(events))
