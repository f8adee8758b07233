"""The Odoo addon's own tests, run on a real Odoo 18 when one is installed at ~/odoo18.

Without Odoo they skip and say why. With it, a fresh database is created, the addons of
odoo_addon_collections/ are installed with their tests (odoo-bin --test-enable), and the
same tests run once more through pytest-odoo on that database.
"""

from __future__ import annotations

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
ODOO_PYTHON = ODOO_HOME / "venv" / "bin" / "python"
ODOO_BIN = ODOO_HOME / "src" / "odoo-bin"
ADDONS = sorted(p.parent.name for p in ADDONS_DIR.glob("*/__manifest__.py"))


def _free_port() -> int:
    """A port nobody listens on now: the HttpCase tests start Odoo's server on it, never on 8069."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _addons_path() -> str:
    return ",".join([str(ODOO_HOME / "src" / "odoo" / "addons"), str(ODOO_HOME / "src" / "addons"), str(ADDONS_DIR)])


@pytest.fixture(scope="module")
def odoo_database() -> Iterator[str]:
    """A fresh database with the addons installed and their Odoo tests run (log checked by the tests)."""
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
    engine = subprocess.run([str(ODOO_PYTHON), "-c", "import collections_engine"], capture_output=True)
    assert engine.returncode == 0, f"the engine is not installed in Odoo's venv: {ODOO_PYTHON} -m pip install -e {REPO}"
    database = f"test_collections_{os.getpid()}"
    subprocess.run(["dropdb", "--if-exists", database], check=True)
    try:
        yield database
    finally:
        subprocess.run(["dropdb", "--if-exists", database], check=False)


@pytest.fixture(scope="module")
def odoo_test_log(odoo_database: str) -> str:
    """Install the addons in the fresh database with --test-enable and return the log."""
    tags = ",".join(f"/{addon}" for addon in ADDONS)
    result = subprocess.run(
        [
            str(ODOO_PYTHON),
            str(ODOO_BIN),
            f"--addons-path={_addons_path()}",
            "-d",
            odoo_database,
            "-i",
            ",".join(ADDONS),
            "--test-enable",
            f"--test-tags={tags}",
            "--stop-after-init",
            "--without-demo=all",
            "--log-level=test",
            "--http-interface=127.0.0.1",
            f"--http-port={_free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    log = result.stdout + result.stderr
    (Path(tempfile.gettempdir()) / "odoo-collections-addon-tests.log").write_text(log, encoding="utf-8")
    assert result.returncode == 0, log[-5000:]
    return log


def test_addons_install_and_pass_their_odoo_tests(odoo_test_log: str) -> None:
    summary = re.findall(r"odoo\.tests\.result: (\d+) failed, (\d+) error\(s\) of (\d+) tests", odoo_test_log)
    assert summary, "no Odoo test summary in the log: " + odoo_test_log[-3000:]
    failed, errors, total = (int(n) for n in summary[-1])
    problems = [line for line in odoo_test_log.splitlines() if re.search(r" (ERROR|CRITICAL) |FAIL:", line)]
    assert (failed, errors, problems) == (0, 0, []), "\n".join(problems[:40])
    assert total >= 10
    warnings = [line for line in odoo_test_log.splitlines() if " WARNING " in line and "account_collections" in line]
    assert warnings == [], "\n".join(warnings[:20])


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
        cwd=ADDONS_DIR,
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
    result = subprocess.run(
        [
            str(ODOO_PYTHON),
            str(ODOO_BIN),
            "shell",
            f"--addons-path={_addons_path()}",
            "-d",
            odoo_database,
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
    assert "STATES ['uninstalled']" in output, output[-4000:]
    assert "TABLES 0" in output, output[-4000:]
    problems = [line for line in output.splitlines() if re.search(r" (ERROR|CRITICAL|WARNING) ", line)]
    assert problems == [], "\n".join(problems[:20])
