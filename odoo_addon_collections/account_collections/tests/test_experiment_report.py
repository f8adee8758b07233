from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import NOW, CollectionsCase


@tagged("post_install", "-at_install")
class TestExperimentReport(CollectionsCase):
    """A/B results per variant from what the ledger says was collected after each customer's first contact."""

    def setUp(self):
        super().setUp()
        self.standard = self.env.ref("account_collections.strategy_standard")
        self.variant = self.env["collection.strategy"].create(
            {
                "name": "Call at once",
                "key": "call_first",
                "parent_id": self.standard.id,
                "variant_weight": 50,
                "level_ids": [
                    (0, 0, {"name": "Call", "key": "call", "delay_days": 1, "use_email": False, "use_call": True})
                ],
            }
        )
        self.partners = self.env["res.partner"].create(
            [{"name": f"AB customer {n}", "email": f"ab{n}@example.com", "phone": f"+3460000{n:04d}"} for n in range(8)]
        )
        immediate = self.env.ref("account.account_payment_term_immediate")
        with freeze_time(NOW):
            self.invoices = [
                self.invoice(100.0 + 10 * n, "2026-11-19", partner=partner, payment_term=immediate)
                for n, partner in enumerate(self.partners)
            ]
            self.run_collections()
            # half of the customers pay after their first contact: three in full, one half
            for invoice, amount in zip(self.invoices[:4], (None, None, None, 0.5), strict=True):
                self.pay(invoice, invoice.amount_total * (amount or 1), "2026-11-26")

    def compute(self, **values):
        report = self.env["collection.experiment.report"].create(
            {"strategy_id": self.standard.id, "date": "2026-11-30", **values}
        )
        report.action_compute()
        return report

    def test_each_variant_s_figures_come_from_the_ledger(self):
        report = self.compute()
        cases = self.env["collection.case"].search([("partner_id", "in", self.partners.ids)])
        self.assertEqual(set(cases.mapped("variant")), {"control", "call_first"})
        expected = {}
        for case in cases:
            invoice = next(i for i in self.invoices if i.partner_id == case.partner_id)
            due, customers, collected, full = expected.get(case.variant, (0.0, 0, 0.0, 0))
            paid = invoice.amount_total - invoice.amount_residual
            expected[case.variant] = (
                due + invoice.amount_total,
                customers + 1,
                collected + paid,
                full + (invoice.amount_residual == 0),
            )
        found = {line.variant: line for line in report.line_ids}
        self.assertEqual(set(found), set(expected))
        for key, (due, customers, collected, full) in expected.items():
            line = found[key]
            self.assertEqual(line.customers, customers, key)
            self.assertAlmostEqual(line.amount_due, due, msg=key)
            self.assertAlmostEqual(line.collected, collected, msg=key)
            self.assertAlmostEqual(line.recovery_rate, round(collected / due * 100, 1), places=1, msg=key)
            self.assertAlmostEqual(line.paid_share, round(full / customers * 100, 1), places=1, msg=key)
        control = found["control"]
        self.assertTrue(control.is_control)
        self.assertEqual(control.name, f"{self.standard.name} (control)")
        self.assertEqual(found["call_first"].name, "Call at once")
        self.assertAlmostEqual(
            found["call_first"].difference, found["call_first"].recovery_rate - control.recovery_rate, places=0
        )
        # eight customers are far too few to call a winner, and the report says why
        self.assertFalse(report.stop)
        self.assertEqual(found["call_first"].decision, "undecided")
        self.assertIn("at least 30 customers", report.verdict)

    def test_before_the_payments_nothing_was_collected(self):
        report = self.compute(date="2026-11-25")
        self.assertEqual(sum(report.line_ids.mapped("collected")), 0)
        self.assertEqual(sum(report.line_ids.mapped("customers")), 8)

    def test_contacts_since_a_later_day_leave_nobody(self):
        report = self.compute(date_from="2026-11-27")
        self.assertFalse(report.line_ids)
        self.assertIn("No customer has been contacted", report.verdict)

    def test_parameters_out_of_range_are_refused(self):
        with self.assertRaisesRegex(UserError, "Confidence"):
            self.compute(confidence=1.5)
        with self.assertRaisesRegex(UserError, "Difference sought"):
            self.compute(mde=0)
