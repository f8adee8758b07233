"""How to pay by bank transfer: the company's account for a currency, the reference to quote, a payment QR.

The statement (``StatementDocument.bank_transfers``) asks for them once per currency with an amount due;
every written channel (reminder email, letter, statement PDF) and the portal print what this returns.
"""

from dataclasses import dataclass

from odoo import models

QR_TEXT_LIMIT = 140  # unstructured remittance information of a SEPA credit transfer (EPC069-12)


@dataclass(frozen=True)
class BankTransfer:
    """Pay ``amount`` (in ``currency``) into ``account`` quoting ``reference``. ``qr`` is the payment QR code
    as a data URI (PDF, portal) and ``qr_url`` the same image at the server's absolute URL (emails, whose
    readers often block data URIs); both None where Odoo has no QR method for the account and currency."""

    currency: object  # res.currency
    amount: float
    holder: str
    account: str
    bank: str
    bic: str
    reference: str
    qr: str | None
    qr_url: str | None
    qr_method: str | None


class CollectionBankDetails(models.AbstractModel):
    _name = "collection.bank.details"
    _description = "Collections: Bank Transfer Details"

    def _receiving_account(self, company, currency, moves):
        """The company's account that receives ``currency``: the one the invoices name (if they agree), else the
        account of a bank journal in that currency, else a company account held in it; none when nothing fits."""
        named = moves.partner_bank_id
        if len(named) == 1 and (not named.currency_id or named.currency_id == currency):
            return named
        journals = self.env["account.journal"].search(
            [("company_id", "=", company.id), ("type", "=", "bank"), ("bank_account_id", "!=", False)],
            order="sequence, id",
        )
        for journal in journals:
            if (journal.currency_id or company.currency_id) == currency:
                return journal.bank_account_id
        accounts = company.partner_id.bank_ids.filtered(lambda b: not b.company_id or b.company_id == company)
        held = accounts.filtered(lambda b: b.currency_id == currency)
        if not held and currency == company.currency_id:
            held = accounts.filtered(lambda b: not b.currency_id)
        return held[:1]

    def _reference(self, moves):
        """What the customer quotes: the invoices' own payment reference when they share one (a customer
        reference), else their numbers."""
        references = set(moves.mapped(lambda m: m.payment_reference or m.name))
        if len(references) == 1:
            return references.pop()
        return ", ".join(sorted(moves.mapped("name")))

    def _transfer(self, company, partner, currency, amount, moves):
        """The transfer for ``amount`` of the ``moves``, or None when the company has no account for the
        currency; a QR code when Odoo can make one for that account and currency (e.g. EPC/SEPA for EUR)."""
        account = self._receiving_account(company, currency, moves)
        if not account or amount <= 0:
            return None
        reference = self._reference(moves)
        structured = reference if len(moves) == 1 or len(set(moves.mapped("payment_reference"))) == 1 else ""
        qr = qr_url = qr_method = None
        vals = account._build_qr_code_vals(
            currency.round(amount), reference[:QR_TEXT_LIMIT], structured, currency, partner, silent_errors=True
        )
        if vals:
            qr_method = vals["qr_method"]
            qr = account._get_qr_code_base64(**vals)
            qr_url = company.get_base_url() + account._get_qr_code_url(**vals)
        return BankTransfer(
            currency=currency,
            amount=amount,
            holder=account.acc_holder_name or account.partner_id.name or "",
            account=account.display_name if not account.acc_number else account.acc_number,
            bank=account.bank_id.name or "",
            bic=account.bank_bic or "",
            reference=reference,
            qr=qr,
            qr_url=qr_url,
            qr_method=qr_method,
        )
