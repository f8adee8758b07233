from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import NOW, CollectionsCase


@tagged("post_install", "-at_install")
class TestForecast(CollectionsCase):
    """Payment prediction from the company's own history: the weekly cash-in and each case's outlook."""

    def setUp(self):
        super().setUp()
        self.thirty = self.env.ref("account.account_payment_term_30days")
        with freeze_time(NOW):
            self.open_overdue = self.invoice(500.0, "2026-11-19")  # 5 days overdue
            self.open_not_due = self.invoice(250.0, "2026-11-20", payment_term=self.thirty)
            self.other = self.invoice(700.0, "2026-11-01", partner=self.partner_b, payment_term=self.thirty)

    def settle_history(self):
        """Two invoices paid on time and one paid 75 days late: something to learn from."""
        with freeze_time(NOW):
            for amount, issued, paid in (
                (200.0, "2026-09-01", "2026-09-02"),
                (300.0, "2026-09-15", "2026-09-15"),
                (400.0, "2026-08-01", "2026-10-15"),
            ):
                self.pay(self.invoice(amount, issued), amount, paid)

    def open_total(self):
        return sum(
            line.amount_residual
            for move in (self.open_overdue, self.open_not_due, self.other)
            for line in self.receivable(move)
        )

    @freeze_time(NOW)
    def test_the_forecast_shares_out_every_open_item_over_the_weeks(self):
        self.settle_history()
        self.run_collections()
        weeks = self.env["collection.forecast"].search([("company_id", "=", self.env.company.id)])
        shown = weeks.filtered(lambda w: not w.later)
        self.assertEqual(len(shown), 13)
        self.assertEqual(fields.Date.to_string(shown[0].week_start), "2026-11-23")  # the Monday of the run's week
        self.assertTrue(all(w.date == fields.Date.to_date("2026-11-24") for w in weeks))
        self.assertAlmostEqual(sum(weeks.mapped("amount")), self.open_total())
        self.assertEqual(sum(weeks.mapped("items")), 3)

    @freeze_time(NOW)
    def test_each_case_has_its_outlook(self):
        self.settle_history()
        self.run_collections()
        case = self.case()
        self.assertGreaterEqual(case.expected_payment_date, fields.Date.to_date("2026-11-24"))
        # the overdue invoice is late already: at risk in full; the one not due adds its probability
        self.assertGreaterEqual(case.amount_at_risk, 500.0)
        self.assertLessEqual(case.amount_at_risk, 750.0)
        self.assertAlmostEqual(case.amount_at_risk, 500.0 + 250.0 * case.not_due_risk / 100, delta=0.05)
        self.assertGreater(case.not_due_risk, 0.0)
        self.assertLess(case.not_due_risk, 100.0)

    @freeze_time(NOW)
    def test_no_history_no_forecast_and_the_previous_one_is_removed(self):
        self.settle_history()
        self.run_collections()
        self.assertTrue(self.env["collection.forecast"].search([]))
        # with nothing settled by then, a run as of an earlier day cannot learn: the old forecast goes
        self.Run._run_company(
            self.env.company,
            as_of=fields.Datetime.to_datetime("2026-08-15 10:00:00").replace(
                tzinfo=__import__("datetime").timezone.utc
            ),
        )
        self.assertFalse(self.env["collection.forecast"].search([]))
        self.assertFalse(self.case().expected_payment_date)
        self.assertFalse(self.case().amount_at_risk)
