"""How to pay by bank transfer: the account for each currency asked, the amount, the reference, the QR code.

The amounts come from the statement (what the reminder asks), the account from the company's bank
accounts for that currency, and the EPC (SEPA) QR code carries exactly those figures: what a banking app
reads is compared with the ledger.
"""

from urllib.parse import parse_qs, urlparse

import lxml.html
from freezegun import freeze_time

from odoo.tests import tagged

from .common import NOW, CollectionsCase, text

IBAN = "ES9121000418450200051332"
SHOWN_IBAN = "ES91 2100 0418 4502 0005 1332"  # as Odoo keeps and shows it


def transfer_fields(html):
    """Each bank transfer block of a rendered document as {label: value}."""
    document = lxml.html.fromstring(html)
    return [
        {text(row[0]): text(row[1]) for row in table.xpath(".//table//tr") if len(row) == 2}
        for table in document.xpath("//div[hasclass('o_collection_bank_transfers')]/table")
    ]


@tagged("post_install", "-at_install")
class TestBankTransferDetails(CollectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])  # 1 company unit = 2 EUR
        company_partner = cls.env.company.partner_id
        cls.local_account = cls.env["res.partner.bank"].create(
            {"acc_number": "0012345678", "partner_id": company_partner.id, "currency_id": cls.currency.id}
        )
        bank = cls.env["res.bank"].create({"name": "CaixaBank", "bic": "CAIXESBBXXX"})
        cls.euro_account = cls.env["res.partner.bank"].create(
            {"acc_number": IBAN, "partner_id": company_partner.id, "currency_id": cls.eur.id, "bank_id": bank.id}
        )

    def euro_invoice(self, amount, date, move_type="out_invoice"):
        move = self.init_invoice(
            move_type, partner=self.partner_a, invoice_date=date, amounts=[amount], taxes=[], currency=self.eur
        )
        move.action_post()
        return move

    @staticmethod
    def epc(transfer):
        """The lines of the EPC069-12 payload a banking app reads from the QR code."""
        return parse_qs(urlparse(transfer.qr_url).query)["value"][0].split("\n")

    @freeze_time(NOW)
    def test_each_currency_asked_has_its_account_amount_reference_and_qr(self):
        local = self.invoice(300.0, "2026-11-10")
        first = self.euro_invoice(1000.0, "2026-11-10")
        second = self.euro_invoice(400.0, "2026-11-14")
        self.euro_invoice(200.0, "2026-11-16", move_type="out_refund")  # deducted from the euros asked
        self.run_collections()
        document = self.case()._collection_statement()
        transfers = {t.currency.name: t for t in document.bank_transfers()}
        euros, dollars = transfers["EUR"], transfers[self.currency.name]
        # the amounts asked are the statement's, per currency
        totals = {t.currency: float(t.amount_due) for t in document.totals}
        self.assertEqual((euros.amount, dollars.amount), (totals["EUR"], totals[self.currency.name]))
        self.assertEqual((euros.amount, dollars.amount), (1200.0, 300.0))
        self.assertEqual((euros.account, euros.bic, euros.bank), (SHOWN_IBAN, "CAIXESBBXXX", "CaixaBank"))
        self.assertEqual(dollars.account, "0012345678")
        self.assertEqual(euros.reference, f"{first.name}, {second.name}")
        self.assertEqual(dollars.reference, local.name)
        # the SEPA QR code: what the customer's banking app will fill in
        self.assertEqual(euros.qr_method, "sct_qr")
        self.assertTrue(euros.qr.startswith("data:image/png;base64,"))
        payload = self.epc(euros)
        self.assertEqual(payload[:4], ["BCD", "002", "1", "SCT"])
        self.assertEqual(
            (payload[4], payload[5], payload[6], payload[7], payload[10]),
            ("CAIXESBBXXX", self.env.company.name, IBAN, "EUR1200.0", f"{first.name}, {second.name}"),
        )
        self.assertIsNone(dollars.qr)  # no QR standard for that account and currency in this database

    @freeze_time(NOW)
    def test_the_reminder_email_and_the_letter_print_the_transfer(self):
        move = self.euro_invoice(1000.0, "2026-11-15")  # 9 days overdue: the first reminder, by email
        self.run_collections()
        case = self.case()
        (email,) = self.emails(case)
        self.assertIn("Pay by bank transfer", text(lxml.html.fromstring(email.body)))
        (shown,) = transfer_fields(email.body)
        self.assertEqual(
            shown,
            {
                "Amount": self.money(1000.0, currency=self.eur),
                "Account holder": self.env.company.name,
                "Account": SHOWN_IBAN,
                "BIC": "CAIXESBBXXX",
                "Bank": "CaixaBank",
                "Reference to quote": move.name,
            },
        )
        (image,) = lxml.html.fromstring(email.body).xpath("//img[@alt='Payment QR code']")
        self.assertTrue(image.get("src").startswith(case.get_base_url() + "/report/barcode/?"))  # not a data URI
        report = self.env.ref("account_collections.action_report_collection_letter")
        html = report._render_qweb_html(report.report_name, case.ids)[0].decode()
        (printed,) = lxml.html.fromstring(html).xpath("//img[@alt='Payment QR code']")
        self.assertTrue(printed.get("src").startswith("data:image/png;base64,"))  # the PDF carries the image

    @freeze_time(NOW)
    def test_a_customer_reference_is_quoted_for_all_invoices(self):
        journal = self.company_data["default_journal_sale"]
        journal.invoice_reference_type = "partner"
        first = self.euro_invoice(100.0, "2026-11-10")
        self.euro_invoice(50.0, "2026-11-12")
        self.run_collections()
        (transfer,) = (t for t in self.case()._collection_statement().bank_transfers() if t.currency == self.eur)
        self.assertEqual(transfer.reference, first.payment_reference)
        self.assertNotIn(first.name, transfer.reference)

    @freeze_time(NOW)
    def test_no_account_for_the_currency_no_transfer_and_spanish_readers(self):
        self.euro_account.currency_id = self.env.ref("base.GBP").id
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.partner_a.lang = "es_ES"
        self.euro_invoice(1000.0, "2026-11-10")
        self.invoice(300.0, "2026-11-10")
        self.run_collections()
        transfers = self.case()._collection_statement().bank_transfers()
        self.assertEqual([t.currency for t in transfers], [self.currency])  # no account takes euros
        report = self.env.ref("account_collections.action_report_collection_letter")
        html = report._render_qweb_html(report.report_name, self.case().ids)[0].decode()
        self.assertIn("Pagar por transferencia bancaria", text(lxml.html.fromstring(html)))
        (shown,) = transfer_fields(html)
        self.assertEqual(
            (shown["Importe"], shown["Cuenta"], shown["Referencia a indicar"]),
            (
                self.money(300.0, "es_ES"),
                "0012345678",
                self.case().open_line_ids.move_id.filtered(lambda m: m.currency_id == self.currency).name,
            ),
        )

    @freeze_time(NOW)
    def test_a_pre_due_reminder_asks_what_comes_due(self):
        move = self.init_invoice(
            "out_invoice",
            partner=self.partner_a,
            invoice_date="2026-11-20",
            amounts=[400.0],
            taxes=[],
            currency=self.eur,
        )
        move.write({"invoice_payment_term_id": False, "invoice_date_due": "2026-11-26"})
        move.action_post()
        self.run_collections()
        case = self.case()
        self.assertEqual(case.action_ids.level_key, "pre_due")
        (shown,) = transfer_fields(self.emails(case).body)
        self.assertEqual(
            (shown["Amount"], shown["Reference to quote"]), (self.money(400.0, currency=self.eur), move.name)
        )
