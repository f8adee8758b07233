"""The odoo-collections command: the main job on the demo, JSON output, exit codes, policy commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.cli import cli
from connectors.files.demo import DEMO_LEDGER, generate_demo_ledger


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ODOO_COLLECTIONS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ODOO_COLLECTIONS_STORE", raising=False)
    return CliRunner()


def run_json(runner: CliRunner, *args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(cli, ["run", *args, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_demo_run_then_second_run_plans_nothing_twice(runner: CliRunner, tmp_path: Path) -> None:
    first = run_json(runner, "--demo", "--report", str(tmp_path / "r.html"))
    assert first["new_actions"] == len(first["actions"]) > 50
    assert first["as_of"] == "2026-11-24T10:00:00+00:00"
    assert {a["channel"] for a in first["actions"]} >= {"email", "call", "letter"}
    assert any(a["level"] == "pre_due" for a in first["actions"])
    assert first["kpis"]["overall"]["dso"] is not None
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")
    second = run_json(runner, "--demo", "--as-of", "2026-11-24T15:00:00+00:00")
    assert second["actions"] == [] and second["import"]["skipped"]
    replay = run_json(runner, "--demo", "--dry-run")
    assert [a["key"] for a in replay["actions"]] == [a["key"] for a in first["actions"]]


def test_table_output_and_group_by(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "--demo", "--group-by", "collector", "--limit", "3"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Worklist for 2026-11-24" in result.stdout and "Aging (EUR)" in result.stdout
    assert "ana" in result.stdout and "marta" in result.stdout


def test_bad_rows_and_strict_exit_code(runner: CliRunner, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("customer,invoice,due date,amount\nA,1,2026-10-01,100\nA,2,soon,100\n", encoding="utf-8")
    loose = runner.invoke(cli, ["run", "--ledger", str(ledger), "--as-of", "2026-11-24", "--format", "json"])
    assert loose.exit_code == 0
    assert json.loads(loose.stdout)["import"]["problems"] == [
        {"line": 3, "reason": "due_date: 'soon' is not a date (expected YYYY-MM-DD)"}
    ]
    strict = runner.invoke(cli, ["run", "--ledger", str(ledger), "--strict", "--dry-run"])
    assert strict.exit_code == 4


def test_missing_rate_is_an_input_error(runner: CliRunner, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("customer,invoice,due date,amount,currency\nA,1,2026-10-01,100,USD\n", encoding="utf-8")
    result = runner.invoke(cli, ["run", "--ledger", str(ledger), "--as-of", "2026-11-24"])
    assert result.exit_code == 5 and "no exchange rate from USD to EUR" in result.output
    ok = runner.invoke(cli, ["run", "--ledger", str(ledger), "--as-of", "2026-11-24", "--rate", "USD=0.9"])
    assert ok.exit_code == 0, ok.output


def test_policy_init_validate_show(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "policy.json"
    assert runner.invoke(cli, ["policy", "init", "-o", str(target)]).exit_code == 0
    assert runner.invoke(cli, ["policy", "init", "-o", str(target)]).exit_code == 5
    valid = runner.invoke(cli, ["policy", "validate", str(target), "--format", "json"])
    assert json.loads(valid.stdout) == {"valid": True, "name": "Default collections policy", "revision": 1}
    document = json.loads(target.read_text(encoding="utf-8"))
    document["strategies"][0]["levels"][2]["delay_days"] = 1
    target.write_text(json.dumps(document), encoding="utf-8")
    invalid = runner.invoke(cli, ["policy", "validate", str(target)])
    assert invalid.exit_code == 3
    assert "strategies[0].levels[2].delay_days: must be greater than the previous level's (3)" in invalid.output
    as_json = runner.invoke(cli, ["policy", "validate", str(target), "--format", "json"])
    assert as_json.exit_code == 3 and json.loads(as_json.stdout)["valid"] is False
    run = runner.invoke(cli, ["run", "--demo", "--policy", str(target)])
    assert run.exit_code == 3
    shown = runner.invoke(cli, ["policy", "show"])
    assert json.loads(shown.stdout)["default_strategy"] == "standard"


def test_usage_errors(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["run"]).exit_code == 2
    assert runner.invoke(cli, ["run", "--demo", "--as-of", "tomorrow"]).exit_code == 2


def test_shipped_demo_ledger_is_what_the_generator_writes(tmp_path: Path) -> None:
    rows = generate_demo_ledger(tmp_path / "demo.csv")
    assert (tmp_path / "demo.csv").read_bytes() == DEMO_LEDGER.read_bytes()
    assert rows == DEMO_LEDGER.read_text(encoding="utf-8").count("\n") - 1


def test_experiment_report_after_a_run(runner: CliRunner) -> None:
    run_json(runner, "--demo")
    result = runner.invoke(cli, ["experiment", "--tenant", "files:demo", "--as-of", "2026-12-24", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["control"] == "a" and [v["variant"] for v in report["variants"]] == ["a", "b"]
    assert all(v["customers"] > 0 for v in report["variants"])
    # the demo's arms are smaller than the test needs: shown, not judged, and the report says keep going
    assert report["stop"] is False and report["winner"] is None and report["alpha_per_comparison"] == 0.05
    assert report["variants"][1]["decision"] == "undecided" and report["variants"][1]["always_valid_p_value"] is None
    table = runner.invoke(cli, ["experiment", "--tenant", "files:demo", "--as-of", "2026-12-24", "--mde", "0.1"])
    assert table.exit_code == 0 and "Variants against a" in table.stdout
    assert "Keep going: no variant differs from a yet" in table.stdout
    missing = runner.invoke(cli, ["experiment", "--as-of", "2026-12-24"])
    assert missing.exit_code == 2 and "--tenant" in missing.output
    empty = runner.invoke(cli, ["experiment", "--tenant", "files:none", "--as-of", "2026-12-24"])
    assert empty.exit_code == 0 and "no contacts under variants" in empty.stdout


def test_experiment_plan_says_how_many_customers(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["experiment", "plan", "--baseline", "0.30", "--mde", "0.05", "--format", "json"])
    assert result.exit_code == 0, result.output
    sizes = json.loads(result.stdout)
    assert sizes["fixed_per_variant"] == 1374 and sizes["fixed_total"] == 2748 and sizes["variants"] == 2
    assert sizes["fixed_per_variant"] < sizes["sequential_for_power_per_variant"]
    table = runner.invoke(
        cli, ["experiment", "plan", "--baseline", "0.3", "--mde", "0.05", "--variants", "3", "--power", "0.9"]
    )
    assert table.exit_code == 0, table.output
    assert "fixed horizon: one look, at the end" in table.stdout and "sequential: in 90% of them" in table.stdout
    assert "2.50% (Bonferroni)" in table.stdout and "experiment --mde 0.05" in table.stdout
    for bad, message in (
        (["--baseline", "0.3", "--mde", "0.8"], "mde: a difference in recovery rate"),
        (["--baseline", "0.3", "--mde", "0.05", "--variants", "1"], "variants: at least 2"),
        (["--baseline", "0.3"], "Missing option '--mde'"),
        (["--baseline", "x", "--mde", "0.05"], "'x' is not a valid float"),
    ):
        refused = runner.invoke(cli, ["experiment", "plan", *bad])
        assert refused.exit_code == 2 and message in refused.output and "Traceback" not in refused.output


def test_experiment_verdict_names_the_winner_or_says_keep_going() -> None:
    from decimal import Decimal

    from collections_engine.experiments import VariantObservation, experiment_results
    from connectors.cli import experiment_verdict

    def arm(variant: str, paid: list[str]) -> list[VariantObservation]:
        return [
            VariantObservation(f"{variant}{n}", variant, Decimal(100), Decimal(paid[n % len(paid)]), None, Decimal(0))
            for n in range(200)
        ]

    won = experiment_results(arm("a", ["100", "0"]) + arm("b", ["100", "100", "100", "0"]) + arm("c", ["100", "0"]))
    assert experiment_verdict(won) == (
        "Stop: b wins, recovering +25.0 pts against a (always-valid test at 2.50% for each of 2 comparisons "
        "with the control, Bonferroni)."
    )
    lost = experiment_results(arm("a", ["100"]) + arm("b", ["100", "0"]))
    assert experiment_verdict(lost) == (
        "Stop: every variant recovers less than the control a (always-valid test at 5.00%)."
    )
    early = experiment_results(arm("a", ["100", "0"])[:20] + arm("b", ["100", "0"]))
    assert experiment_verdict(early) == (
        "Keep going: no variant differs from a yet (always-valid test at 5.00%; an arm is tested from 30 "
        "customers on, and a has fewer)."
    )


def test_a_rerun_shows_what_is_new_names_the_customers_and_the_report_speaks_spanish(
    runner: CliRunner, tmp_path: Path
) -> None:
    first = runner.invoke(cli, ["run", "--demo", "--limit", "0"], catch_exceptions=False)
    planned = json.loads(runner.invoke(cli, ["run", "--demo", "--dry-run", "--format", "json"]).stdout)
    total = len(planned["actions"])
    assert f": {total} new of {total} actions planned today" in first.stdout
    name = planned["actions"][0]["customer_name"]
    assert name != planned["actions"][0]["customer_id"] and name in first.stdout  # names, not only ids
    again = runner.invoke(cli, ["run", "--demo", "--limit", "0"], catch_exceptions=False)
    assert f": 0 new of {total} actions planned today" in again.stdout and name not in again.stdout.split("Aging")[0]
    everything = runner.invoke(cli, ["run", "--demo", "--all", "--limit", "0"], catch_exceptions=False)
    assert name in everything.stdout.split("Aging")[0]
    assert not any(a["new"] for a in planned["actions"])  # the dry run came after the first run recorded them
    report = tmp_path / "informe.html"
    runner.invoke(cli, ["run", "--demo", "--report", str(report), "--lang", "es"], catch_exceptions=False)
    html = report.read_text(encoding="utf-8")
    assert '<html lang="es">' in html and "<title>demo</title>" in html and "Antigüedad" in html


def test_policy_presets_lists_each_country_and_audience_with_its_sources(runner: CliRunner, tmp_path: Path) -> None:
    listed = runner.invoke(cli, ["policy", "presets", "--format", "json"], catch_exceptions=False)
    assert listed.exit_code == 0
    rows = {(row["country"], row["audience"]): row for row in json.loads(listed.stdout)}
    assert set(rows) == {(c, a) for c in ("BR", "CL", "CO", "ES", "MX", "PE", "US") for a in ("b2b", "b2c")}
    colombia = rows[("CO", "b2c")]
    assert colombia["hours"] == [["07:00", "19:00"]] and colombia["hours_by_weekday"] == {"6": [["08:00", "15:00"]]}
    assert colombia["holidays"] is True and "Ley 2300 de 2023" in colombia["sources"][0]
    assert rows[("US", "b2c")]["channel_caps"] == {"call": {"per_7_days": 7}}
    table = runner.invoke(cli, ["policy", "presets"], catch_exceptions=False)
    assert "CO/b2c  Ley 2300 de 2023" in table.output and "6 08:00-15:00" in table.output
    target = tmp_path / "policy.json"
    runner.invoke(cli, ["policy", "init", "--output", str(target)], catch_exceptions=False)
    document = json.loads(target.read_text(encoding="utf-8"))
    document["contact"]["countries"]["CO"] = {"preset": "CO", "hours": [["06:00", "19:00"]]}
    target.write_text(json.dumps(document), encoding="utf-8")
    invalid = runner.invoke(cli, ["policy", "validate", str(target)])
    assert invalid.exit_code == 3 and "contact.countries.CO.hours: ['06:00', '19:00'] on weekday 1" in invalid.output


def test_customers_on_credit_hold_are_shown_in_json_table_and_report(runner: CliRunner, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(
        "customer,customer name,invoice,issue date,due date,amount,open amount\n"
        "LATE,Retrasos SL,F-1,2026-08-01,2026-09-01,1200.00,1200.00\n"
        "LATE,Retrasos SL,F-2,2026-10-01,2026-11-01,300.00,300.00\n"
        "NEW,Puntual SA,F-3,2026-11-01,2026-11-20,500.00,500.00\n",
        encoding="utf-8",
    )
    policy = tmp_path / "policy.json"
    runner.invoke(cli, ["policy", "init", "--output", str(policy)], catch_exceptions=False)
    document = json.loads(policy.read_text(encoding="utf-8"))
    document["credit_hold"] = {"rules": [{"overdue_days": 30}]}
    policy.write_text(json.dumps(document), encoding="utf-8")
    args = ["--ledger", str(ledger), "--policy", str(policy), "--as-of", "2026-11-24", "--currency", "EUR"]
    result = run_json(runner, *args, "--dry-run")
    holds = {c["customer_id"]: c["credit_hold"] for c in result["customers"]}
    assert holds["NEW"] is None  # 4 days overdue: under the 30-day rule
    assert holds["LATE"]["causes"] == ["overdue_days"] and holds["LATE"]["overdue"] == "1500.00"
    assert holds["LATE"]["balance"] == "1500.00" and holds["LATE"]["currency"] == "EUR"
    assert holds["LATE"]["reason"] == "F-1 84 days overdue, over the 30-day limit"
    wide = {"COLUMNS": "200"}  # one line per row
    table = runner.invoke(cli, ["run", *args, "--dry-run", "--lang", "es"], env=wide, catch_exceptions=False).stdout
    held = table.split("Bloqueo de crédito (EUR): los pedidos nuevos de 1 cliente esperan")[1].split("└")[0]
    (row,) = [line for line in held.splitlines() if "Retrasos SL (LATE)" in line]
    assert "F-1 vencida hace 84 días, por encima del plazo máximo de 30 días" in row and row.count("1.500,00") == 2
    assert "Puntual SA" not in held
    report = tmp_path / "r.html"
    runner.invoke(cli, ["run", *args, "--dry-run", "--report", str(report)], catch_exceptions=False)
    section = report.read_text(encoding="utf-8").split("<h2>Credit hold</h2>")[1].split("<h2>")[0]
    assert "Retrasos SL" in section and "Puntual SA" not in section and "1,500.00 EUR" in section
