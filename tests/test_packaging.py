"""The distributions Odoo users install: the engine alone, and each addon as an OCA-style wheel.

Both are built here without build isolation (setuptools and whool come with the test extra), so
no package index is needed; .ci/run builds the same wheels and installs them into a copy of
Odoo's virtualenv (tests/test_odoo_addon.py).
"""

from __future__ import annotations

import ast
import email.parser
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import collections_engine

REPO = Path(__file__).resolve().parents[1]
ADDONS = sorted(p.parent for p in (REPO / "odoo_addon_collections").glob("*/__manifest__.py"))


def _build(source: Path, into: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(into), str(source)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = into.glob("*.whl")
    return wheel


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.HeaderParser().parsestr(archive.read(name).decode())


@pytest.fixture(scope="module")
def engine_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(REPO / "packaging" / "engine", tmp_path_factory.mktemp("engine"))


@pytest.fixture(scope="module")
def addon_wheels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    if subprocess.run(["git", "-C", str(REPO), "rev-parse"], capture_output=True).returncode != 0:
        pytest.skip("whool packages the files git knows: this is not a git checkout")
    yield {addon.name: _build(addon, tmp_path_factory.mktemp(addon.name)) for addon in ADDONS}


def test_the_engine_wheel_holds_the_engine_and_nothing_else(engine_wheel: Path) -> None:
    with zipfile.ZipFile(engine_wheel) as archive:
        names = {n for n in archive.namelist() if ".dist-info/" not in n}
    sources = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "collections_engine").rglob("*")
        if p.is_file() and p.suffix in (".py", ".typed") and "__pycache__" not in p.parts
    }
    assert names == sources
    assert "collections_engine/py.typed" in names


def test_the_engine_requires_only_what_odoo_has(engine_wheel: Path) -> None:
    metadata = _metadata(engine_wheel)
    assert metadata["Name"] == "odoo-collections-engine"
    assert metadata["Version"] == collections_engine.__version__
    # Odoo 18 pins python-dateutil; tzdata only where there is no system time zone database
    assert metadata.get_all("Requires-Dist") == [
        "python-dateutil>=2.8",
        'tzdata; sys_platform == "win32"',
        'holidays>=0.50; extra == "holidays"',
    ]


def test_the_connectors_distribution_has_the_engine_s_version() -> None:
    setup = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    versions = [
        keyword.value.value
        for node in ast.walk(setup)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "version" and isinstance(keyword.value, ast.Constant)
    ]
    assert versions == [collections_engine.__version__]


def test_each_addon_is_an_oca_wheel_that_requires_the_engine(addon_wheels: dict[str, Path]) -> None:
    for name, wheel in addon_wheels.items():
        manifest = ast.literal_eval((REPO / "odoo_addon_collections" / name / "__manifest__.py").read_text())
        metadata = _metadata(wheel)
        assert metadata["Name"] == f"odoo-addon-{name}"
        assert metadata["Version"].startswith(manifest["version"])
        requires = metadata.get_all("Requires-Dist")
        assert any(r.startswith(("odoo==18.0", "odoo>=18.0")) for r in requires), requires
        # besides Odoo and other addons, the engine (and the public holidays of the contact presets): the
        # connectors' requirements stay out of Odoo
        others = sorted(r for r in requires if not r.startswith(("odoo==", "odoo>=", "odoo-addon-")))
        assert others == sorted(manifest.get("external_dependencies", {}).get("python", []))
        assert "odoo-collections-engine" in others and set(others) <= {"odoo-collections-engine", "holidays"}


def test_each_addon_wheel_installs_the_addon_under_odoo_addons(addon_wheels: dict[str, Path]) -> None:
    for name, wheel in addon_wheels.items():
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
        prefix = f"odoo/addons/{name}/"
        tracked = subprocess.run(
            ["git", "ls-files"], cwd=REPO / "odoo_addon_collections" / name, capture_output=True, text=True, check=True
        ).stdout.split()
        expected = {prefix + path for path in tracked if path != "pyproject.toml"}
        assert {n for n in names if ".dist-info/" not in n} == expected
        manifest = ast.literal_eval((REPO / "odoo_addon_collections" / name / "__manifest__.py").read_text())
        for needed in ["__manifest__.py", "README.rst", *manifest.get("data", []), *manifest.get("demo", [])]:
            assert prefix + needed in names
