"""Accounting exports load without a mapping: QuickBooks, Xero, Zoho Books, Odoo, Sage and NetSuite aging reports.

The fixtures under fixtures/exports are written from each layout's documented facts (docs/ledger-import.md
names the sources); the XLSX variants are built here from the same rows with typed cells.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook

from connectors.cli import cli
from connectors.files.layouts import infer_date_format, parse_buckets
from connectors.files.mappers import MappedLedger
from connectors.files.settings import FileSettings
from connectors.files.streams import read_ledger

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
PLANNED = date(2026, 7, 2)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ODOO_COLLECTIONS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ODOO_COLLECTIONS_STORE", raising=False)
    return tmp_path / "home"


def load(path: Path, mapping: Path | None = None) -> MappedLedger:
    return read_ledger(FileSettings(path=path, tenant="files:t", mapping_path=mapping), report_date=PLANNED)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def run_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = invoke("run", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


# (file, layout, items, customers, total of the rows, as of)
EXPECTED = [
    ("quickbooks-ar-aging-detail.csv", "quickbooks-ar-aging-detail", 7, 4, "6667.25", "2026-06-30"),
    ("quickbooks-ar-aging-summary.csv", "quickbooks-ar-aging-summary", 6, 4, "6667.25", "2026-06-30"),
    ("xero-aged-receivables-detail.csv", "xero-aged-receivables-detail", 5, 3, "5265.40", "2026-06-30"),
    ("xero-aged-receivables-summary.csv", "xero-aged-receivables-summary", 4, 3, "5265.40", "2026-06-30"),
    ("zoho-ar-aging-details.csv", "zoho-ar-aging-details", 5, 3, "86299.00", "2026-06-30"),
    ("zoho-ar-aging-details-raw.csv", "zoho-ar-aging-details-raw", 3, 3, "77800.00", None),
    ("zoho-ar-aging-summary.csv", "zoho-ar-aging-summary", 4, 3, "86299.00", "2026-06-30"),
    ("sage-aged-debtors.csv", "sage-aged-debtors", 3, 2, "3760.50", "2026-06-30"),
    ("sage-aged-debtors-detailed.csv", "sage-aged-debtors-detail", 3, 2, "3760.50", "2026-06-30"),
    ("netsuite-ar-aging-detail.csv", "netsuite-ar-aging-detail", 3, 1, "3250.00", "2026-06-30"),
]


@pytest.mark.parametrize(("name", "layout", "items", "customers", "total", "as_of"), EXPECTED)
def test_every_export_loads_without_a_mapping(
    name: str, layout: str, items: int, customers: int, total: str, as_of: str | None
) -> None:
    ledger = load(EXPORTS / name)
    report = ledger.report
    assert ledger.problems == []
    assert (report.layout, len(ledger.items), len(ledger.customers)) == (layout, items, customers)
    assert report.file_total == Decimal(total) and report.total_mismatch is None
    assert report.to_json()["as_of"] == as_of
    assert sum(-i.residual if i.is_credit else i.residual for i in ledger.items) == Decimal(total)


# --------------------------------------------------------------------------------------
# XLSX: the same reports saved as workbooks, with number and date cells
# --------------------------------------------------------------------------------------


def to_xlsx(source: Path, target: Path, date_format: str | None) -> Path:
    """The rows of a CSV export as a workbook: amounts as numbers, dates as date cells (as Excel keeps them)."""
    workbook = Workbook()
    sheet = workbook.active
    with source.open(encoding="utf-8") as handle:
        for values in csv.reader(handle):
            sheet.append([_typed(v, date_format) for v in values])
    workbook.save(target)
    return target


def _typed(value: str, date_format: str | None) -> object:
    if re.fullmatch(r"-?\$?[\d,]+\.\d\d", value):
        return float(value.replace("$", "").replace(",", ""))
    if date_format:
        try:
            return datetime.strptime(value, date_format)
        except ValueError:
            pass
    return value or None


@pytest.mark.parametrize(
    ("name", "date_format"),
    [
        ("quickbooks-ar-aging-detail.csv", "%m/%d/%Y"),
        ("quickbooks-ar-aging-summary.csv", None),
        ("xero-aged-receivables-detail.csv", "%d %b %Y"),
        ("xero-aged-receivables-summary.csv", None),
    ],
)
def test_xlsx_exports_load_like_their_csv(tmp_path: Path, name: str, date_format: str | None) -> None:
    from_csv = load(EXPORTS / name)
    from_xlsx = load(to_xlsx(EXPORTS / name, tmp_path / name.replace(".csv", ".xlsx"), date_format))
    assert from_xlsx.problems == []
    assert from_xlsx.report.layout == from_csv.report.layout
    assert from_xlsx.report.total_mismatch is None and from_xlsx.report.as_of == date(2026, 6, 30)
    shown = [(i.id, i.customer_id, i.due_date, i.residual, i.is_credit) for i in from_xlsx.items]
    assert shown == [(i.id, i.customer_id, i.due_date, i.residual, i.is_credit) for i in from_csv.items]


def odoo_workbook(path: Path, folded: bool = False) -> Path:
    """Odoo 17/18 Aged Receivable exported to XLSX: partners as group rows with their totals, journal items
    named by their move in the first (unnamed) column, 'Account' the ledger account, a total line."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Aged Receivable"])
    sheet.append(["As of 06/30/2026"])
    sheet.append([None])
    sheet.append([None, "Invoice Date", "Due Date", "Amount Currency", "Currency", "Account", "At Date", "1-30",
                  "31-60", "61-90", "91-120", "Older", "Total"])
    sheet.append(["Deco Addict", None, None, None, None, None, 500.0, 1200.0, 0, 0, 0, 0, 1700.0])
    sheet.append(["INV/2026/00041", date(2026, 6, 20), date(2026, 7, 20), None, None, "121000 Account Receivable",
                  500.0, 0, 0, 0, 0, 0, 500.0])
    sheet.append(["INV/2026/00035", date(2026, 5, 10), date(2026, 6, 9), None, None, "121000 Account Receivable",
                  0, 1200.0, 0, 0, 0, 0, 1200.0])
    sheet.append(["Total Marine", None, None, None, None, None, 0, 0, 0, 0, 0, 860.0, 860.0])
    sheet.append(["INV/2025/00410", date(2025, 12, 1), date(2025, 12, 31), 1000.0, "USD",
                  "121000 Account Receivable", 0, 0, 0, 0, 0, 860.0, 860.0])
    sheet.append(["RINV/2026/00003", date(2026, 6, 2), date(2026, 6, 2), None, None, "121000 Account Receivable",
                  0, -90.0, 0, 0, 0, 0, -90.0])
    sheet.append(["Total Aged Receivable", None, None, None, None, None, 500.0, 1110.0, 0, 0, 0, 860.0, 2470.0])
    workbook.save(path)
    return path


def test_odoo_aged_receivable_with_partners_on_group_rows(tmp_path: Path) -> None:
    ledger = load(odoo_workbook(tmp_path / "Aged Receivable.xlsx"))
    assert ledger.problems == [] and ledger.report.layout == "odoo-aged-receivable"
    items = {i.id: i for i in ledger.items}
    assert set(items) == {"INV/2026/00041", "INV/2026/00035", "INV/2025/00410", "RINV/2026/00003"}
    assert items["INV/2025/00410"].customer_id == "Total Marine"  # a partner named 'Total ...' is not a subtotal
    assert items["INV/2025/00410"].currency == "EUR" and items["INV/2025/00410"].residual == Decimal("860.0")
    assert items["RINV/2026/00003"].is_credit and items["RINV/2026/00003"].customer_id == "Total Marine"
    assert ledger.report.total_row == ledger.report.file_total == Decimal("2470.0")
    assert ledger.report.as_of == date(2026, 6, 30)


# --------------------------------------------------------------------------------------
# What each layout's quirks become
# --------------------------------------------------------------------------------------


def test_quickbooks_detail_sections_credits_and_unapplied_payments() -> None:
    ledger = load(EXPORTS / "quickbooks-ar-aging-detail.csv")
    items = {i.id: i for i in ledger.items}
    assert items["1031"].amount == Decimal("4180.75") and items["1031"].residual == Decimal("2180.75")
    assert items["1033"].is_credit and items["1033"].due_date == date(2026, 6, 15)
    payment = next(i for i in ledger.items if i.id.startswith("Payment"))
    assert payment.is_credit and payment.customer_id == "Alvarez Landscaping" and payment.residual == 500
    assert items["0987"].due_date == date(2026, 2, 12)  # month first: QuickBooks US
    assert ledger.rows_read == 7  # sections, subtotals, TOTAL and the 'Accrual Basis' footer are not rows


def test_xero_detail_customers_from_group_rows_and_day_first_dates() -> None:
    ledger = load(EXPORTS / "xero-aged-receivables-detail.csv")
    items = {i.id: i for i in ledger.items}
    customers = {i.customer_id for i in ledger.items}
    assert customers == {"Bay Coffee Roasters", "Harbourside Dental", "Total Fitness Studio"}
    assert items["INV-0455"].due_date == date(2026, 6, 13)
    assert items["CN-0012"].is_credit and items["CN-0012"].due_date == date(2026, 6, 2)  # no due date: its date
    assert ledger.report.date_format == "%d %b %Y"


def test_a_summary_is_one_item_per_customer_and_bucket_and_says_so() -> None:
    ledger = load(EXPORTS / "quickbooks-ar-aging-summary.csv")
    items = {i.id: i for i in ledger.items}
    assert items["Okafor, Chidi/91-and-over"].due_date == date(2026, 3, 31)  # 91 days before 2026-06-30
    assert items["Okafor, Chidi/current"].due_date == date(2026, 6, 30)
    assert items["Nakamura Design/31-60"].due_date == date(2026, 5, 30)
    assert items["Alvarez Landscaping/1-30"].is_credit
    assert "one open item per customer and bucket" in ledger.report.notes[0]
    xero = {i.id: i.due_date for i in load(EXPORTS / "xero-aged-receivables-summary.csv").items}
    assert xero["Harbourside Dental/3-months"] == date(2026, 3, 30)
    assert xero["Total Fitness Studio/older"] == date(2026, 2, 28)  # after '3 Months': four months


def test_zoho_details_without_due_dates_count_the_age_back_from_the_report_date() -> None:
    items = {i.id: i for i in load(EXPORTS / "zoho-ar-aging-details.csv").items}
    assert items["INV-000180"].due_date == date(2026, 5, 2)  # 59 days before 30/06/2026
    assert items["CN-00014"].is_credit  # a credit note printed positive


def test_a_mismatch_with_the_total_row_is_a_warning_and_fails_strict(tmp_path: Path, home: Path) -> None:
    text = (EXPORTS / "quickbooks-ar-aging-detail.csv").read_text(encoding="utf-8")
    path = tmp_path / "ar.csv"
    path.write_text(text.replace('TOTAL,,,,,,,"$6,667.25"', 'TOTAL,,,,,,,"$6,767.25"'), encoding="utf-8")
    report = run_json("--ledger", str(path), "--as-of", "2026-06-30", "--dry-run")["report"]
    assert (report["total_row"], report["total"], report["total_mismatch"]) == ("6767.25", "6667.25", "100.00")
    table = invoke("run", "--ledger", str(path), "--as-of", "2026-06-30", "--dry-run")
    assert table.exit_code == 0 and "warning: the report's total row says 6,767.25" in table.output
    strict = invoke("run", "--ledger", str(path), "--as-of", "2026-06-30", "--dry-run", "--strict")
    assert strict.exit_code == 4 and "do not add up to its total row" in strict.output


def test_the_output_names_the_report_and_its_date(tmp_path: Path, home: Path) -> None:
    path = EXPORTS / "xero-aged-receivables-detail.csv"
    result = invoke("run", "--ledger", str(path), "--as-of", "2026-07-02", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Recognised Xero Aged Receivables Detail, as of 2026-06-30, 5 items, 3 customers, total 5,265.40" in (
        result.output
    )
    assert "give --as-of 2026-06-30" in result.output
    same_day = run_json("--ledger", str(path), "--as-of", "2026-06-30", "--dry-run")["report"]
    assert same_day["notes"] == [] and same_day["layout"] == "xero-aged-receivables-detail"


# --------------------------------------------------------------------------------------
# Dates and buckets
# --------------------------------------------------------------------------------------


def test_dates_are_read_in_the_files_own_format() -> None:
    assert infer_date_format(["06/30/2026", "07/01/2026"], None) == ("%m/%d/%Y", None)
    assert infer_date_format(["30/06/2026", "01/07/2026"], True) == ("%d/%m/%Y", None)  # evidence beats convention
    assert infer_date_format(["01/07/2026"], True) == ("%m/%d/%Y", None)
    assert infer_date_format(["Jun 30, 2026", "Jul 1, 2026"], None) == ("%b %d, %Y", None)
    fmt, problem = infer_date_format(["01/07/2026", "02/07/2026"], None)
    assert fmt is None and problem and "set date_format" in problem


def test_ambiguous_dates_without_a_convention_are_rejected_rows_until_a_mapping_says(tmp_path: Path) -> None:
    path = tmp_path / "zoho.csv"
    path.write_text(
        "Tagore Textiles\nAR Aging Details\nAs of 12/06/2026\n\n"
        "Date,Transaction#,Type,Status,Customer Name,Age,Amount,Balance Due\n"
        "01/05/2026,INV-1,Invoice,Overdue,Meera,,100.00,100.00\n",
        encoding="utf-8",
    )
    ledger = load(path)
    assert ledger.items == [] and "set date_format in a mapping file" in ledger.problems[0].reason
    mapping = tmp_path / "m.json"
    mapping.write_text('{"date_format": "%d/%m/%Y"}', encoding="utf-8")
    (item,) = load(path, mapping).items
    assert item.issue_date == date(2026, 5, 1)


def test_bucket_labels_of_each_vendor() -> None:
    labels = ["Current", "1 - 30", "31 - 60", "91 and over", "> 45 Days", "< 1 Month", "2 Months", "Older"]
    days = [(b.days, b.months) if b else None for b in parse_buckets(labels)]
    assert days == [(0, 0), (1, 0), (31, 0), (91, 0), (46, 0), (47, 0), (0, 2), (0, 3)]
    sage = parse_buckets(["< 30 days", "< 60 days", "Older"])
    assert [(b.days if b else None) for b in sage] == [0, 30, 60]
    assert parse_buckets(["Total", "Customer"]) == [None, None]


# --------------------------------------------------------------------------------------
# Mappings for what detection cannot guess
# --------------------------------------------------------------------------------------


CUSTOM = (
    "Debtors by customer\nPrinted 2026-06-30 by the ERP\n"
    "Ref,Doc Date,Expiry,Outstanding\n"
    "Alpine Foods\n"
    "F-1,2026-05-01,2026-05-31,100.00\n"
    "F-2,2026-06-01,2026-07-01,50.00\n"
    "Bergwerk AG\n"
    "F-3,2026-04-01,2026-05-01,70.00\n"
)


def test_a_mapping_with_header_row_and_customers_on_group_rows(tmp_path: Path) -> None:
    path = tmp_path / "debtors.csv"
    path.write_text(CUSTOM, encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({
        "header_row": 3, "customer_from_group_rows": True,
        "columns": {
            "invoice_number": "Ref", "invoice_date": "Doc Date", "due_date": "Expiry", "open_amount": "Outstanding"
        },
    }), encoding="utf-8")
    ledger = load(path, mapping)
    assert ledger.problems == []
    assert [(i.id, i.customer_id, i.due_date) for i in ledger.items] == [
        ("F-1", "Alpine Foods", date(2026, 5, 31)), ("F-2", "Alpine Foods", date(2026, 7, 1)),
        ("F-3", "Bergwerk AG", date(2026, 5, 1)),
    ]
    mapping.write_text(json.dumps({
        "skip_rows": 2, "customer_from_group_rows": True,
        "columns": {"invoice_number": "Ref", "due_date": "Expiry", "open_amount": "Outstanding"},
    }), encoding="utf-8")
    assert len(load(path, mapping).items) == 3


def test_mapping_suggest_writes_a_mapping_that_loads_the_file(tmp_path: Path, home: Path) -> None:
    source = EXPORTS / "xero-aged-receivables-detail.csv"
    written = tmp_path / "xero.json"
    result = invoke("mapping", "suggest", str(source), "--output", str(written))
    assert result.exit_code == 0, result.output
    document = json.loads(written.read_text(encoding="utf-8"))
    assert document["layout"] == "xero-aged-receivables-detail" and document["header_row"] == 6
    assert document["customer_from_group_rows"] is True and document["date_format"] == "%d %b %Y"
    with_mapping = run_json("--ledger", str(source), "--mapping", str(written), "--as-of", "2026-06-30", "--dry-run")
    without = run_json("--ledger", str(source), "--as-of", "2026-06-30", "--dry-run")
    assert with_mapping["import"]["problems"] == [] and with_mapping["report"]["items"] == 5
    assert with_mapping["actions"] == without["actions"]
    again = invoke("mapping", "suggest", str(source), "--output", str(written))
    assert again.exit_code == 5 and "--force" in again.output
    plain = tmp_path / "plain.csv"
    plain.write_text('Customer,Invoice,Due,Amount\nA,F-1,31/01/2026,"1.234,50"\n', encoding="utf-8")
    shown = json.loads(invoke("mapping", "suggest", str(plain), "--format", "json").stdout)
    assert shown["mapping"] == {
        "columns": {"customer_id": "Customer", "invoice_number": "Invoice", "due_date": "Due", "amount": "Amount"},
        "date_format": "%d/%m/%Y", "decimal_separator": ",",
    }
    assert shown["recognised"] is None and shown["missing"] == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"header_row": "3"}, "header_row: must be the line number"),
        ({"header_row": 0}, "header_row: must be the line number"),
        ({"skip_rows": "two"}, "skip_rows: must be a number of lines"),
        ({"skip_rows": [0]}, "skip_rows: must be a number of lines"),
        ({"customer_from_group_rows": "yes"}, "customer_from_group_rows: must be true or false"),
        ({"layout": "quickbooks"}, "layout: 'quickbooks' is not a known layout"),
        ({"sheet": 3}, "sheet: must be the name of a sheet"),
        ({"header_rows": 3}, "unknown mapping keys: header_rows"),
        ({"header_row": 40}, "header_row: line 40 of ar.csv is blank"),
    ],
)
def test_bad_mapping_keys_are_named_with_exit_5(tmp_path: Path, home: Path, document: dict, message: str) -> None:  # type: ignore[type-arg]
    path = tmp_path / "ar.csv"
    path.write_text(CUSTOM, encoding="utf-8")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps(document), encoding="utf-8")
    result = invoke("run", "--ledger", str(path), "--mapping", str(mapping))
    assert result.exit_code == 5 and message in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_report_without_the_columns_it_needs_is_a_message_not_a_traceback(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("A/R Aging Detail\nAs of June 30, 2026\n\nCustomer,Memo,Open balance,Notes\nA,x,10.00,y\n",
                    encoding="utf-8")
    result = invoke("run", "--ledger", str(path))
    assert result.exit_code == 5 and "no column for invoice_number, due_date" in result.output, result.output
    assert ("mapping suggest" in result.output and result.exception is None) or isinstance(result.exception, SystemExit)
    empty_sheet = tmp_path / "empty.xlsx"
    Workbook().save(empty_sheet)
    result = invoke("mapping", "suggest", str(empty_sheet))
    assert result.exit_code == 5 and "the sheet is empty" in result.output
