"""The addon's Spanish translation is complete: every term of the template has a non-empty msgstr."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest

I18N = Path(__file__).resolve().parents[1] / "odoo_addon_collections" / "account_collections" / "i18n"


def test_spanish_translates_every_term_of_the_template() -> None:
    template = polib.pofile(str(I18N / "account_collections.pot"))
    spanish = {entry.msgid: entry.msgstr for entry in polib.pofile(str(I18N / "es.po"))}
    untranslated = [entry.msgid for entry in template if not spanish.get(entry.msgid, "").strip()]
    assert len(template) > 100
    assert untranslated == []


@pytest.mark.parametrize("placeholder", ["%(level)s", "%(problems)s", "%(role)s", "{{ object.partner_id.name }}"])
def test_placeholders_survive_translation(placeholder: str) -> None:
    for entry in polib.pofile(str(I18N / "es.po")):
        if placeholder in entry.msgid:
            assert placeholder in entry.msgstr, entry.msgid


def test_qweb_expressions_survive_translation() -> None:
    import re

    expression = re.compile(r't-[a-z-]+="[^"]*"')
    for entry in polib.pofile(str(I18N / "es.po")):
        assert sorted(expression.findall(entry.msgid)) == sorted(expression.findall(entry.msgstr)), entry.msgid
