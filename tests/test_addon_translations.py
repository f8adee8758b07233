"""Each addon's Spanish translation is complete: every term of its template has a non-empty msgstr."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest

ADDONS_DIR = Path(__file__).resolve().parents[1] / "odoo_addon_collections"
ADDONS = sorted(p.parent.name for p in ADDONS_DIR.glob("*/__manifest__.py"))


def _i18n(addon: str) -> Path:
    return ADDONS_DIR / addon / "i18n"


@pytest.mark.parametrize("addon", ADDONS)
def test_spanish_translates_every_term_of_the_template(addon: str) -> None:
    template = polib.pofile(str(_i18n(addon) / f"{addon}.pot"))
    spanish = {entry.msgid: entry.msgstr for entry in polib.pofile(str(_i18n(addon) / "es.po"))}
    untranslated = [entry.msgid for entry in template if not spanish.get(entry.msgid, "").strip()]
    assert len(template) > (100 if addon == "account_collections" else 10)
    assert untranslated == []


@pytest.mark.parametrize("addon", ADDONS)
@pytest.mark.parametrize(
    "placeholder",
    ["%(level)s", "%(problems)s", "%(role)s", "%(reason)s", "%(hold)s", "{reason}", "{{ object.partner_id.name }}"],
)
def test_placeholders_survive_translation(addon: str, placeholder: str) -> None:
    for entry in polib.pofile(str(_i18n(addon) / "es.po")):
        if placeholder in entry.msgid:
            assert placeholder in entry.msgstr, entry.msgid


@pytest.mark.parametrize("addon", ADDONS)
def test_every_named_placeholder_survives_translation(addon: str) -> None:
    named = re.compile(r"%\(\w+\)s|\{\w+(?::[^}]*)?\}")
    for entry in polib.pofile(str(_i18n(addon) / "es.po")):
        if entry.msgstr:
            assert sorted(set(named.findall(entry.msgid))) == sorted(set(named.findall(entry.msgstr))), entry.msgid


@pytest.mark.parametrize("addon", ADDONS)
def test_qweb_expressions_survive_translation(addon: str) -> None:
    expression = re.compile(r't-[a-z-]+="[^"]*"')
    for entry in polib.pofile(str(_i18n(addon) / "es.po")):
        assert sorted(expression.findall(entry.msgid)) == sorted(expression.findall(entry.msgstr)), entry.msgid
