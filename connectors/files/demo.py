"""Generates the demo receivables ledger shipped with the package (deterministic, seeded).

    python -m connectors.files.demo --out connectors/files/data/demo_ledger.csv

Customers of several countries and payment habits (good, slow, chronic late, stopped
paying, new), 18 months of invoices with 15-60 day terms, some in two instalments, some
partly paid, disputed or credited, so that every part of the engine has something to do.
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

DEMO_ANCHOR = date(2026, 11, 24)
DEMO_LEDGER = Path(__file__).resolve().parent / "data" / "demo_ledger.csv"
DEMO_RATES: dict[str, Decimal] = {
    "USD": Decimal("0.92"),
    "MXN": Decimal("0.050"),
    "COP": Decimal("0.00023"),
    "ARS": Decimal("0.00095"),
}
HEADER = (
    "customer_id",
    "customer_name",
    "email",
    "phone",
    "mobile",
    "country",
    "language",
    "credit_limit",
    "collector",
    "invoice_number",
    "invoice_date",
    "due_date",
    "amount",
    "paid_amount",
    "currency",
    "settled_date",
    "disputed",
)


@dataclass(frozen=True)
class _Country:
    code: str
    language: str
    currency: str
    prefix: str
    domain: str
    first: tuple[str, ...]
    second: tuple[str, ...]
    suffix: tuple[str, ...]


COUNTRIES = (
    _Country(
        "ES",
        "es",
        "EUR",
        "+34",
        "example.es",
        ("Distribuciones", "Suministros", "Comercial", "Talleres", "Ferretería", "Construcciones", "Transportes"),
        ("Levante", "del Norte", "Ibérica", "Mediterráneo", "Castilla", "Atlántico", "Ebro", "Guadalquivir"),
        ("S.L.", "S.A.", "S.L.U."),
    ),
    _Country(
        "MX",
        "es",
        "MXN",
        "+52",
        "example.mx",
        ("Ferretería", "Abarrotes", "Grupo", "Comercializadora", "Servicios", "Maquinaria"),
        ("del Bajío", "Azteca", "Norteña", "del Pacífico", "Jalisco", "Sierra Madre"),
        ("S.A. de C.V.", "S. de R.L. de C.V."),
    ),
    _Country(
        "US",
        "en",
        "USD",
        "+1",
        "example.com",
        ("Blue Harbor", "Summit", "Prairie", "Lakeside", "Ironwood", "Golden Gate", "Red Rock"),
        ("Supply", "Logistics", "Builders", "Foods", "Industrial", "Services"),
        ("LLC", "Inc.", "Corp."),
    ),
    _Country(
        "FR",
        "fr",
        "EUR",
        "+33",
        "example.fr",
        ("Atelier", "Société", "Maison", "Comptoir", "Établissements"),
        ("Dupont", "Lefèvre", "du Rhône", "de Provence", "Bretagne"),
        ("SARL", "SAS"),
    ),
    _Country(
        "DE",
        "de",
        "EUR",
        "+49",
        "example.de",
        ("Müller", "Schmidt", "Becker", "Hoffmann", "Wagner"),
        ("Metallbau", "Logistik", "Handel", "Elektro", "Holzbau"),
        ("GmbH", "AG", "KG"),
    ),
    _Country(
        "CO",
        "es",
        "COP",
        "+57",
        "example.co",
        ("Inversiones", "Distribuidora", "Comercializadora"),
        ("Andina", "del Caribe", "Antioquia", "Cafetera"),
        ("S.A.S.",),
    ),
    _Country(
        "AR",
        "es",
        "ARS",
        "+54",
        "example.com.ar",
        ("Frigorífico", "Distribuidora", "Metalúrgica"),
        ("Pampa", "del Plata", "Patagonia"),
        ("S.R.L.", "S.A."),
    ),
)
COUNTRY_WEIGHTS = (40, 15, 15, 10, 10, 5, 5)
# habit: (share of customers, days late range, share of open items left unpaid)
HABITS = {
    "good": (0.45, (-5, 3), 0.0),
    "slow": (0.25, (5, 40), 0.1),
    "chronic": (0.15, (35, 120), 0.3),
    "stopped": (0.05, (60, 200), 1.0),
    "new": (0.10, (-3, 20), 0.2),
}
COLLECTORS = ("ana", "luis", "marta")
TERMS = (15, 30, 30, 45, 60)
_CENT = Decimal("0.01")


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_CENT, rounding=ROUND_HALF_UP)


def _pick_habit(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for habit, (share, _, _) in HABITS.items():
        total += share
        if roll < total:
            return habit
    return "good"


def _customer(rng: random.Random, number: int, used: set[str]) -> dict[str, str]:
    country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
    name = ""
    while not name or name in used:
        name = f"{rng.choice(country.first)} {rng.choice(country.second)} {rng.choice(country.suffix)}"
        if name in used:
            name = f"{name.rsplit(' ', 1)[0]} {number} {name.rsplit(' ', 1)[1]}"
    used.add(name)
    slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:18]
    return {
        "customer_id": f"C{number:04d}",
        "customer_name": name,
        "email": "" if rng.random() < 0.07 else f"cuentas@{slug}.{country.domain}",
        "phone": f"{country.prefix} {rng.randint(200, 999)} {rng.randint(100000, 999999)}",
        "mobile": ""
        if rng.random() < 0.25
        else f"{country.prefix} 6{rng.randint(10, 99)} {rng.randint(100000, 999999)}",
        "country": country.code,
        "language": country.language,
        "credit_limit": str(rng.choice((5000, 10000, 25000, 50000))) if rng.random() < 0.5 else "",
        "collector": COLLECTORS[number % len(COLLECTORS)],
        "_currency": country.currency,
    }


def _amount_scale(currency: str) -> float:
    return float(1 / DEMO_RATES[currency]) if currency in DEMO_RATES else 1.0


def _invoice_rows(
    rng: random.Random, customer: dict[str, str], habit: str, anchor: date, serial: list[int]
) -> list[dict[str, str]]:
    _, (late_low, late_high), unpaid_share = HABITS[habit]
    count = rng.randint(1, 2) if habit == "new" else rng.randint(4, 40)
    first_day = 60 if habit == "new" else 540
    currency = customer["_currency"]
    rows = []
    for _ in range(count):
        serial[0] += 1
        issued = anchor - timedelta(days=rng.randint(1, first_day))
        term = rng.choice(TERMS)
        total = _money(rng.uniform(150, 12000) * _amount_scale(currency))
        parts = 2 if rng.random() < 0.12 else 1
        credit_note = rng.random() < 0.02
        number = f"{'CN' if credit_note else 'INV'}-{issued.year}-{serial[0]:05d}"
        shares = [_money(float(total) / parts)] * (parts - 1)
        shares.append(total - sum(shares, Decimal(0)))
        for part, share in enumerate(shares):
            due = issued + timedelta(days=term * (part + 1))
            rows.append(
                _line(
                    rng,
                    customer,
                    number,
                    issued,
                    due,
                    -share if credit_note else share,
                    currency,
                    habit,
                    late_low,
                    late_high,
                    unpaid_share,
                    anchor,
                    credit_note,
                )
            )
    return rows


def _line(
    rng: random.Random,
    customer: dict[str, str],
    number: str,
    issued: date,
    due: date,
    amount: Decimal,
    currency: str,
    habit: str,
    late_low: int,
    late_high: int,
    unpaid_share: float,
    anchor: date,
    credit_note: bool,
) -> dict[str, str]:
    paid, settled = Decimal(0), ""
    pay_day = due + timedelta(days=rng.randint(late_low, late_high))
    if credit_note and rng.random() < 0.8:  # most credit notes are applied to an invoice soon after they are issued
        paid, settled = amount, min(anchor, issued + timedelta(days=rng.randint(1, 20))).isoformat()
    stops = habit == "stopped" and due > anchor - timedelta(days=400)
    if not credit_note and pay_day < anchor and not stops and rng.random() >= unpaid_share:
        paid, settled = amount, pay_day.isoformat()
    elif not credit_note and pay_day < anchor and rng.random() < 0.35:
        paid = _money(float(amount) * rng.choice((0.25, 0.4, 0.5)))
        settled = pay_day.isoformat()
    disputed = "yes" if not credit_note and paid < amount and rng.random() < 0.08 else "no"
    row = {key: value for key, value in customer.items() if not key.startswith("_")}
    row.update(
        invoice_number=number,
        invoice_date=issued.isoformat(),
        due_date=due.isoformat(),
        amount=str(amount),
        paid_amount=str(paid),
        currency=currency,
        settled_date=settled if paid else "",
        disputed=disputed,
    )
    return row


def generate_demo_ledger(path: Path, anchor: date = DEMO_ANCHOR, customers: int = 300, seed: int = 20261124) -> int:
    """Write the demo ledger CSV and return its number of data rows (same arguments, same bytes)."""
    rng = random.Random(seed)
    used: set[str] = set()
    serial = [0]
    rows: list[dict[str, str]] = []
    for number in range(1, customers + 1):
        customer = _customer(rng, number, used)
        rows.extend(_invoice_rows(rng, customer, _pick_habit(rng), anchor, serial))
    rows.sort(key=lambda row: (row["customer_id"], row["invoice_date"], row["invoice_number"], row["due_date"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    """Command line: write the demo ledger."""
    parser = argparse.ArgumentParser(description="Generate the demo receivables ledger.")
    parser.add_argument("--out", type=Path, default=DEMO_LEDGER)
    parser.add_argument("--anchor", type=date.fromisoformat, default=DEMO_ANCHOR)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    rows = generate_demo_ledger(args.out, args.anchor, args.customers, args.seed)
    print(f"wrote {rows} rows to {args.out}")


if __name__ == "__main__":
    main()
