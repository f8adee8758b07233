"""What happens outside the platform, recorded from the command line and seen by the next run.

`promise add`, `plan propose` and `call log` run through click against a real SQLite store; each test then runs
`run` (the stored ledger planned again) to show that the engine reads the record: a promise or a plan pauses
dunning of its items and, once broken, dunning resumes; a logged call carries out the call action. Then the
bank details and pay links of the worklist, and the worklist in Spanish.
"""

from __future__ import annotations

import json
import shlex
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from collections_engine.defaults import default_policy_document
from connectors.cli import cli
from connectors.common.store import Store

LEDGER = "customer_id,customer_name,email,phone,country,invoice_number,invoice_date,due_date,amount,paid_amount,"
LEDGER += """currency
A,Alfa Industrial SL,a@alfa.example,+34 600 000 001,ES,F-1,2026-09-01,2026-10-20,1000.00,0,EUR
A,Alfa Industrial SL,a@alfa.example,+34 600 000 001,ES,F-2,2026-10-01,2026-11-14,500.00,0,EUR
B,Beta Comercial SA,b@beta.example,,ES,F-3,2026-10-10,2026-11-19,800.00,0,EUR
C,Gamma Textil SL,c@gamma.example,+34 600 000 003,ES,F-4,2026-08-10,2026-10-20,2000.00,0,EUR
D,Delta Foods SL,d@delta.example,+34 600 000 004,ES,F-5,2026-08-10,2026-10-20,1200.00,0,EUR
E,Epsilon Obras SL,e@epsilon.example,+34 600 000 005,ES,F-6,2026-09-01,2026-10-26,1500.00,0,EUR
"""
TENANT = "files:acme"
PLAN_RULE = {"max_installments": 6, "min_down_payment_pct": 0, "frequencies": ["weekly", "monthly"], "grace_days": 10}
IBAN = "ES91 2100 0418 4502 0005 1332"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ODOO_COLLECTIONS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ODOO_COLLECTIONS_STORE", raising=False)
    return CliRunner()


@pytest.fixture
def policy(tmp_path: Path) -> str:
    """The default policy without A/B variants (levels by days overdue: first 3, second 15, call 30, final 60), and
    one plan rule for every risk category, so that what a test expects does not hang on a customer's score."""
    document = default_policy_document()
    document["strategies"][0]["variants"] = []
    document["payment_plans"] = [{"risk_category": c, **PLAN_RULE} for c in ("low", "medium", "high")]
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    path = tmp_path / "ledger.csv"
    path.write_text(LEDGER, encoding="utf-8")
    return str(path)


def invoke(runner: CliRunner, command: str, *args: str) -> Result:
    """Run `odoo-collections COMMAND ARGS` (the command as a shell would split it)."""
    return runner.invoke(cli, [*shlex.split(command), *args], catch_exceptions=False)


def as_json(result: Result, code: int = 0) -> Any:
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def plan_run(runner: CliRunner, policy: str, as_of: str, *extra: str) -> dict[str, Any]:
    """`run` on the stored ledger as of a moment (given a ledger file, it is imported first)."""
    options = ("--tenant", TENANT, "--policy", policy, "--as-of", as_of, "--format", "json", "--no-prediction")
    return as_json(invoke(runner, "run", *options, *extra))


def actions_of(outcome: dict[str, Any], customer: str) -> list[tuple[str, str]]:
    return [(a["level"], a["channel"]) for a in outcome["actions"] if a["customer_id"] == customer]


def stage_of(outcome: dict[str, Any], customer: str) -> str:
    return next(c["stage"] for c in outcome["customers"] if c["customer_id"] == customer)


def store_of(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'home' / 'store.db'}")


def test_a_promise_pauses_the_reminders_of_its_items_and_a_broken_one_lets_them_resume(
    runner: CliRunner, policy: str, ledger: str
) -> None:
    first = plan_run(runner, policy, "2026-11-24T10:00:00+00:00", "--ledger", ledger)
    assert actions_of(first, "B") == [("first", "email")]
    without = plan_run(runner, policy, "2026-12-04T10:00:00+00:00", "--dry-run")
    assert actions_of(without, "B") == [("second", "email")]  # what B would get on Dec 4 without a promise
    common = ("--tenant", TENANT, "--policy", policy, "--as-of", "2026-11-25", "--format", "json")
    promise = "promise add B --amount 800 --date 2026-12-10 --note 'pays on the 10th'"

    preview = as_json(invoke(runner, f"{promise} --dry-run", *common))
    assert preview["dry_run"] and not preview["recorded"] and preview["promise"]["amount"] == "800.00"
    assert as_json(invoke(runner, "promise list", *common))["promises"] == []  # the dry run wrote nothing

    added = as_json(invoke(runner, promise.replace(" B ", " 'Beta Comercial SA' "), *common))  # by name
    assert added["recorded"] and added["promise"]["customer_id"] == "B" and added["promise"]["deadline"] == "2026-12-12"
    again = as_json(invoke(runner, promise, *common))
    assert again["already_recorded"] and not again["recorded"]  # the same promise twice is one promise

    paused = plan_run(runner, policy, "2026-12-04T10:00:00+00:00")
    assert actions_of(paused, "B") == [] and stage_of(paused, "B") == "promise"
    assert actions_of(plan_run(runner, policy, "2026-12-12T10:00:00+00:00"), "B") == []  # the grace's last day
    resumed = plan_run(runner, policy, "2026-12-14T10:00:00+00:00")
    assert actions_of(resumed, "B") == [("second", "email")] and stage_of(resumed, "B") != "promise"

    listed = {
        as_of: as_json(invoke(runner, "promise list --format json", "--tenant", TENANT, "--as-of", as_of))["promises"]
        for as_of in ("2026-12-05", "2026-12-14")
    }
    assert [(p["customer_id"], p["status"], p["note"]) for p in listed["2026-12-05"]] == [
        ("B", "pending", "pays on the 10th")
    ]
    assert [p["status"] for p in listed["2026-12-14"]] == ["broken"]
    table = invoke(runner, "promise list --as-of 2026-12-14 --status broken", "--tenant", TENANT)
    assert "Beta Comercial SA (B)" in table.stdout and "broken" in table.stdout


def test_a_promise_outside_the_policy_or_the_ledger_is_refused_with_the_reason(
    runner: CliRunner, policy: str, ledger: str
) -> None:
    plan_run(runner, policy, "2026-11-24T10:00:00+00:00", "--ledger", ledger)
    common = ("--tenant", TENANT, "--policy", policy, "--as-of", "2026-11-25")
    far = invoke(runner, "promise add B --amount 800 --date 2027-02-01", *common)
    assert far.exit_code == 9
    reason = "promised_date: 2027-02-01 is 68 days ahead; the policy allows at most 45 (promises.max_days_ahead)"
    assert reason in far.output
    too_much = as_json(
        invoke(runner, "promise add A --amount 600 --date 2026-12-01 --items F-2 --format json", *common), 9
    )
    assert too_much["problems"] == ["amount: 600.00 EUR is more than the 500.00 EUR open on the promised items"]
    assert invoke(runner, "promise add Z --amount 1 --date 2026-12-01", *common).exit_code == 5
    unknown = invoke(runner, "promise add A --amount 1 --date 2026-12-01 --items F-3", *common)
    assert unknown.exit_code == 5 and "'F-3': not an open invoice of Alfa Industrial SL (A)" in unknown.output
    assert invoke(runner, "promise add A --amount lots --date 2026-12-01", *common).exit_code == 2
    missing = invoke(runner, "promise list --tenant files:nobody")
    assert missing.exit_code == 5 and "files:nobody" in missing.output
    assert as_json(invoke(runner, "promise list --format json", *common))["promises"] == []


def test_a_plan_inside_the_rules_pauses_dunning_and_a_broken_plan_resumes_it(
    runner: CliRunner, policy: str, ledger: str
) -> None:
    plan_run(runner, policy, "2026-11-24T10:00:00+00:00", "--ledger", ledger)
    common = ("--tenant", TENANT, "--policy", policy, "--as-of", "2026-11-25", "--format", "json")
    refused = as_json(invoke(runner, "plan propose B --instalments 7 --frequency biweekly", *common), 9)
    assert not refused["accepted"] and not refused["recorded"] and refused["rule"]["max_installments"] == 6
    category = refused["risk_category"]
    assert refused["problems"] == [
        f"installments: 7 exceeds the maximum of 6 for risk category {category!r}",
        f"frequency: 'biweekly' is not allowed for risk category {category!r} (allowed: weekly, monthly)",
    ]
    table = invoke(runner, "plan propose B --instalments 7 --frequency monthly", *common[:-2])
    assert table.exit_code == 9 and "installments: 7 exceeds the maximum of 6" in table.output

    dry = as_json(invoke(runner, "plan propose B --instalments 2 --frequency monthly --dry-run", *common))
    assert dry["accepted"] and not dry["recorded"]
    assert [i["due_date"] for i in dry["plan"]["installments"]] == ["2026-12-25", "2027-01-25"]  # a month on
    assert as_json(invoke(runner, "plan list", *common))["plans"] == []

    proposal = "plan propose B --instalments 2 --frequency monthly --first-date 2026-11-30 --note 'agreed by phone'"
    accepted = as_json(invoke(runner, proposal, *common))
    assert accepted["accepted"] and accepted["recorded"] and accepted["problems"] == []
    schedule = [(i["due_date"], i["amount"]) for i in accepted["plan"]["installments"]]
    assert schedule == [("2026-11-30", "400.00"), ("2026-12-30", "400.00")]
    assert accepted["plan"]["invoice_numbers"] == ["F-3"] and accepted["plan"]["grace_days"] == 10
    overlapping = as_json(invoke(runner, "plan propose B --instalments 3 --frequency weekly", *common), 9)
    assert overlapping["problems"][0].startswith(f"items: already under payment plan {accepted['plan']['id']}")

    paused = plan_run(runner, policy, "2026-12-04T10:00:00+00:00")  # Nov 30 unpaid, within the grace: late
    assert actions_of(paused, "B") == [] and stage_of(paused, "B") == "payment_plan"  # no second reminder
    resumed = plan_run(runner, policy, "2026-12-11T10:00:00+00:00")  # past the 10 days' grace: broken
    assert actions_of(resumed, "B") == [("second", "email")] and stage_of(resumed, "B") == "follow_up"
    listing = ("plan list --format json", "--tenant", TENANT, "--as-of")
    (listed,) = as_json(invoke(runner, *listing, "2026-12-11"))["plans"]
    assert (listed["status"], listed["note"], listed["next_due"]) == ("broken", "agreed by phone", "2026-11-30")
    late = as_json(invoke(runner, *listing, "2026-12-04"))["plans"]
    assert [(p["status"], p["installments"][0]["status"]) for p in late] == [("late", "late")]
    assert invoke(runner, f"plan cancel {listed['id']}", "--tenant", TENANT).exit_code == 0
    (cancelled,) = as_json(invoke(runner, *listing, "2026-12-11", "--status", "cancelled"))["plans"]
    assert cancelled["id"] == listed["id"]
    assert invoke(runner, "plan cancel plan-none", "--tenant", TENANT).exit_code == 5


def test_a_logged_call_carries_out_the_call_action_and_its_promise_pauses_dunning(
    runner: CliRunner, policy: str, ledger: str, tmp_path: Path
) -> None:
    # a run stores the ledger; later, outside the contact hours, D's call is recorded but waits for the morning
    plan_run(runner, policy, "2026-11-10T10:00:00+00:00", "--ledger", ledger)
    evening = plan_run(runner, policy, "2026-11-24T20:00:00+00:00")
    (call_d,) = [a for a in evening["actions"] if a["customer_id"] == "D" and a["channel"] == "call"]
    assert call_d["not_before"] > "2026-11-24T20:00:00+00:00"
    common = ("--tenant", TENANT, "--policy", policy, "--format", "json", "--as-of")

    logged = as_json(invoke(runner, "call log D --outcome no_answer --note voicemail", *common, "2026-11-24T20:30"))
    assert logged["answers"] == call_d["key"] and logged["level"] == "call" and logged["recorded_first"] == []
    store = store_of(tmp_path)
    events = {e.id: e for e in store.history.load_history(TENANT).events}
    assert events[call_d["key"]].outcome == "no_answer"
    assert events[call_d["key"]].at.isoformat() == "2026-11-24T20:30:00+00:00"
    waiting = [e["key"] for e in store.outbox.pending_actions(TENANT)]
    assert waiting and call_d["key"] not in waiting  # done: the next run never hands it over

    # E's call falls due today (30 days overdue) and no run recorded it yet: the call carries out the engine's
    recorded = len(store.history.load_history(TENANT).events)
    promised = "call log E --outcome promised --promise-amount 1500 --promise-date 2026-12-01"
    preview = as_json(invoke(runner, f"{promised} --dry-run", *common, "2026-11-25T09:30"))
    assert preview["dry_run"] and preview["level"] == "call" and preview["promise"]["amount"] == "1500.00"
    assert len(store.history.load_history(TENANT).events) == recorded  # the dry run wrote nothing
    logged_e = as_json(invoke(runner, promised, *common, "2026-11-25T09:30"))
    assert logged_e["level"] == "call" and logged_e["recorded_first"] == [logged_e["answers"]]
    outcomes = {e.id: e.outcome for e in store.history.load_history(TENANT).events}
    assert outcomes[logged_e["answers"]] == "promised"

    morning = plan_run(runner, policy, "2026-11-25T10:00:00+00:00")
    assert actions_of(morning, "D") == [] and morning["delivery"]["delivered"] == len(waiting)  # A's, B's, C's
    assert actions_of(morning, "E") == [] and stage_of(morning, "E") == "promise"  # called, and a promise
    (made,) = as_json(invoke(runner, "promise list --format json --as-of 2026-11-26", "--tenant", TENANT))["promises"]
    assert (made["customer_id"], made["amount"], made["status"]) == ("E", "1500.00", "pending")

    # a call with no call action open is a call of its own: it counts for the contact caps, at no level
    own = as_json(invoke(runner, "call log B --outcome responded", *common, "2026-11-25T12:00"))
    assert own["answers"] is None and own["event_id"].startswith("call-")
    event = next(e for e in store_of(tmp_path).history.load_history(TENANT).events if e.id == own["event_id"])
    assert (event.channel, event.level, event.outcome, event.responded_at) == ("call", None, "responded", event.at)

    stale = as_json(invoke(runner, "call log C --outcome responded", *common, "2026-12-20T12:00"))
    assert stale["answers"] is None  # C's call action of Nov 24 is more than two weeks old: left as it was

    bad = invoke(runner, "call log A --outcome promised", "--tenant", TENANT)
    assert bad.exit_code == 2 and "--promise-amount" in bad.output


def test_a_logged_visit_carries_out_the_visit_action_at_the_cost_of_a_visit(
    runner: CliRunner, ledger: str, tmp_path: Path
) -> None:
    # the collector's level visits instead of calling: the visit goes to the worklist, never to the platform
    document = default_policy_document()
    document["strategies"][0]["variants"] = []
    for level in document["strategies"][0]["levels"]:
        if level["key"] == "call":
            level["channels"] = ["visit"]
    path = tmp_path / "visit_policy.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    plan_run(runner, str(path), "2026-11-10T10:00:00+00:00", "--ledger", ledger)
    day = plan_run(runner, str(path), "2026-11-24T10:00:00+00:00")
    (visit_d,) = [a for a in day["actions"] if a["customer_id"] == "D" and a["channel"] == "visit"]
    assert visit_d["level"] == "call"
    common = ("--tenant", TENANT, "--policy", str(path), "--format", "json", "--as-of")

    # a call log does not carry out the visit; a visit log does
    as_call = as_json(invoke(runner, "call log D --outcome no_answer", *common, "2026-11-24T11:00"))
    assert as_call["answers"] is None and as_call["channel"] == "call"
    logged = as_json(invoke(runner, "call log D --channel visit --outcome responded", *common, "2026-11-24T12:00"))
    assert (logged["answers"], logged["channel"], logged["level"]) == (visit_d["key"], "visit", "call")
    events = {e.id: e for e in store_of(tmp_path).history.load_history(TENANT).events}
    done = events[visit_d["key"]]
    assert (done.channel, done.outcome, done.cost) == ("visit", "responded", Decimal("25"))

    # a visit with no visit action open is a visit of its own, at the policy's cost of a visit
    own = as_json(invoke(runner, "call log B --channel visit --outcome failed", *common, "2026-11-24T13:00"))
    assert own["answers"] is None and own["event_id"].startswith("visit-")
    event = next(e for e in store_of(tmp_path).history.load_history(TENANT).events if e.id == own["event_id"])
    assert (event.channel, event.outcome, event.cost) == ("visit", "failed", Decimal("25"))
    bad = invoke(runner, "call log B --channel fax --outcome responded", "--tenant", TENANT)
    assert bad.exit_code == 2 and "fax" in bad.output
    assert invoke(runner, "call log A --outcome hung_up", "--tenant", TENANT).exit_code == 2


def test_the_worklist_shows_how_to_pay_by_transfer_in_the_table_the_json_and_the_report(
    runner: CliRunner, policy: str, ledger: str, tmp_path: Path
) -> None:
    bank = f"bank set --tenant {TENANT} --holder 'Acme SL' --bank-name CaixaBank"
    bad = invoke(runner, f"{bank} --iban 'ES91 2100 0418 4502 0005 1333'")
    assert bad.exit_code == 2 and "check digits" in bad.output
    assert invoke(runner, f"{bank} --iban '{IBAN.lower()}' --bic caixesbbxxx").exit_code == 0
    (account,) = as_json(invoke(runner, f"bank list --tenant {TENANT} --format json"))["accounts"]
    assert account == {
        "currency": None,
        "holder": "Acme SL",
        "bank_name": "CaixaBank",
        "iban": IBAN.replace(" ", ""),
        "account_number": None,
        "bic": "CAIXESBBXXX",
    }

    report = tmp_path / "report.html"
    outcome = plan_run(runner, policy, "2026-11-24T10:00", "--ledger", ledger, "--dry-run", "--report", str(report))
    (to_a,) = [a for a in outcome["actions"] if a["customer_id"] == "A"]
    assert to_a["invoice_numbers"] == ["F-1", "F-2"] and to_a["payment_reference"] == "F-1, F-2"
    assert to_a["bank_transfer"] == {**account, "reference": "F-1, F-2"} and to_a["pay_links"] == []
    html = report.read_text(encoding="utf-8")
    assert f"Bank transfer to Acme SL, CaixaBank, IBAN {IBAN}, BIC CAIXESBBXXX, quoting F-1, F-2" in html
    run = f"run --tenant {TENANT} --as-of 2026-11-24T10:00 --no-prediction"
    table = invoke(runner, run, "--ledger", ledger, "--policy", policy)
    assert "How to pay" in table.stdout and "reference to quote" in table.stdout and "F-1, F-2" in table.stdout
    assert f"Bank transfer (any currency): Acme SL, CaixaBank, IBAN {IBAN}" in table.stdout
    assert invoke(runner, f"bank remove --tenant {TENANT}").exit_code == 0
    assert invoke(runner, f"bank remove --tenant {TENANT}").exit_code == 5
    quiet = invoke(runner, f"{run} --all", "--policy", policy)
    assert "How to pay" not in quiet.stdout  # no account and no pay link: nothing to show


def test_the_terminal_worklist_aging_and_kpis_read_spanish(runner: CliRunner, policy: str, ledger: str) -> None:
    invoke(
        runner, f"bank set --tenant {TENANT} --currency EUR --holder 'Acme SL' --bank-name CaixaBank --iban '{IBAN}'"
    )
    run = f"run --tenant {TENANT} --as-of 2026-11-24T10:00:00+00:00 --no-prediction"
    result = invoke(runner, f"{run} --lang es", "--ledger", ledger, "--policy", policy)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Lista de trabajo del 24 nov 2026, 10:00 UTC: 5 nuevas de 5 acciones previstas hoy" in out
    assert "Llamada" in out and "Correo electrónico" in out  # the channels
    assert "mar 24 nov 11:00" in out  # not before, the customer's local time, the Spanish way
    assert "1.500,00" in out and "2.000,00" in out  # money
    assert "F-1 vencida hace 35 días; nivel «Collector" in out and "primer canal del nivel" in out  # the reasons
    assert "Cómo pagar" in out and "Transferencia bancaria (EUR): Acme SL, CaixaBank" in out
    assert "Entregadas 5 acciones pendientes." in out
    assert "Antigüedad de saldos (EUR)" in out and "No vencido" in out and "31-60 días" in out and "7.000,00" in out
    assert "Indicadores del 26 ago 2026" in out and "Tasa de recuperación" in out and "165,8" in out
    assert "Cuentas por cobrar" in out and "Worklist" not in out and "Aging" not in out
    english = invoke(runner, f"{run} --all", "--policy", policy)
    assert "Worklist for 2026-11-24 10:00 UTC: 0 new of 5 actions planned today (all shown)" in english.stdout
    assert "Tue 24 Nov 11:00" in english.stdout and "F-1 35 days overdue" in english.stdout
    assert "Not due" in english.stdout and "KPIs 2026-08-26 to 2026-11-24" in english.stdout
