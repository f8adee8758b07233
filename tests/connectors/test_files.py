"""Ledger import from CSV and XLSX: headers, mappings, instalments, bad rows, re-imports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO, shared_data
from openpyxl import Workbook

from connectors.common.errors import LedgerError
from connectors.common.store import Store
from connectors.files.mappers import parse_amount
from connectors.files.settings import FileSettings
from connectors.files.streams import import_ledger

HEADER = (
    "customer_id,customer_name,invoice_number,invoice_date,due_date,amount,paid_amount,currency,settled_date,disputed\n"
)


def write(tmp_path: Path, text: str, name: str = "ledger.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def settings(path: Path, **values: object) -> FileSettings:
    return FileSettings(path=path, tenant="files:test", **values)  # type: ignore[arg-type]


def test_csv_import_with_instalments_partial_payments_and_credit_notes(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path,
        HEADER
        + "\n".join(
            [
                "C1,Acme,F-1,2026-09-01,2026-10-01,600.00,600.00,EUR,2026-10-05,no",
                "C1,Acme,F-2,2026-09-15,2026-10-15,300.00,100.00,EUR,2026-10-20,no",
                "C1,Acme,F-3,2026-10-01,2026-10-31,500.00,0,EUR,,yes",
                "C1,Acme,F-3,2026-10-01,2026-11-30,500.00,0,EUR,,yes",
                "C2,Beta,CN-1,2026-10-02,2026-10-02,-50.00,0,USD,,no",
            ]
        )
        + "\n",
    )
    result = import_ledger(settings(path), store, today=date(2026, 11, 24))
    assert (result.rows_read, result.customers, result.items, result.payments, result.problems) == (5, 2, 5, 2, [])
    items = {i.id: i for i in store.ledger.load_portfolio("files:test", "EUR", {"USD": Decimal("0.9")}).items}
    assert items["F-1"].residual == 0 and items["F-1"].settled_on == date(2026, 10, 5)
    assert items["F-2"].residual == Decimal("200.00") and items["F-2"].settled_on is None
    assert (items["F-3/1"].due_date, items["F-3/2"].due_date) == (date(2026, 10, 31), date(2026, 11, 30))
    assert items["F-3/1"].disputed
    assert items["CN-1"].is_credit and items["CN-1"].amount == Decimal("50.00") and items["CN-1"].currency == "USD"
    payments = {p.id: p for p in store.ledger.load_portfolio("files:test", "EUR", {}).payments}
    assert payments["settle:F-2"].amount == Decimal("100.00")
    assert payments["settle:F-2"].allocations[0].item_id == "F-2"


def test_bad_rows_are_reported_by_line_and_good_rows_still_load(tmp_path: Path, store: Store) -> None:
    path = write(
        tmp_path,
        HEADER
        + "\n".join(
            [
                "C1,Acme,F-1,2026-09-01,2026-10-01,100.00,0,EUR,,no",
                "C1,Acme,F-2,2026-09-01,31/02/2026,100.00,0,EUR,,no",
                "C1,Acme,F-3,2026-09-01,2026-10-01,,0,EUR,,no",
                ",Acme,F-4,2026-09-01,2026-10-01,100.00,0,EUR,,no",
                "C1,Acme,F-5,2026-09-01,2026-10-01,100.00,0,EURO,,no",
                "C1,Acme,F-6,2026-09-01,2026-10-01,100.00,0,EUR,,maybe",
                "C1,Acme,F-1,2026-09-01,2026-10-01,100.00,0,EUR,,no",
                "C1,Acme,F-7,2026-09-01,2026-10-01,100.00,150.00,EUR,,no",
                "C1,Acme,F-8,2026-09-01,2026-10-01,100.00,0,EUR,,no",
            ]
        )
        + "\n",
    )
    result = import_ledger(settings(path), store, today=date(2026, 11, 24))
    reasons = {p.line: p.reason for p in result.problems}
    assert reasons == {
        3: "due_date: '31/02/2026' is not a date (expected YYYY-MM-DD)",
        4: "amount: missing",
        5: "customer_id: missing",
        6: "currency: 'EURO' is not an ISO 4217 code",
        7: "disputed: 'maybe' is not yes or no",
        8: "duplicate invoice 'F-1' with the same due date",
        9: "open amount -50.00 does not fit the amount 100.00 (paid more than invoiced?)",
    }
    assert result.items == 2
    assert [q["record"] for q in store.sync.quarantined("files:test")] == [f"line {n}" for n in sorted(reasons)]


def test_spanish_headers_semicolons_and_decimal_commas(tmp_path: Path, store: Store) -> None:
    text = (
        "Código cliente;Razón social;Factura;Fecha factura;Vencimiento;Importe;Pendiente;Moneda;En disputa\n"
        "B123;Talleres Ebro S.L.;A/2026/7;2026-10-01;2026-11-01;1.234,56;234,56;EUR;sí\n"
    )
    path = tmp_path / "saldos.csv"
    path.write_bytes(text.encode("cp1252"))
    result = import_ledger(settings(path), store)
    assert result.problems == []
    (item,) = store.ledger.load_portfolio("files:test", "EUR", {}).items
    assert (item.amount, item.residual, item.disputed) == (Decimal("1234.56"), Decimal("234.56"), True)
    assert store.ledger.load_portfolio("files:test", "EUR", {}).customers[0].name == "Talleres Ebro S.L."


def test_how_each_invoice_was_sent_is_kept_and_a_bad_value_is_a_rejected_row(tmp_path: Path, store: Store) -> None:
    text = (
        "customer,invoice,due date,amount,sent by\n"
        "C1,F-1,2026-10-01,100.00,Paper\n"
        "C1,F-2,2026-10-01,100.00,E-mail\n"
        "C1,F-3,2026-10-01,100.00,\n"
        "C1,F-4,2026-10-01,100.00,pigeon\n"
    )
    result = import_ledger(settings(write(tmp_path, text)), store)
    assert [(p.line, p.reason) for p in result.problems] == [(5, "delivery: 'pigeon' is not paper or electronic")]
    items = {i.id: i.delivery for i in store.ledger.load_portfolio("files:test", "EUR", {}).items}
    assert items == {"F-1": "paper", "F-2": "electronic", "F-3": ""}


def test_xlsx_with_date_cells(tmp_path: Path, store: Store) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Customer", "Invoice", "Invoice Date", "Due Date", "Amount", "Open Balance", "Currency"])
    sheet.append(["K9", "INV-9", date(2026, 9, 1), date(2026, 10, 1), 990.5, 990.5, "USD"])
    sheet.append(["K9", "INV-10", "not a date", date(2026, 10, 1), 10, 10, "USD"])
    path = tmp_path / "ledger.xlsx"
    workbook.save(path)
    result = import_ledger(settings(path), store)
    assert result.items == 1
    assert [(p.line, p.reason) for p in result.problems] == [
        (3, "invoice_date: 'not a date' is not a date (expected YYYY-MM-DD)")
    ]
    (item,) = store.ledger.load_portfolio("files:test", "EUR", {}).items
    assert item.due_date == date(2026, 10, 1) and item.amount == Decimal("990.5")


def test_calamine_reads_a_workbook_cell_for_cell_as_openpyxl_does(tmp_path: Path) -> None:
    pytest.importorskip("python_calamine", reason="python-calamine is not installed (a dependency: pip install -e .)")
    from connectors.files import client

    workbook = Workbook()
    sheet = workbook.active
    sheet["C3"] = "Aged Receivables"  # the data starts below and right of A1: line numbers are the sheet's
    sheet.append([None, None, "Customer", "Invoice", "Due Date", "Amount", "Paid", "Note"])
    sheet.append([None, None, "K9", 280670965, date(2026, 10, 1), 990.5, True, "  spaced  "])
    sheet.append([])
    sheet.append([None, None, "K10", "INV-10", "01/10/2026", -12, False, None])
    path = tmp_path / "offset.xlsx"
    workbook.save(path)
    grid, _ = client._xlsx_grid(path, None)
    slow, _ = client._openpyxl_grid(path, None)
    rows, expected = list(grid), list(slow)
    assert [(r.line, r.cells) for r in rows] == [(r.line, r.cells) for r in expected]
    assert rows[2].line == 5 and rows[2].cells[2:5] == ["K9", 280670965, date(2026, 10, 1)]


def test_unchanged_file_is_skipped_and_a_new_version_closes_missing_items(tmp_path: Path, store: Store) -> None:
    rows = ["C1,Acme,F-1,2026-09-01,2026-10-01,100.00,0,EUR,,no", "C1,Acme,F-2,2026-09-01,2026-10-01,100.00,0,EUR,,no"]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    assert not import_ledger(settings(path), store).skipped
    assert import_ledger(settings(path), store).skipped
    write(tmp_path, HEADER + rows[0] + "\n")
    result = import_ledger(settings(path), store, today=date(2026, 11, 24))
    assert result.closed == 1
    items = {i.id: i for i in store.ledger.load_portfolio("files:test", "EUR", {}).items}
    assert items["F-2"].residual == 0 and items["F-2"].settled_on == date(2026, 11, 24)


def test_missing_columns_and_bad_mappings_are_clear_errors(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "who,what\nA,B\n")
    with pytest.raises(LedgerError, match="no column for customer_id, invoice_number, due_date, amount"):
        import_ledger(settings(path), store)
    mapping = write(tmp_path, '{"columns": {"cliente": "who"}}', "mapping.json")
    with pytest.raises(LedgerError, match="columns: unknown target fields: cliente"):
        import_ledger(settings(path, mapping_path=mapping), store)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1234,5", "1234.5"),
        ("€ 12", "12"),
        ("(45.10)", "-45.10"),
        ("1,234", "1234"),
        ("USD 7.5", "7.5"),
    ],
)
def test_amount_formats(text: str, expected: str) -> None:
    assert parse_amount(text, None) == Decimal(expected)


def test_real_late_payment_history_loads_through_a_mapping(tmp_path: Path, store: Store) -> None:
    data = shared_data("ar-late-payments", "late_payment_histories.csv")
    if not data.exists():
        pytest.skip(f"shared data set ar-late-payments not found at {data}: this test needs ../shared/data")
    mapping = REPO / "docs" / "examples" / "mapping-ibm-late-payments.json"
    result = import_ledger(FileSettings(path=data, tenant="files:ibm", mapping_path=mapping), store)
    assert (result.rows_read, result.items, result.customers, result.problems) == (2466, 2466, 100, [])
    portfolio = store.ledger.load_portfolio("files:ibm", "USD", {})
    assert all(i.residual == 0 and i.settled_on is not None for i in portfolio.items)
    assert sum(i.disputed for i in portfolio.items) == 561  # rows with Disputed=Yes
    assert sum(i.delivery == "paper" for i in portfolio.items) == 1263  # rows with PaperlessBill=Paper
    assert {i.delivery for i in portfolio.items} == {"paper", "electronic"}


def test_a_file_mapped_as_it_is_read_again_gives_what_one_reading_in_memory_gives(tmp_path: Path) -> None:
    """The importer reads a file again instead of keeping its rows (a million rows in memory cost more than
    the ledger): what it maps, rejects and holds back - with the row each problem shows, the customer taken
    from its first loaded line - is what mapping the rows kept in memory gives."""
    from connectors.files.client import read_rows
    from connectors.files.mappers import map_rows, resolve_mapping
    from connectors.files.streams import read_ledger

    path = write(
        tmp_path,
        "customer_id,customer_name,email,invoice_number,invoice_date,due_date,amount,open_amount,currency\n"
        "C1,Uno SA,uno@example.com,A-1,2026-01-01,2026-02-01,\"1.234,50\",\"1.234,50\",EUR\n"
        "C1,Uno SA (old name),,A-2,2026-01-05,2026-02-05,\"10,00\",\"10,00\",EUR\n"
        "C2,Dos SL,dos@example.com,B-1,2026-01-01,not a date,\"5,00\",\"5,00\",EUR\n"
        "C2,Dos SL (second line),dos2@example.com,B-1,2026-01-01,2026-03-01,\"5,00\",\"5,00\",EUR\n"
        "C2,Dos SL (third line),dos3@example.com,B-2,2026-01-01,2026-03-01,\"7,00\",\"7,00\",EUR\n"
        "C3,Tres,,C-1,2026-01-01,2026-02-01,\"3,00\",\"3,00\",EUR\n"
        "C3,Tres,,C-1,2026-01-01,2026-02-01,\"3,00\",\"3,00\",EUR\n"
        "C4,Cuatro,,A-1,2026-01-01,2026-02-01,\"4,00\",\"4,00\",EUR\n",
    )
    streamed = read_ledger(settings(path))
    headers, rows, _total = read_rows(path)
    in_memory = map_rows(list(rows), resolve_mapping(headers, None), "EUR")
    assert streamed == in_memory
    assert [(p.line, p.reason.split(":")[0], p.raw["customer_name"]) for p in streamed.problems] == [
        (4, "due_date", "Dos SL"),
        (5, "not loaded", "Dos SL (second line)"),
        (8, "duplicate invoice 'C-1' with the same due date", "Tres"),
        (9, "invoice 'A-1' is listed for two customers", "Cuatro"),
    ]
    # C2's first two lines are not loaded: its name and email come from the first line that is
    dos = next(c for c in streamed.customers if c.id == "C2")
    assert (dos.name, dos.email) == ("Dos SL (third line)", "dos3@example.com")
    assert [i.amount for i in streamed.items if i.customer_id == "C1"] == [Decimal("1234.50"), Decimal("10.00")]
    assert next(c for c in streamed.customers if c.id == "C1").name == "Uno SA"
