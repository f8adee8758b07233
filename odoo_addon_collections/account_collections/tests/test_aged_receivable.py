import base64
import io

import openpyxl
from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import NOW, CollectionsCase


@tagged("post_install", "-at_install")
class TestAgedReceivable(CollectionsCase):
    """The Aged Receivables report against the ledger: today, on a past date, per bucket, in XLSX."""

    def setUp(self):
        super().setUp()
        with freeze_time(NOW):
            self.old = self.invoice(1000.0, "2026-08-01")  # due on the day: 115 days overdue on 24 Nov
            self.pay(self.old, 300.0, "2026-09-15")
            self.recent = self.invoice(500.0, "2026-11-19")  # 5 days overdue
            self.future = self.invoice(
                200.0, "2026-11-20", payment_term=self.env.ref("account.account_payment_term_30days")
            )
            self.refund = self.init_invoice(
                "out_refund", partner=self.partner_a, invoice_date="2026-11-01", amounts=[50.0], taxes=[]
            )
            self.refund.action_post()  # not applied: a credit of 50
            # partner_b's terms split it: 210 due on the day (176 days overdue on 24 Nov), 490 on 31 July (116)
            self.other = self.invoice(700.0, "2026-06-01", partner=self.partner_b)

    def report(self, as_of="2026-11-24", **values):
        report = self.env["collection.aged.receivable"].create({"date": as_of, "bounds": "30, 60, 90, 120", **values})
        report.action_show()
        return report

    def by_document(self, report):
        """(bucket, days overdue, amount) of each document's open items (a list where it has instalments)."""
        found = {}
        for line in report.line_ids.sorted("date_maturity"):
            found.setdefault(line.move_id, []).append((line.bucket_id.name, line.days_overdue, line.amount))
        return {move: rows[0] if len(rows) == 1 else rows for move, rows in found.items()}

    def ledger_total(self):
        lines = self.env["account.move.line"].search(
            [
                ("company_id", "=", self.env.company.id),
                ("parent_state", "=", "posted"),
                ("account_id.account_type", "=", "asset_receivable"),
            ]
        )
        return sum(lines.mapped("amount_residual"))

    def test_today_every_open_item_in_its_bucket_with_its_residual(self):
        report = self.report()
        self.assertEqual(
            self.by_document(report),
            {
                self.old: ("91-120 days", 115, 700.0),
                self.recent: ("1-30 days", 5, 500.0),
                self.future: ("Not due", 0, 200.0),
                self.refund: ("1-30 days", 23, -50.0),
                self.other: [("Over 120 days", 176, 210.0), ("91-120 days", 116, 490.0)],
            },
        )
        for line in report.line_ids:
            self.assertEqual(line.amount, line.move_line_id.amount_residual)
            self.assertEqual(line.date_maturity, line.move_line_id.date_maturity)
        self.assertAlmostEqual(report.total, self.ledger_total())
        self.assertEqual(
            report.bucket_ids.sorted("sequence").mapped("name"),
            ["Not due", "1-30 days", "31-60 days", "61-90 days", "91-120 days", "Over 120 days"],
        )

    def test_a_past_date_shows_what_was_open_that_day(self):
        # before the partial payment of 15 September and before the later invoices
        report = self.report("2026-09-01")
        self.assertEqual(
            self.by_document(report),
            {self.old: ("31-60 days", 31, 1000.0), self.other: [("91-120 days", 92, 210.0), ("31-60 days", 32, 490.0)]},
        )
        # the day of the payment counts it
        self.assertEqual(self.by_document(self.report("2026-09-15"))[self.old], ("31-60 days", 45, 700.0))

    def test_a_fully_paid_invoice_is_open_before_its_payment_only(self):
        self.pay(self.recent, 500.0, "2026-11-22")
        self.assertNotIn(self.recent, self.by_document(self.report()))
        self.assertEqual(self.by_document(self.report("2026-11-21"))[self.recent], ("1-30 days", 2, 500.0))

    def test_customer_filter_and_buckets_of_the_users_choice(self):
        report = self.report(partner_ids=[Command.set(self.partner_b.ids)], bounds="90, 180")
        self.assertEqual(
            self.by_document(report), {self.other: [("91-180 days", 176, 210.0), ("91-180 days", 116, 490.0)]}
        )
        self.assertEqual(
            report.bucket_ids.sorted("sequence").mapped("name"),
            ["Not due", "1-90 days", "91-180 days", "Over 180 days"],
        )

    def test_default_buckets_are_the_policy_s(self):
        report = self.env["collection.aged.receivable"].create({})
        self.assertEqual(report.bounds, "30, 60, 90, 120")
        self.assertEqual(report.date, fields.Date.context_today(report))
        self.assertEqual(report.company_ids, self.env.company)

    def test_buckets_that_make_no_sense_are_refused_with_the_field_named(self):
        for bounds in ("60, 30", "30, abc", "0, 30", "30, 30"):
            report = self.env["collection.aged.receivable"].create({"date": "2026-11-24", "bounds": bounds})
            with self.assertRaisesRegex(UserError, "Buckets"):
                report.action_show()

    def test_the_pivot_adds_up_per_customer_and_bucket(self):
        report = self.report()
        groups = self.env["collection.aged.receivable.line"].read_group(
            [("report_id", "=", report.id)], ["amount:sum"], ["partner_id", "bucket_id"], lazy=False
        )
        totals = {(group["partner_id"][0], group["bucket_id"][1]): group["amount"] for group in groups}
        self.assertEqual(
            totals,
            {
                (self.partner_a.id, "Not due"): 200.0,
                (self.partner_a.id, "1-30 days"): 450.0,
                (self.partner_a.id, "91-120 days"): 700.0,
                (self.partner_b.id, "91-120 days"): 490.0,
                (self.partner_b.id, "Over 120 days"): 210.0,
            },
        )

    def test_the_workbook_has_the_same_figures(self):
        report = self.env["collection.aged.receivable"].create({"date": "2026-11-24", "bounds": "30, 60, 90, 120"})
        action = report.action_export_xlsx()
        self.assertIn(f"/{report.id}/xlsx_file/", action["url"])
        self.assertEqual(report.xlsx_name, "aged-receivables-2026-11-24.xlsx")
        workbook = openpyxl.load_workbook(io.BytesIO(base64.b64decode(report.xlsx_file)))
        summary = [row for row in workbook.worksheets[0].iter_rows(min_row=6, values_only=True)]
        self.assertEqual(
            summary[0],
            ("Customer", "Not due", "1-30 days", "31-60 days", "61-90 days", "91-120 days", "Over 120 days", "Total"),
        )
        rows = {row[0]: row[1:] for row in summary[1:]}
        self.assertEqual(rows[self.partner_a.display_name], (200, 450, 0, 0, 700, 0, 1350))
        self.assertEqual(rows[self.partner_b.display_name], (0, 0, 0, 0, 490, 210, 700))
        self.assertEqual(rows["Total"], (200, 450, 0, 0, 1190, 210, 2050))
        self.assertAlmostEqual(rows["Total"][-1], self.ledger_total())
        items = list(workbook.worksheets[1].iter_rows(min_row=2, values_only=True))
        self.assertEqual(len(items), 6)
        self.assertEqual(sum(row[8] for row in items), 2050)
        self.assertIn((self.refund.name, "1-30 days", 23, -50), [(row[1], row[5], row[4], row[8]) for row in items])

    def test_spanish_bucket_names(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"].search([("name", "=", "account_collections")])._update_translations(["es_ES"])
        report = self.report(partner_ids=[Command.set(self.partner_b.ids)]).with_context(lang="es_ES")
        report.action_show()
        self.assertEqual(
            report.bucket_ids.sorted("sequence").mapped("name"),
            ["No vencido", "1-30 días", "31-60 días", "61-90 días", "91-120 días", "Más de 120 días"],
        )

    def test_only_the_user_s_companies_are_aged(self):
        other = self.setup_other_company()["company"]
        self.init_invoice(
            "out_invoice", partner=self.partner_a, invoice_date="2026-11-01", amounts=[999.0], company=other, post=True
        )
        accountant = self.env["res.users"].create(
            {
                "name": "Accountant A",
                "login": "accountant_a",
                "company_id": self.env.company.id,
                "company_ids": [Command.set(self.env.company.ids)],
                "groups_id": [Command.set([self.env.ref("account.group_account_invoice").id])],
            }
        )
        report = (
            self.env["collection.aged.receivable"]
            .with_user(accountant)
            .create(
                {"date": "2026-11-24", "bounds": "30", "company_ids": [Command.set((self.env.company | other).ids)]}
            )
        )
        report.action_show()
        self.assertEqual(report.line_ids.company_id, self.env.company)
        self.assertNotIn(999.0, report.line_ids.mapped("amount"))
        # and a manager of both sees both
        both = self.report(company_ids=[Command.set((self.env.company | other).ids)]).with_context(
            allowed_company_ids=(self.env.company | other).ids
        )
        both.action_show()
        self.assertIn(999.0, both.line_ids.mapped("amount"))
        # the accountant cannot read the other's report lines
        self.assertFalse(
            self.env["collection.aged.receivable.line"].with_user(accountant).search([("report_id", "=", both.id)])
        )

    def test_companies_in_different_currencies_are_not_mixed(self):
        other = self.setup_other_company(currency_id=self.setup_other_currency("EUR").id)["company"]
        report = self.env["collection.aged.receivable"].create(
            {"date": "2026-11-24", "bounds": "30", "company_ids": [Command.set((self.env.company | other).ids)]}
        )
        with self.assertRaisesRegex(UserError, "different currencies"):
            report.action_show()
