"""`run --ledger` in real processes: two at once on one SQLite store, and a kill -9 in the middle of an import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO

from connectors.cli import cli
from connectors.common.store import Store
from connectors.files.demo import DEMO_LEDGER, DEMO_RATES

RATES = [arg for code, rate in DEMO_RATES.items() for arg in ("--rate", f"{code}={rate}")]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ODOO_COLLECTIONS_STORE"}
    return {**env, "ODOO_COLLECTIONS_HOME": str(home), "PYTHONPATH": str(REPO)}


def _run_args(store_url: str, ledger: Path, as_of: str) -> list[str]:
    return ["--store", store_url, "run", "--ledger", str(ledger), "--as-of", as_of, "--format", "json", *RATES]


def test_two_first_runs_at_once_never_crash_nor_plan_twice(tmp_path: Path) -> None:
    ledger = shutil.copy(DEMO_LEDGER, tmp_path / "ar-2026-11-24.csv")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    command = [sys.executable, "-m", "connectors.cli", *_run_args(url, Path(ledger), "2026-11-24")]
    outputs = [(tmp_path / f"out{n}", tmp_path / f"err{n}") for n in range(2)]
    processes = [
        subprocess.Popen(command, env=_env(tmp_path / "home"), stdout=out.open("w"), stderr=err.open("w"))
        for out, err in outputs
    ]
    codes_in_order = [process.wait(120) for process in processes]
    results = [(code, out.read_text(), err.read_text()) for code, (out, err) in zip(codes_in_order, outputs)]
    codes = sorted(code for code, _out, _err in results)
    assert codes in ([0, 0], [0, 8]), results
    assert not any("Traceback" in err or "IntegrityError" in err for _code, _out, err in results)
    if codes == [0, 8]:
        assert "another run is busy with files:default" in next(err for code, _o, err in results if code == 8)
    new = sum(json.loads(out)["new_actions"] for code, out, _err in results if code == 0)
    store = Store(url)
    assert new == sum(store.outbox.outbox_counts("files:default").values()) > 0
    assert {r["status"] for r in store.runs.last_runs("files:default", 20)} == {"done"}


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from connectors.common import bulk

    upsert = bulk.upsert

    def killed_on_the_items(connection, table, columns, rows, keys):
        if table.name == "items":
            os.kill(os.getpid(), signal.SIGKILL)  # customers are written, items not yet, nothing committed
        return upsert(connection, table, columns, rows, keys)

    bulk.upsert = killed_on_the_items
    from connectors.cli import cli
    cli(sys.argv[1:], prog_name="odoo-collections")
    """
)


def _day_two(tmp_path: Path) -> Path:
    lines = DEMO_LEDGER.read_text(encoding="utf-8").splitlines()
    kept = [lines[0], *(line for number, line in enumerate(lines[1:]) if number % 40)]  # some invoices were paid
    path = tmp_path / "ar-2026-11-25.csv"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def _state(url: str) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    store = Store(url)
    portfolio = store.ledger.load_portfolio("files:default", "EUR", DEMO_RATES)
    items = sorted((i.id, str(i.residual), str(i.settled_on)) for i in portfolio.items)
    keys = sorted(a["key"] for a in store.outbox.pending_actions("files:default", limit=100_000))
    return items, keys


def test_a_kill_during_import_then_a_rerun_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    day_one = Path(shutil.copy(DEMO_LEDGER, tmp_path / "ar-2026-11-24.csv"))
    day_two = _day_two(tmp_path)
    runner = CliRunner(env={"ODOO_COLLECTIONS_HOME": str(tmp_path / "home")})
    stores = {name: f"sqlite:///{tmp_path / name}.db" for name in ("killed", "control")}
    for url in stores.values():
        first = runner.invoke(cli, [*_run_args(url, day_one, "2026-11-24")], catch_exceptions=False)
        assert first.exit_code == 0, first.output
    before = _state(stores["killed"])
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, *_run_args(stores["killed"], day_two, "2026-11-25"), "--allow-closing"],
        env=_env(tmp_path / "home"), capture_output=True, text=True, timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    assert _state(stores["killed"]) == before  # the import was one transaction: nothing of it was kept
    assert [r["status"] for r in Store(stores["killed"]).runs.last_runs("files:default", 1)] == ["running"]
    for url in stores.values():
        rerun = runner.invoke(cli, [*_run_args(url, day_two, "2026-11-25"), "--allow-closing"], catch_exceptions=False)
        assert rerun.exit_code == 0, rerun.output
    assert _state(stores["killed"]) == _state(stores["control"])
    statuses = [r["status"] for r in Store(stores["killed"]).runs.last_runs("files:default", 20)]
    assert "abandoned" in statuses and "running" not in statuses
