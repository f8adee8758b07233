"""What the addon's tests share: a company with collections configured, invoices, payments, readers.

Each test builds a real ledger (invoices, instalments, credit notes, payments, disputes), runs
the collections as the cron does, then reads what was sent and compares it with the ledger.
"""

import lxml.html

from odoo.tools.misc import format_amount, format_date

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.sms.tests.common import SMSCase

NOW = "2026-11-24 10:00:00"  # a Tuesday, inside the default contact window


def text(node):
    return " ".join(node.text_content().split())


def sections(html):
    """The rows of each table of a rendered statement, under the heading that precedes it."""
    document = lxml.html.fromstring(html)
    found, heading = {}, None
    for node in document.iter():
        if (
            node.tag in ("strong", "h5")
            and node.getparent().tag in ("p", "div", "h5")
            and not node.xpath("ancestor::table")
        ):
            heading = text(node)
        elif node.tag == "tr" and node.findall("td"):
            found.setdefault(heading, []).append([text(td) for td in node.findall("td")])
    return found


class CollectionsCase(AccountTestInvoicingCommon, SMSCase):
    """A company with collections configured: a default collector, UTC contact rules, a customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.groups_id += cls.env.ref("account_collections.group_collection_manager")
        cls.env.company.collection_default_user_id = cls.env.user  # the collector of the cases the run opens
        cls.env.company.collection_tz = "UTC"
        cls.partner_a.write({"email": "ap@partner-a.example.com", "mobile": "+34600111222", "lang": "en_US"})
        cls.partner_a.write({"street": "Calle Mayor 1", "zip": "28013", "city": "Madrid"})  # letters and visits
        cls.Run = cls.env["collection.run"]
        cls.currency = cls.env.company.currency_id

    def invoice(self, amount, invoice_date, partner=None, payment_term=None, move_type="out_invoice"):
        move = self.init_invoice(
            move_type, partner=partner or self.partner_a, invoice_date=invoice_date, amounts=[amount], taxes=[]
        )
        if payment_term:
            move.invoice_payment_term_id = payment_term
        move.action_post()
        return move

    def pay(self, moves, amount, date):
        payment = self.init_payment(amount, post=True, date=date, partner=moves.partner_id[:1])
        lines = (moves.line_ids | payment.move_id.line_ids).filtered(
            lambda line: line.account_id.account_type == "asset_receivable" and not line.reconciled
        )
        lines.reconcile()
        return payment

    def run_collections(self):
        return self.Run._run_company(self.env.company)

    def case(self, partner=None):
        return self.env["collection.case"].search(
            [("partner_id", "=", (partner or self.partner_a).id), ("company_id", "=", self.env.company.id)]
        )

    def emails(self, case):
        return case.message_ids.filtered(lambda m: m.message_type == "comment").sorted("id")

    def money(self, amount, lang="en_US", currency=None):
        """An amount as the customer reads it (non-breaking spaces read as spaces)."""
        return format_amount(self.env, amount, currency or self.currency, lang_code=lang).replace("\xa0", " ")

    def day(self, value, lang="en_US"):
        return format_date(self.env, value, lang_code=lang)

    def receivable(self, move):
        return move.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable").sorted(
            "date_maturity"
        )

    def expected_row(self, line, lang="en_US", days=None, installment=""):
        """A statement row as the ledger says it should read: document, due date, residual (, days overdue)."""
        name = line.move_id.name + (f" ({installment})" if installment else "")
        row = [name, self.day(line.date_maturity, lang), self.money(abs(line.amount_residual), lang)]
        if days is not None:
            row.append(str(days))
        return row
