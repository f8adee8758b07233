"""The engine's phrases and the report's words in the reader's language: gettext catalogues read with Babel.

Message ids are the engine's English templates (:data:`collections_engine.phrases.ENGLISH`) and the
report's captions; each language has a catalogue ``connectors/locale/<lang>/LC_MESSAGES/odoo_collections.po``
(read as it is, compiled in memory: no binary file in the repository). A missing translation falls
back to English. Numbers, money and dates follow the language's conventions (Babel's CLDR data).
"""

from __future__ import annotations

import io
import string
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from collections_engine.phrases import ENGLISH, Phrase

LOCALES = Path(__file__).resolve().parent / "locale"
DOMAIN = "odoo_collections"
LANGUAGES = ("en", "es")


@cache
def catalogue(lang: str) -> NullTranslations:
    """The translations of a language (English: none needed)."""
    path = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(handle, locale=lang))
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(text: str, lang: str) -> str:
    """A caption in the language."""
    return catalogue(lang).gettext(text)


def ngettext(singular: str, plural: str, count: int, lang: str) -> str:
    """A caption with a count, in the form the language's plural rules ask for."""
    return catalogue(lang).ngettext(singular, plural, count)


def render(phrase: Phrase, lang: str) -> str:
    """An engine phrase in the language (plural forms by the language's rules)."""
    template = ENGLISH[phrase.code]
    values = phrase.values
    translations = catalogue(lang)
    if template.plural is not None and template.count is not None:
        count = values.get(template.count, 0)
        text = translations.ngettext(template.singular, template.plural,
                                     int(count) if isinstance(count, (int, float)) else 0)
    else:
        text = translations.gettext(template.singular)
    return _format(text, values, lang)


def _format(text: str, values: dict[str, Any], lang: str) -> str:
    """Fill a template: a number with a format (``{rate:.0%}``, ``{value:.0f}``) is written the language's way
    (12 % and 1.234 in Spanish); text and signed numbers as they are."""
    parts = []
    for literal, name, spec, _conversion in string.Formatter().parse(text):
        parts.append(literal)
        if name is None:
            continue
        value = values[name]
        if spec and isinstance(value, (int, float)) and not spec.startswith("+"):
            parts.append(_localised(value, spec, lang))
        else:
            parts.append(format(value, spec or ""))
    return "".join(parts)


def _localised(value: float, spec: str, lang: str) -> str:
    """One number by a Python format spec (``.0%``, ``.1f``, ``g``, ``d``), in the language's way."""
    if spec.endswith("%"):
        return format_percent(value, locale=lang)
    decimals = int(spec[1:-1]) if spec.startswith(".") and spec[1:-1].isdigit() else 0
    if spec == "g":
        decimals = 0 if float(value).is_integer() else 2
    return number(float(value), lang, decimals)


def render_all(phrases: tuple[Phrase, ...] | list[Phrase], lang: str, separator: str = "; ") -> str:
    """Several phrases, joined."""
    return separator.join(render(p, lang) for p in phrases)


def money(amount: Decimal | float, currency: str | None, lang: str) -> str:
    """An amount with two decimals in the language's way (1,234.56 / 1.234,56), then its currency code."""
    number = format_decimal(amount, format="#,##0.00", locale=lang)
    return f"{number} {currency}" if currency else number


def number(value: float, lang: str, decimals: int = 0) -> str:
    """A number in the language's way."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=lang)


def moment(value: datetime, lang: str) -> str:
    """A date and time as people of the language write it (4 Dec 2026, 09:00 / 4 dic 2026, 09:00), with its zone."""
    zone = value.strftime("%Z")
    return f"{format_datetime(value, 'd MMM y, HH:mm', locale=lang)} {zone}".strip()
