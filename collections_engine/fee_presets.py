"""Late-fee presets: what a country's law gives a creditor for late payment, as data a policy selects.

A preset fills the fields of a ``late_fees`` rule set that the policy leaves out (``docs/policy.md``,
Late fees). It never holds a rate that changes over time as if it were the current truth: the ECB
reference rate, a usury rate or a central bank's maximum rate are inputs the policy must give with
the date each applies from (``requires`` names them, and a policy that lacks them is refused).

Figures come from the sources named in each preset; what could only be read in secondary sources,
or is our reading, is listed in ``unverified``. This is not legal advice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FeePreset:
    """The late-payment entitlements (or limits) a law sets, as a partial ``late_fees`` rule set."""

    key: str
    name: str
    document: Mapping[str, Any]
    sources: tuple[str, ...]
    requires: tuple[tuple[str, str], ...] = ()
    """(field path inside the rule set, what the policy must put there)."""
    unverified: tuple[str, ...] = ()


_DIRECTIVE = (
    "Directive 2011/7/EU on combating late payment in commercial transactions: art. 2 (statutory interest: "
    "simple interest at the reference rate plus at least 8 percentage points), art. 3 (between undertakings, "
    "interest from the day after the due date; the reference rate of each half-year is the one in force on "
    "1 January and 1 July), art. 6 (a fixed sum of at least EUR 40 for recovery costs, without a reminder)"
)
_BFF = "CJEU C-585/20, BFF Finance Iberia (2022-10-20): the EUR 40 is due for each invoice paid late"
_ES = (
    "Ley 3/2004, de 29 de diciembre (medidas de lucha contra la morosidad en las operaciones comerciales), "
    "art. 7.2 (BCE rate of its last main refinancing operation before the half-year, plus 8 points), "
    "art. 8.1 (40 euros per debt, added without request), as amended by Ley 15/2010 and Ley 11/2013"
)
_CO = (
    "Código de Comercio (Colombia) art. 884, as amended by Ley 510 de 1999 art. 111 (default moratorium "
    "interest 1.5 times the interés bancario corriente; above it the creditor loses all interest); "
    "Código Penal art. 305 (usury); the Superintendencia Financiera certifies the interés bancario corriente"
)
_MX = (
    "Código de Comercio (México) art. 362: a debtor who pays late owes, from the day after the due date, the "
    "agreed interest or, when none was agreed, 6 % a year"
)
_PE = (
    "Código Civil (Perú) art. 1243: the Banco Central de Reserva fixes the maximum rate of conventional "
    "compensatory and moratorium interest; any excess is returned or applied to the principal"
)

_EU_INTEREST = {"method": "simple", "margin_pct": 8, "unit": "annual", "days_in_year": 365, "start_day": 0}
_EU_FIXED = [{"amounts": {"EUR": 40}, "per": "invoice"}]
_REFERENCE_RATES = (
    "interest.reference_rates",
    "the ECB main refinancing rate of each half-year (the one in force on 1 January and on 1 July), "
    "each with the date it applies from",
)

PRESETS: dict[str, FeePreset] = {
    preset.key: preset
    for preset in (
        FeePreset(
            key="EU",
            name="Directive 2011/7/EU (business customers)",
            document={"audiences": ["b2b"], "fixed": _EU_FIXED, "interest": _EU_INTEREST},
            sources=(_DIRECTIVE, _BFF),
            requires=(_REFERENCE_RATES,),
            unverified=(
                "day count: 365 days a year (the directive sets none; national practice varies)",
                "outside the euro area the reference rate is the national central bank's and the EUR 40 its "
                "equivalent in the national currency: add the currency's amount to fixed[0].amounts",
            ),
        ),
        FeePreset(
            key="ES",
            name="Ley 3/2004 de morosidad (business customers)",
            document={"audiences": ["b2b"], "fixed": _EU_FIXED, "interest": _EU_INTEREST},
            sources=(_ES, _DIRECTIVE, _BFF),
            requires=(
                (
                    "interest.reference_rates",
                    "the BCE rate of each half-year with the date it applies from (or the total published in "
                    "the BOE each half-year, with margin_pct 0)",
                ),
            ),
            unverified=("day count: 365 days a year (the law sets none)",),
        ),
        FeePreset(
            key="CO",
            name="Código de Comercio art. 884 and the usury rate",
            document={"audiences": ["b2b", "b2c"], "interest": {"method": "simple", "unit": "annual"}},
            sources=(_CO,),
            requires=(
                (
                    "interest.max_rates",
                    "the usury rate (tasa de usura, 1.5 times the certified interés bancario corriente) of each "
                    "period, as a nominal annual rate, with the date it applies from",
                ),
            ),
            unverified=(
                "the certified rates are effective annual (E.A.); the engine's annual rate is nominal: "
                "enter the nominal equivalent (see docs/policy.md)",
            ),
        ),
        FeePreset(
            key="MX",
            name="Código de Comercio art. 362 (business customers)",
            document={
                "audiences": ["b2b"],
                "interest": {"method": "simple", "rate_pct": 6, "unit": "annual", "days_in_year": 365, "start_day": 0},
            },
            sources=(_MX,),
            unverified=(
                "6 % applies only when the contract sets no moratorium rate: set rate_pct to the agreed one",
                "day count: 365 days a year (the article sets none)",
                "no statutory cap: courts reduce usurious interest case by case (SCJN), so none is encoded",
            ),
        ),
        FeePreset(
            key="PE",
            name="Código Civil art. 1243 (maximum rates of the BCRP)",
            document={"audiences": ["b2b", "b2c"], "interest": {"method": "simple", "unit": "annual"}},
            sources=(_PE,),
            requires=(
                (
                    "interest.max_rates",
                    "the BCRP's maximum moratorium rate for creditors outside the financial system, as a nominal "
                    "annual rate, with the date it applies from",
                ),
            ),
            unverified=(
                "the BCRP publishes effective annual rates (TEA); enter the nominal equivalent",
                "financial-system creditors set rates freely (Ley 26702 art. 9) and are outside this cap",
            ),
        ),
    )
}
FEE_PRESET_KEYS: tuple[str, ...] = tuple(sorted(PRESETS))


def fee_preset(key: str) -> FeePreset:
    """Return a late-fee preset by key (KeyError if there is none)."""
    return PRESETS[key]
