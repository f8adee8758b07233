"""Money helpers: currency precision, rounding and conversion to the company currency."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from .errors import InputError

# ISO 4217 minor units of the currencies whose precision is not 2.
_MINOR_UNITS: dict[str, int] = {
    "BHD": 3,
    "BIF": 0,
    "CLF": 4,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "UYI": 0,
    "UYW": 4,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}
_QUANTA: dict[int, Decimal] = {digits: Decimal(1).scaleb(-digits) for digits in range(5)}
ZERO = Decimal(0)


def minor_units(currency: str) -> int:
    """Return how many decimals the currency uses (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    """Return the smallest amount of the currency, e.g. Decimal('0.01')."""
    return _QUANTA[minor_units(currency)]


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's precision."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def rate_for(currency: str, company_currency: str, rates: Mapping[str, Decimal]) -> Decimal:
    """Return how many company-currency units one unit of ``currency`` is worth."""
    if currency == company_currency:
        return Decimal(1)
    try:
        return rates[currency]
    except KeyError:
        raise InputError(f"no exchange rate from {currency} to {company_currency}") from None


def to_company(amount: Decimal, currency: str, company_currency: str, rates: Mapping[str, Decimal]) -> Decimal:
    """Convert an amount to the company currency, rounded to its precision."""
    if currency == company_currency:
        return amount
    return round_money(amount * rate_for(currency, company_currency, rates), company_currency)
