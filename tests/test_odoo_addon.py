"""The Odoo addon's own tests, run on a real Odoo 18 when one is installed at ~/odoo18.

Without Odoo they skip and say why. With it, a fresh database is created, the addons of
odoo_addon_collections/ are installed with their tests (odoo-bin --test-enable), and the
same tests run once more through pytest-odoo on that database. A second database, with demo
data, installs them as a user trying them would, runs their tests again and looks at what the
demo data shows.

By default Odoo's virtualenv is ~/odoo18/venv, with the engine installed in it
(pip install -e packaging/engine), and the addons are read from odoo_addon_collections/.
ODOO18_PYTHON names another Python, and ODOO_COLLECTIONS_ADDONS=wheels says that the addons
are installed in it as wheels (.ci/run does this in a copy of Odoo's virtualenv): the addons
path is then Odoo's alone, and what is tested is what `pip install` installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ADDONS_DIR = REPO / "odoo_addon_collections"
ODOO_HOME = Path(os.environ.get("ODOO18_HOME") or Path.home() / "odoo18")
ODOO_PYTHON = Path(os.environ.get("ODOO18_PYTHON") or ODOO_HOME / "venv" / "bin" / "python")
ODOO_BIN = ODOO_HOME / "src" / "odoo-bin"
ADDONS = sorted(p.parent.name for p in ADDONS_DIR.glob("*/__manifest__.py"))
# installed beside the addons for their tests: Odoo's demo payment provider, with which the portal's
# pay-all browser tour pays (test_portal_pay.py skips the tour without it)
TEST_MODULES = ["payment_demo"]
FROM_WHEELS = os.environ.get("ODOO_COLLECTIONS_ADDONS") == "wheels"
ENGINE_DISTRIBUTION = "odoo-collections-engine"  # what the manifests' external_dependencies name


def _free_port() -> int:
    """A port nobody listens on now: the HttpCase tests start Odoo's server on it, never on 8069."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _addons_path() -> str:
    odoo_addons = [str(ODOO_HOME / "src" / "odoo" / "addons"), str(ODOO_HOME / "src" / "addons")]
    return ",".join(odoo_addons if FROM_WHEELS else [*odoo_addons, str(ADDONS_DIR)])


def _installed_addons_dir() -> Path:
    """Where Odoo's Python finds the addons: their wheels' folder, or odoo_addon_collections/."""
    if not FROM_WHEELS:
        return ADDONS_DIR
    script = (
        "import importlib.util, sys; "
        f"spec = importlib.util.find_spec('odoo.addons.{ADDONS[0]}'); "
        "print(spec.submodule_search_locations[0] if spec else '')"
    )
    found = subprocess.run([str(ODOO_PYTHON), "-c", script], capture_output=True, text=True, check=True).stdout
    assert found.strip(), f"the addon {ADDONS[0]} is not installed in {ODOO_PYTHON} (ODOO_COLLECTIONS_ADDONS=wheels)"
    return Path(found.strip()).parent


def _check_odoo_environment() -> None:
    """Skip without Odoo or PostgreSQL; fail when Odoo's Python lacks the engine distribution."""
    if not (ODOO_PYTHON.exists() and ODOO_BIN.exists()):
        pytest.skip(f"Odoo 18 is not installed at {ODOO_HOME} (src/ and venv/): the addon tests need a real Odoo")
    if (
        shutil.which("createdb") is None
        or subprocess.run(["psql", "-Atc", "SELECT 1", "postgres"], capture_output=True).returncode != 0
    ):
        message = "PostgreSQL is not reachable as the current user (start it: pg_ctlcluster 15 main start)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    script = f"import importlib.metadata as m, collections_engine; print(m.version({ENGINE_DISTRIBUTION!r}))"
    engine = subprocess.run([str(ODOO_PYTHON), "-c", script], capture_output=True, text=True)
    assert engine.returncode == 0, (
        f"the engine distribution {ENGINE_DISTRIBUTION} is not installed in Odoo's Python (the addon's manifest "
        f"requires it): {ODOO_PYTHON} -m pip install -e {REPO / 'packaging' / 'engine'}\n{engine.stderr[-2000:]}"
    )


def _odoo_install(database: str, *, demo: bool) -> str:
    """Install the addons in a fresh database with --test-enable; return the log (also left in the temp folder)."""
    tags = ",".join(f"/{addon}" for addon in ADDONS)
    result = subprocess.run(
        [
            str(ODOO_PYTHON),
            str(ODOO_BIN),
            f"--addons-path={_addons_path()}",
            "-d",
            database,
            "-i",
            ",".join(ADDONS + TEST_MODULES),
            "--test-enable",
            f"--test-tags={tags}",
            "--stop-after-init",
            *([] if demo else ["--without-demo=all"]),
            "--log-level=test",
            "--http-interface=127.0.0.1",
            f"--http-port={_free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    log = result.stdout + result.stderr
    name = "odoo-collections-addon-tests" + ("-demo" if demo else "") + ".log"
    (Path(tempfile.gettempdir()) / name).write_text(log, encoding="utf-8")
    assert result.returncode == 0, log[-5000:]
    return log


def _assert_tests_passed(log: str) -> None:
    summary = re.findall(r"odoo\.tests\.result: (\d+) failed, (\d+) error\(s\) of (\d+) tests", log)
    assert summary, "no Odoo test summary in the log: " + log[-3000:]
    failed, errors, total = (int(n) for n in summary[-1])
    problems = [line for line in log.splitlines() if re.search(r" (ERROR|CRITICAL) |FAIL:", line)]
    assert (failed, errors, problems) == (0, 0, []), "\n".join(problems[:40])
    assert total >= 10
    warnings = [line for line in log.splitlines() if " WARNING " in line and "account_collections" in line]
    assert warnings == [], "\n".join(warnings[:20])


def _odoo_shell(database: str, script: str) -> str:
    result = subprocess.run(
        [
            str(ODOO_PYTHON),
            str(ODOO_BIN),
            "shell",
            f"--addons-path={_addons_path()}",
            "-d",
            database,
            "--no-http",
            "--log-level=warn",
        ],
        input=script,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope="module")
def odoo_database() -> Iterator[str]:
    """A fresh database with the addons installed and their Odoo tests run (log checked by the tests)."""
    _check_odoo_environment()
    database = f"test_collections_{os.getpid()}"
    subprocess.run(["dropdb", "--if-exists", database], check=True)
    try:
        yield database
    finally:
        subprocess.run(["dropdb", "--if-exists", database], check=False)


@pytest.fixture(scope="module")
def odoo_test_log(odoo_database: str) -> str:
    """Install the addons in the fresh database (no demo data) with --test-enable and return the log."""
    return _odoo_install(odoo_database, demo=False)


def test_addons_install_and_pass_their_odoo_tests(odoo_test_log: str) -> None:
    _assert_tests_passed(odoo_test_log)


def test_same_tests_pass_under_pytest_odoo(odoo_test_log: str, odoo_database: str, tmp_path: Path) -> None:
    config = tmp_path / "odoo.conf"
    config.write_text(
        f"[options]\naddons_path = {_addons_path()}\ndb_name = {odoo_database}\n"
        f"http_interface = 127.0.0.1\nhttp_port = {_free_port()}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            str(ODOO_PYTHON),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--odoo-config={config}",
            f"--odoo-database={odoo_database}",
            *[f"{addon}/tests" for addon in ADDONS],
        ],
        cwd=_installed_addons_dir(),
        # Odoo's source first, as odoo-bin has it: an Odoo installed in editable mode by setuptools is found
        # after any odoo/ folder of site-packages, and the addons' wheels make one (odoo/addons/<addon>)
        env={**os.environ, "PYTHONPATH": str(ODOO_HOME / "src")},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert re.search(r"\d+ passed", result.stdout)


def test_connectors_pull_the_policy_configured_in_odoo(odoo_test_log: str, odoo_database: str) -> None:
    """`odoo-collections policy pull` over JSON-RPC from a running Odoo server gives the addon's policy."""
    pytest.importorskip("odoorpc", reason="odoorpc is not installed (pip install -e '.[test]')")
    import time
    import urllib.request

    from click.testing import CliRunner

    from connectors.cli import cli

    port = _free_port()
    server = subprocess.Popen(
        [str(ODOO_PYTHON), str(ODOO_BIN), f"--addons-path={_addons_path()}", "-d", odoo_database,
         f"--db-filter=^{odoo_database}$", "--http-interface=127.0.0.1", f"--http-port={port}",
         "--max-cron-threads=0", "--log-level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/web/login", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the Odoo server did not start"
                time.sleep(0.5)
        runner = CliRunner()
        pulled = runner.invoke(cli, ["policy", "pull", "--odoo-url", f"http://127.0.0.1:{port}", "--db",
                                     odoo_database, "--login", "admin", "--api-key", "admin"])
        assert pulled.exit_code == 0, pulled.output
        from collections_engine.policy import policy_from_json

        policy = policy_from_json(pulled.stdout)
        assert [level.key for level in policy.strategy("standard").levels] == [
            "pre_due", "first", "second", "call", "final"]
        refused = runner.invoke(cli, ["policy", "pull", "--odoo-url", f"http://127.0.0.1:{port}", "--db",
                                      odoo_database, "--login", "admin", "--api-key", "wrong"])
        assert refused.exit_code == 6 and "refused the login" in refused.output
    finally:
        server.terminate()
        server.wait(30)


def test_uninstall_leaves_no_errors(odoo_test_log: str, odoo_database: str) -> None:
    tables = "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'collection\\\\_%'"
    script = "\n".join(
        [
            f"modules = env['ir.module.module'].search([('name', 'in', {ADDONS!r})])",
            "modules.button_immediate_uninstall()",
            "env.cr.commit()",
            "print('STATES', sorted(set(modules.mapped('state'))))",
            f'env.cr.execute("{tables}")',
            "print('TABLES', env.cr.fetchone()[0])",
            "",
        ]
    )
    output = _odoo_shell(odoo_database, script)
    assert "STATES ['uninstalled']" in output, output[-4000:]
    assert "TABLES 0" in output, output[-4000:]
    problems = [line for line in output.splitlines() if re.search(r" (ERROR|CRITICAL|WARNING) ", line)]
    assert problems == [], "\n".join(problems[:20])


@pytest.fixture(scope="module")
def odoo_demo_database() -> Iterator[str]:
    """A fresh database with demo data, the addons installed as a user trying them would, their tests run."""
    _check_odoo_environment()
    database = f"test_collections_demo_{os.getpid()}"
    subprocess.run(["dropdb", "--if-exists", database], check=True)
    try:
        yield database
    finally:
        subprocess.run(["dropdb", "--if-exists", database], check=False)


DEMO_FIGURES = """
import json
Case = env["collection.case"]
demo = [env.ref(f"account_collections.demo_partner_{name}") for name in
        ("levante", "talleres", "ferreteria", "mirador", "turia", "northwind", "harbour", "bluebell")]
cases = Case.search([("partner_id", "in", [p.id for p in demo] + [env.ref("base.partner_demo_portal").id])])
admin = env.ref("base.user_admin")
portal = env.ref("base.demo_user0")
moves = env["account.move"].search([("partner_id", "in", cases.partner_id.ids), ("state", "=", "posted")])
print("FIGURES", json.dumps({
    "stages": sorted(set(cases.mapped("stage_id.key"))),
    "instalment_invoices": len(moves.filtered(lambda m: len(m.line_ids.filtered(
        lambda line: line.display_type == "payment_term")) > 1)),
    "partly_paid": len(moves.filtered(lambda m: m.move_type == "out_invoice" and m.payment_state == "partial")),
    "credit_notes": len(moves.filtered(lambda m: m.move_type == "out_refund")),
    "disputed": len(moves.filtered(lambda m: m.payment_state == "blocked")),
    "promises": env["collection.promise"].search_count([("status", "=", "pending")]),
    "plans": env["collection.plan"].search_count([("status", "=", "good_standing")]),
    "worklist": env["collection.action"].with_user(admin).search_count(
        [("user_id", "=", admin.id), ("state", "=", "to_do")]),
    "emails_sent": env["collection.action"].search_count([("channel", "=", "email"), ("state", "=", "done")]),
    "portal_cases": len(env["collection.case"].sudo().search(
        [("partner_id", "=", portal.partner_id.commercial_partner_id.id)]).filtered("open_amount")),
    # account_collections_sale: the 60-day rule holds Levante (65 days), not Talleres (38), each quoted
    "held": sorted(p.name for p in demo if p.collection_credit_hold),
    "quotations": sorted(o.partner_id.name for o in env["sale.order"].search(
        [("partner_id", "in", [p.id for p in demo]), ("state", "=", "draft")])),
}))
"""


def test_demo_data_fills_the_first_screens_and_the_tests_pass_with_it(odoo_demo_database: str) -> None:
    """With demo data the tests still pass (they never use it), and every first screen shows something."""
    _assert_tests_passed(_odoo_install(odoo_demo_database, demo=True))
    output = _odoo_shell(odoo_demo_database, DEMO_FIGURES)
    (line,) = [line for line in output.splitlines() if line.startswith("FIGURES ")]
    figures = json.loads(line.removeprefix("FIGURES "))
    # the kanban: a case in every stage
    assert figures.pop("stages") == sorted(
        ["upcoming", "follow_up", "promise", "payment_plan", "escalated", "dispute", "closed"]
    )
    assert figures.pop("emails_sent") >= 4
    assert figures == {
        "instalment_invoices": 2,
        "partly_paid": 3,
        "credit_notes": 1,
        "disputed": 1,
        "promises": 1,
        "plans": 1,
        "worklist": 2,  # the collector's call and the final notice's letter
        "portal_cases": 1,  # portal / portal sees their payments due
        "held": ["Distribuciones Levante S.L."],
        "quotations": ["Distribuciones Levante S.L.", "Talleres Gómez e Hijos S.L."],
    }

