"""A new export never loses the truth: rejected rows close nothing, the ledger is the company, bad input is
a message."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook
from sqlalchemy import event

from connectors.cli import cli
from connectors.common.errors import LedgerError
from connectors.common.locks import FileLocks
from connectors.common.store import Store
from connectors.files.mappers import parse_amount
from connectors.files.settings import FileSettings
from connectors.files.streams import ClosingRefused, import_ledger

HEADER = "customer,name,invoice,due date,amount,email\n"
AS_OF = "2026-11-24"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ODOO_COLLECTIONS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ODOO_COLLECTIONS_STORE", raising=False)
    return tmp_path / "home"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)


def run_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def ledger(tmp_path: Path, rows: list[str], name: str = "ar.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def row(number: int, due: str = "2026-11-10", customer: str | None = None) -> str:
    who = customer or f"C{number % 7}"
    return f"{who},Customer {who},F-{number},{due},100.00,{who.lower()}@example.com"


def home_store(home: Path) -> Store:
    return Store(f"sqlite:///{home / 'store.db'}")


def open_ids(store: Store, tenant: str = "files:default") -> set[str]:
    return {i.id for i in store.ledger.load_portfolio(tenant, "EUR", {}).items if i.residual}


# --------------------------------------------------------------------------------------
# 1. Rejected rows never become paid invoices
# --------------------------------------------------------------------------------------


def test_a_rejected_row_never_closes_its_item(tmp_path: Path, home: Path) -> None:
    run_json("--ledger", str(ledger(tmp_path, [row(n) for n in range(1, 5)])), "--as-of", AS_OF)
    day_two = ledger(tmp_path, [row(1), row(2), row(3), row(4, due="01/10/2026")])
    second = run_json("--ledger", str(day_two), "--as-of", "2026-11-25")
    assert second["import"]["closed"] == 0 and len(second["import"]["problems"]) == 1
    assert open_ids(home_store(home)) == {"F-1", "F-2", "F-3", "F-4"}


def test_a_file_whose_dates_are_all_rejected_closes_nothing(tmp_path: Path, home: Path) -> None:
    run_json("--ledger", str(ledger(tmp_path, [row(n) for n in range(1, 9)])), "--as-of", AS_OF)
    rejected = ledger(tmp_path, [row(n, due="01/10/2026") for n in range(1, 9)], "ar-2.csv")
    for extra in (["--dry-run"], []):
        result = run_json("--ledger", str(rejected), "--as-of", "2026-11-25", *extra)
        assert result["import"]["closed"] == 0 and len(result["import"]["problems"]) == 8
    assert len(open_ids(home_store(home))) == 8


def test_an_anonymous_rejected_row_stops_every_closing(tmp_path: Path, store: Store) -> None:
    settings = FileSettings(path=ledger(tmp_path, [row(1), row(2), row(3)]), tenant="files:t")
    import_ledger(settings, store)
    ledger(tmp_path, [row(1), ",,,soon,x"])
    result = import_ledger(settings, store, today=date(2026, 11, 25))
    assert result.closed == 0 and result.closing_withheld and "2 open items" in result.closing_withheld
    assert open_ids(store, "files:t") == {"F-1", "F-2", "F-3"}


def test_a_rejected_row_protects_by_customer_when_it_names_no_invoice(tmp_path: Path, store: Store) -> None:
    settings = FileSettings(path=ledger(tmp_path, [row(1, customer="A"), row(2, customer="B"), row(3)]), tenant="t")
    import_ledger(settings, store)
    ledger(tmp_path, [row(3), "A,Customer A,,2026-10-01,100.00"])
    result = import_ledger(settings, store, today=date(2026, 11, 25), allow_closing=True)
    assert result.closed_ids == ["F-2"]
    assert open_ids(store, "t") == {"F-1", "F-3"}


def test_other_instalments_of_an_invoice_with_a_rejected_row_are_held_back(tmp_path: Path, store: Store) -> None:
    rows = ["A,Acme,F-9,2026-10-01,50", "A,Acme,F-9,2026-11-01,50", row(1)]
    settings = FileSettings(path=ledger(tmp_path, rows), tenant="t")
    import_ledger(settings, store)
    ledger(tmp_path, ["A,Acme,F-9,2026-10-01,50", "A,Acme,F-9,01/11/2026,50", row(1)])
    result = import_ledger(settings, store, today=date(2026, 11, 25))
    assert [p.line for p in result.problems] == [2, 3]
    assert "same invoice 'F-9'" in result.problems[0].reason
    assert open_ids(store, "t") == {"F-9/1", "F-9/2", "F-1"}  # not renumbered into a third item 'F-9'


def test_closing_most_of_the_ledger_is_refused_unless_confirmed(tmp_path: Path, home: Path) -> None:
    run_json("--ledger", str(ledger(tmp_path, [row(n) for n in range(1, 11)])), "--as-of", AS_OF)
    partial = ledger(tmp_path, [row(1), row(2), row(3)], "partial.csv")
    for extra in ([], ["--dry-run"]):
        refused = invoke("--ledger", str(partial), "--as-of", "2026-11-25", *extra)
        assert refused.exit_code == 5 and "would close 7 of the ledger's 10 open items" in refused.output
        assert "--allow-closing" in refused.output and "Traceback" not in refused.output
    store = home_store(home)
    assert len(open_ids(store)) == 10 and store.runs.last_runs("files:default")[0]["status"] == "failed"
    assert invoke("--ledger", str(partial), "--as-of", "2026-11-25", "--max-closing", "80").exit_code == 0
    assert len(open_ids(store)) == 3


def test_allowed_closing_is_reported_in_json_and_table(tmp_path: Path, home: Path) -> None:
    run_json("--ledger", str(ledger(tmp_path, [row(n) for n in range(1, 31)])), "--as-of", AS_OF)
    partial = ledger(tmp_path, [row(1)], "partial.csv")
    preview = run_json("--ledger", str(partial), "--as-of", "2026-11-25", "--allow-closing", "--dry-run")
    assert preview["import"]["closed"] == 29 and len(preview["import"]["closed_items"]) == 20
    assert preview["import"]["closed_items"][:3] == ["F-10", "F-11", "F-12"]
    assert preview["new_actions"] == 0 and len(open_ids(home_store(home))) == 30  # a dry run writes nothing
    table = invoke("--ledger", str(partial), "--as-of", "2026-11-25", "--allow-closing")
    assert "Closed 29 open items no longer in the file (paid or cancelled): F-10, F-11" in table.stdout
    assert "and 9 more" in table.stdout and open_ids(home_store(home)) == {"F-1"}


def test_a_dry_run_writes_nothing_at_all(tmp_path: Path, home: Path) -> None:
    path = ledger(tmp_path, [row(1), row(2, due="soon")])
    preview = run_json("--ledger", str(path), "--as-of", AS_OF, "--dry-run")
    assert len(preview["actions"]) == 1 and preview["new_actions"] == 0 and len(preview["import"]["problems"]) == 1
    store = home_store(home)
    assert store.ledger.tenants() == [] and store.sync.quarantined("files:default") == []
    assert store.tenants.setting("default_files_tenant") is None and store.runs.last_runs("files:default") == []


# --------------------------------------------------------------------------------------
# 2. The ledger is the company, not the file name
# --------------------------------------------------------------------------------------


def test_daily_exports_with_dated_names_never_plan_a_reminder_twice(tmp_path: Path, home: Path) -> None:
    rows = [row(n, due=f"2026-{9 + n % 3:02d}-{1 + n % 27:02d}") for n in range(1, 40)]
    first = run_json("--ledger", str(ledger(tmp_path, rows, "ar-2026-11-24.csv")), "--as-of", AS_OF)
    second = run_json("--ledger", str(ledger(tmp_path, rows, "ar-2026-11-25.csv")), "--as-of", "2026-11-25")
    assert first["tenant"] == second["tenant"] == "files:default" and first["new_actions"] > 0
    assert second["new_actions"] == 0
    store = home_store(home)
    assert store.ledger.tenants() == ["files:default"]
    recorded = store.outbox.outbox_counts("files:default")  # delivered to the worklist by the first run, none twice
    assert sum(recorded.values()) == first["new_actions"] == first["delivery"]["delivered"] + first["delivery"][
        "failed"] + recorded.get("pending", 0)
    assert second["delivery"]["delivered"] == 0


def test_the_first_named_ledger_becomes_the_default(tmp_path: Path, home: Path) -> None:
    path = ledger(tmp_path, [row(1)])
    assert run_json("--ledger", str(path), "--as-of", AS_OF, "--tenant", "acme")["tenant"] == "files:acme"
    assert run_json("--ledger", str(path), "--as-of", AS_OF)["tenant"] == "files:acme"
    assert invoke("--ledger", str(path), "--tenant", "files:bad name").exit_code == 2


def test_a_store_of_an_older_version_keeps_its_only_ledger(tmp_path: Path, home: Path) -> None:
    path = ledger(tmp_path, [row(1)])
    home.mkdir(parents=True)
    store = home_store(home)
    store.migrate()
    import_ledger(FileSettings(path=path, tenant="files:ar-2026-03-01"), store)
    assert run_json("--ledger", str(path), "--as-of", AS_OF)["tenant"] == "files:ar-2026-03-01"


# --------------------------------------------------------------------------------------
# 3. A busy ledger and abandoned runs
# --------------------------------------------------------------------------------------


def test_a_busy_ledger_is_exit_8_and_a_dead_run_is_marked_abandoned(tmp_path: Path, home: Path) -> None:
    path = ledger(tmp_path, [row(1)])
    run_json("--ledger", str(path), "--as-of", AS_OF)
    store = home_store(home)
    dead = store.runs.start_run("files:default", "ledger", datetime(2026, 11, 24, tzinfo=timezone.utc))
    with FileLocks(home / "locks").hold("act:files:default"):
        busy = invoke("--ledger", str(path), "--as-of", AS_OF)
    assert busy.exit_code == 8 and "another run is busy with files:default" in busy.output
    run_json("--ledger", str(path), "--as-of", AS_OF)
    statuses = {r["id"]: r["status"] for r in store.runs.last_runs("files:default", 20)}
    assert statuses[dead] == "abandoned" and "running" not in statuses.values()


# --------------------------------------------------------------------------------------
# 4. Every bad input is a message and an exit code
# --------------------------------------------------------------------------------------


def _xlsx_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/sharedStrings.xml", "<sst>" + "<si><t>x</t></si>" * 4_000_000 + "</sst>")


def _wide_xlsx(path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(["Customer", "Invoice", "Due Date", "Amount"])
    workbook.active.cell(row=1_048_576, column=16_384, value="x")
    workbook.save(path)


BAD_FILES = {
    "empty.csv": (b"", "the file is empty"),
    "garbage.csv": (bytes(range(256)) * 20, "not a text (CSV) file"),
    "headers.csv": (b"who,what\nA,B\n", "no column for customer_id"),
    "ledger.pdf": (b"%PDF-1.4", "unsupported file type '.pdf'"),
    "corrupt.xlsx": (b"PK\x03\x04 this is not a workbook", "not a valid XLSX workbook"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_an_unusable_file_is_exit_5_with_a_message(tmp_path: Path, home: Path, name: str) -> None:
    content, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["run", "--ledger", str(path)])
    assert result.exit_code == 5 and message in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "\x00" not in result.output and "\ufffd" not in result.output


def test_workbooks_beyond_the_limits_are_refused_before_loading(tmp_path: Path, store: Store) -> None:
    bomb, wide = tmp_path / "bomb.xlsx", tmp_path / "wide.xlsx"
    _xlsx_bomb(bomb)
    _wide_xlsx(wide)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(LedgerError, match="of text"):
        import_ledger(FileSettings(path=bomb, tenant="t"), store)
    with pytest.raises(LedgerError, match="1,048,576 rows and 16,384 columns"):
        import_ledger(FileSettings(path=wide, tenant="t"), store)


def test_bad_mappings_policies_reports_and_stores_are_exit_5(tmp_path: Path, home: Path) -> None:
    path = ledger(tmp_path, [row(1)])
    for content, message in (
        (b"[1]", "must be a JSON object"),
        (b'{"columns": {"amount": 3}}', "columns: must map field names"),
        (b'{"date_format": "%Y"}', "date_format"),
        ('{"columns": {"customer_id": "Código"}}'.encode("cp1252"), "not UTF-8"),
        (b"{", "not valid JSON"),
    ):
        (tmp_path / "m.json").write_bytes(content)
        result = CliRunner().invoke(cli, ["run", "--ledger", str(path), "--mapping", str(tmp_path / "m.json")])
        assert result.exit_code == 5 and message in result.output, (content, result.output)
    (tmp_path / "p.json").write_bytes('{"name": "Política"}'.encode("cp1252"))
    policy = CliRunner().invoke(cli, ["run", "--ledger", str(path), "--policy", str(tmp_path / "p.json")])
    assert policy.exit_code == 5 and "not UTF-8" in policy.output
    report = CliRunner().invoke(cli, ["run", "--ledger", str(path), "--report", str(tmp_path / "no" / "r.html")])
    assert report.exit_code == 5 and "--report" in report.output
    for url in ("nonsense", f"sqlite:///{tmp_path}/missing/dir/s.db", "postgresql://u:secret@127.0.0.1:1/db"):
        result = CliRunner().invoke(cli, ["--store", url, "run", "--ledger", str(path)])
        assert result.exit_code == 5 and "secret" not in result.output, result.output


@pytest.mark.parametrize("rate", ["USD=0", "USD=-1", "USD=NaN", "USD=Infinity", "USD=", "=0.9"])
def test_a_rate_must_be_a_positive_number(home: Path, rate: str) -> None:
    result = CliRunner().invoke(cli, ["run", "--demo", "--rate", rate])
    assert result.exit_code == 2 and "positive number" in result.output


@pytest.mark.parametrize(
    ("value", "reason"),
    [("1E+400", "too large"), ("1234567890123456", "too large"), ("0.0000001", "more than 6 decimals"),
     ("NaN", "not an amount"), (float("nan"), "not an amount"), (1e300, "too large")],
)
def test_amounts_beyond_a_sane_precision_are_refused(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_amount(value, None)


def test_an_absurd_amount_is_a_rejected_row_not_a_stored_one(tmp_path: Path, home: Path) -> None:
    path = ledger(tmp_path, [row(1), "A,Acme,F-2,2026-10-01,1E+400", "A,Acme,F-3,2026-10-01,100.00"])
    result = run_json("--ledger", str(path), "--as-of", AS_OF)
    assert [p["line"] for p in result["import"]["problems"]] == [3]
    assert run_json("--ledger", str(path), "--as-of", "2026-11-25")["import"]["skipped"]  # planning still works


def test_spreadsheet_float_noise_is_not_precision(tmp_path: Path) -> None:
    assert parse_amount(121.00000000000001, None) == Decimal("121.0")


def test_a_utf8_file_with_one_bad_byte_is_read_as_utf8_and_the_line_reported(tmp_path: Path, store: Store) -> None:
    text = HEADER + "M1,Müller GmbH,F-1,2026-10-01,100\nM2,Señor,F-2,2026-10-01,100\nM3,Café,F-3,2026-10-01,100\n"
    raw = text.encode("utf-8").replace("Señor".encode(), b"Se\xf1or")
    path = tmp_path / "ar.csv"
    path.write_bytes(raw)
    result = import_ledger(FileSettings(path=path, tenant="t"), store)
    assert [(p.line, p.reason) for p in result.problems] == [
        (3, "byte 0xF1 is not valid UTF-8 (the file is read as UTF-8)")
    ]
    names = {c.id: c.name for c in store.ledger.load_portfolio("t", "EUR", {}).customers}
    assert names == {"M1": "Müller GmbH", "M3": "Café"}


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        (["1.234", "12,50"], {"F-1": "1234", "F-2": "12.50"}),  # a decimal comma elsewhere: '.' groups thousands
        (["1,234", "12.50"], {"F-1": "1234", "F-2": "12.50"}),
        (["1.234", "1.234.567"], {"F-1": "1234", "F-2": "1234567"}),
        (["1.234", "7"], {"F-2": "7"}),  # no evidence: 1.234 is ambiguous and rejected
    ],
)
def test_the_decimal_mark_is_decided_by_the_whole_file(
    tmp_path: Path, store: Store, amounts: list[str], expected: dict[str, str]
) -> None:
    path = tmp_path / "ar.csv"
    path.write_text(HEADER.replace(",", ";").replace(";email", "") + "".join(
        f"A;Acme;F-{n};2026-10-01;{amount}\n" for n, amount in enumerate(amounts, start=1)
    ), encoding="utf-8")
    result = import_ledger(FileSettings(path=path, tenant="t"), store)
    items = {i.id: i.amount for i in store.ledger.load_portfolio("t", "EUR", {}).items}
    assert items == {k: Decimal(v) for k, v in expected.items()}
    if len(expected) < len(amounts):
        assert "ambiguous" in result.problems[0].reason


def test_the_csv_worklist_neutralises_formulas(tmp_path: Path, home: Path) -> None:
    path = ledger(tmp_path, ["=HYPERLINK(1),@SUM(A1),F-1,2026-11-10,100.00,a@example.com"])
    out = tmp_path / "actions.csv"
    result = run_json("--ledger", str(path), "--as-of", "2026-11-24T16:00:00+00:00", "--worklist", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert result["delivery"]["delivered"] == len(rows) > 0 and all(r["customer_id"] == "'=HYPERLINK(1)" for r in rows)


# --------------------------------------------------------------------------------------
# 5. Rejected rows in one transaction
# --------------------------------------------------------------------------------------


def test_rejected_rows_are_written_in_one_transaction(tmp_path: Path, store: Store) -> None:
    path = ledger(tmp_path, [row(n, due="01/10/2026") for n in range(3000)])
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda connection: commits.append(1))
    result = import_ledger(FileSettings(path=path, tenant="t"), store)
    assert len(result.problems) == 3000 and len(store.sync.quarantined("t")) == 3000
    assert len(commits) <= 4  # bookmark and open items read, one write, the quarantine read back


def test_refused_closing_raises_before_anything_is_written(tmp_path: Path, store: Store) -> None:
    settings = FileSettings(path=ledger(tmp_path, [row(1), row(2), row(3)]), tenant="t")
    import_ledger(settings, store)
    ledger(tmp_path, [row(1), row(9, due="soon")])
    with pytest.raises(ClosingRefused) as refused:
        import_ledger(settings, store)
    assert refused.value.closing == ["F-2", "F-3"]
    assert open_ids(store, "t") == {"F-1", "F-2", "F-3"} and store.sync.quarantined("t") == []
