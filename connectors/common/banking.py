"""Payment by bank transfer: a tenant's bank accounts, checked, and what a customer quotes when paying.

A tenant keeps one account per currency (or one for any currency, ``currency == ""``); the worklist and
the report show each customer the account of the amount's currency with the reference to quote: the
numbers of the invoices asked for, so the payment can be matched to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?")


@dataclass(frozen=True)
class BankAccount:
    """Where customers pay by transfer: an IBAN, or a local account number (with its routing in the text)."""

    currency: str
    """ISO 4217 code of the payments it takes; empty: any currency without an account of its own."""
    holder: str
    bank_name: str
    iban: str | None = None
    account_number: str | None = None
    bic: str | None = None

    def describe(self) -> str:
        """One line: holder, bank, IBAN (grouped by four) or account number, BIC."""
        account = f"IBAN {grouped_iban(self.iban)}" if self.iban else (self.account_number or "")
        parts = [self.holder, self.bank_name, account, f"BIC {self.bic}" if self.bic else ""]
        return ", ".join(part for part in parts if part)

    def to_json(self) -> dict[str, Any]:
        """The account as JSON (currency null when it takes any)."""
        return {
            "currency": self.currency or None,
            "holder": self.holder,
            "bank_name": self.bank_name,
            "iban": self.iban,
            "account_number": self.account_number,
            "bic": self.bic,
        }


@dataclass(frozen=True)
class PayDetails:
    """How a customer pays what a reminder asks: online at the platform's links, or by transfer quoting a reference."""

    links: tuple[str, ...]
    invoice_numbers: tuple[str, ...]
    account: BankAccount | None

    @property
    def reference(self) -> str:
        """The invoice numbers to quote with a transfer."""
        return payment_reference(self.invoice_numbers)

    def __bool__(self) -> bool:
        return bool(self.links or self.account)

    def to_json(self) -> dict[str, Any]:
        """The details as the JSON worklist carries them beside each action."""
        return {
            "pay_links": list(self.links),
            "invoice_numbers": list(self.invoice_numbers),
            "payment_reference": self.reference,
            "bank_transfer": {**self.account.to_json(), "reference": self.reference} if self.account else None,
        }


def pay_details(
    links: Mapping[str, str],
    invoice_numbers: Mapping[str, str],
    accounts: Iterable[BankAccount],
    item_ids: Sequence[str],
    currency: str,
) -> PayDetails:
    """How a customer pays these items: their pay links, and the account for the currency with their numbers."""
    numbers = tuple(dict.fromkeys(invoice_numbers.get(item_id, item_id) for item_id in item_ids))
    found = tuple(dict.fromkeys(links[item_id] for item_id in item_ids if item_id in links))
    return PayDetails(found, numbers, account_for(accounts, currency))


def normalised_iban(text: str) -> str:
    """An IBAN without spaces or dashes, in capitals."""
    return re.sub(r"[\s-]", "", text).upper()


def grouped_iban(iban: str) -> str:
    """An IBAN as it is printed: groups of four characters."""
    return " ".join(iban[start : start + 4] for start in range(0, len(iban), 4))


def iban_problem(iban: str) -> str | None:
    """Why a (normalised) IBAN is not valid (its shape or its ISO 13616 check digits), or None."""
    if not _IBAN.fullmatch(iban):
        return f"{iban!r} is not an IBAN (two letters, two check digits, then 11 to 30 letters or digits)"
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    if int(digits) % 97 != 1:
        return f"{grouped_iban(iban)}: the check digits are wrong (a typing mistake?)"
    return None


def bic_problem(bic: str) -> str | None:
    """Why a (capitalised) BIC is not valid, or None."""
    if not _BIC.fullmatch(bic):
        return f"{bic!r} is not a BIC (8 or 11 letters and digits, e.g. CAIXESBBXXX)"
    return None


def account_for(accounts: Iterable[BankAccount], currency: str) -> BankAccount | None:
    """The account for payments in a currency: its own, else the one for any currency, else none."""
    fallback = None
    for account in accounts:
        if account.currency == currency:
            return account
        if not account.currency:
            fallback = account
    return fallback


def payment_reference(invoice_numbers: Sequence[str]) -> str:
    """What the customer quotes with a transfer: the invoice numbers asked for, each once, in order."""
    return ", ".join(dict.fromkeys(number for number in invoice_numbers if number))
