"""Late fees and interest: the daily run posts what the engine computes, once, and the customer reads it.

Each test builds a real ledger, switches late fees on, runs the collections as the cron does and compares
the fee invoice with a direct call of the engine's ``late_fees`` on the same ledger.
"""

import json
from datetime import datetime, timezone
from decimal import Decimal

import lxml.html
from collections_engine import Customer, Portfolio, late_fees
from collections_engine.types import ReceivableItem
from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import NOW, CollectionsCase, text


@tagged("post_install", "-at_install")
class TestLateFees(CollectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create({"name": "Late fee", "type": "service", "taxes_id": False})
        cls.code = cls.currency.name
        cls.env.company.write(
            {
                "collection_late_fees": True,
                "collection_late_fee_rules": json.dumps(
                    {"fixed": [{"amounts": {cls.code: 40}}], "interest": {"rate_pct": 12}}
                ),
                "collection_fee_product_id": cls.product.id,
                "collection_fee_journal_id": cls.company_data["default_journal_sale"].id,
            }
        )

    def fee_moves(self, partner=None):
        return self.env["account.move"].search(
            [("collection_is_fee", "=", True), ("partner_id", "=", (partner or self.partner_a).id)]
        )

    def ledger(self, partner=None):
        """The customer's open receivable balance, as the ledger says it."""
        lines = self.env["account.move.line"].search(
            [
                ("partner_id", "=", (partner or self.partner_a).id),
                ("account_id.account_type", "=", "asset_receivable"),
                ("parent_state", "=", "posted"),
                ("company_id", "=", self.env.company.id),
            ]
        )
        return round(sum(lines.mapped("amount_residual")), 2)

    def expected(self, *invoices, disputed=()):
        """The engine's fee lines for these invoices, computed directly from the ledger (nothing charged yet)."""
        items = tuple(
            ReceivableItem(
                id=str(line.id),
                customer_id=str(self.partner_a.id),
                invoice_ref=line.move_id.name,
                currency=self.code,
                amount=Decimal(str(line.balance)),
                residual=Decimal(str(line.amount_residual)),
                issue_date=line.move_id.invoice_date,
                due_date=line.date_maturity,
                disputed=line.move_id in disputed,
            )
            for move in invoices
            for line in self.receivable(move)
        )
        portfolio = Portfolio(self.code, (Customer(id=str(self.partner_a.id), name=self.partner_a.name),), items)
        policy = self.Run._policy(self.env.company)
        as_of = datetime.fromisoformat(NOW).replace(tzinfo=timezone.utc)
        return [line for fees in late_fees(portfolio, policy, as_of) for line in fees.lines]

    @freeze_time(NOW)
    def test_the_run_posts_the_engine_amounts_once_and_nothing_on_a_disputed_invoice(self):
        late = self.invoice(1000.0, "2026-09-15")
        disputed = self.invoice(500.0, "2026-09-15")
        disputed.action_collection_toggle_dispute()
        expected = self.expected(late, disputed, disputed=disputed)
        self.assertEqual({line.kind for line in expected}, {"fixed", "interest"})
        self.run_collections()
        (fee,) = self.fee_moves()
        self.assertEqual(fee.state, "posted")
        self.assertEqual(fee.move_type, "out_invoice")
        self.assertEqual(fee.journal_id, self.company_data["default_journal_sale"])
        self.assertEqual(
            sorted((line.price_unit, line.product_id) for line in fee.invoice_line_ids),
            sorted((float(line.amount), self.product) for line in expected),
        )
        self.assertEqual(fee.amount_total, float(sum(line.amount for line in expected)))
        labels = fee.invoice_line_ids.mapped("name")
        self.assertIn(f"Late fee - {late.name}", labels)
        self.assertTrue(any(label.startswith("Interest ") and label.endswith(f"on {late.name}") for label in labels))
        charges = fee.collection_fee_charge_ids
        self.assertEqual(sorted(charges.mapped("key")), sorted(line.key for line in expected))
        self.assertEqual(charges.source_move_id, late)  # nothing on the disputed invoice
        self.assertEqual(charges.case_id, self.case())
        self.assertIn(fee.name, "".join(self.case().message_ids.mapped("body")))
        # a second run the same period charges nothing more; neither does a fee invoice get fees of its own
        self.run_collections()
        self.assertEqual(self.fee_moves(), fee)
        self.assertEqual(
            len(self.env["collection.fee.charge"].search([("partner_id", "=", self.partner_a.id)])), len(expected)
        )

    @freeze_time(NOW)
    def test_the_statement_lists_the_fee_and_its_total_is_the_ledger(self):
        self.invoice(1000.0, "2026-09-15")
        self.invoice(200.0, "2026-11-20")
        self.run_collections()
        (fee,) = self.fee_moves()
        case = self.case()
        self.assertEqual(case.open_amount, self.ledger())  # the case's figures include the fee invoice
        document = case._collection_statement()
        (line,) = (line for line in document.statement.lines if line.invoice_ref == fee.name)
        self.assertTrue(document.is_late_fee(line))
        total = document.statement.totals_for(self.code)
        self.assertEqual(float(total.balance), self.ledger())
        report = self.env.ref("account_collections.action_report_collection_letter")
        html, _kind = report._render_qweb_html(report.report_name, case.ids)
        letter = text(lxml.html.fromstring(html.decode()))
        self.assertIn(f"{fee.name} (Late fee) {self.day(fee.invoice_date_due)} {self.money(fee.amount_total)}", letter)
        # what is asked: the overdue items and the fee invoice once due, the statement's figure
        self.assertIn(f"Amount due: {self.money(float(total.amount_due))}", letter)
        self.assertEqual(float(total.overdue + total.upcoming - total.credits), self.ledger())

    @freeze_time(NOW)
    def test_a_waived_fee_is_credited_reconciled_and_never_charged_again(self):
        self.invoice(1000.0, "2026-09-15")
        self.run_collections()
        (fee,) = self.fee_moves()
        clerk = new_test_user(
            self.env,
            login="fee-clerk",
            groups="account.group_account_invoice,account_collections.group_collection_user",
        )
        with self.assertRaises(AccessError):
            self.env["collection.fee.waive"].with_user(clerk).create({"move_id": fee.id, "reason": "no"})
        fixed = fee.collection_fee_charge_ids.filtered(lambda c: c.kind == "fixed")
        wizard = (
            self.env["collection.fee.waive"]
            .with_context(default_move_id=fee.id)
            .create({"reason": "First delay in ten years"})
        )
        wizard.charge_ids = fixed
        action = wizard.action_waive()
        refund = self.env["account.move"].browse(action["res_id"])
        self.assertEqual((refund.move_type, refund.state), ("out_refund", "posted"))
        self.assertEqual(refund.amount_total, fixed.amount)
        self.assertEqual(refund.payment_state, "paid")  # reconciled with the fee invoice
        self.assertAlmostEqual(fee.amount_residual, fee.amount_total - fixed.amount)
        self.assertTrue(fixed.waived)
        self.assertFalse((fee.collection_fee_charge_ids - fixed).filtered("waived"))
        self.assertIn("First delay in ten years", "".join(self.case().message_ids.mapped("body")))
        self.assertIn("First delay in ten years", "".join(fee.message_ids.mapped("body")))
        self.run_collections()
        self.assertEqual(self.fee_moves(), fee)  # the waived fee is not charged again
        self.assertEqual(self.case().open_amount, self.ledger())

    @freeze_time(NOW)
    def test_fee_charges_stay_in_their_company(self):
        self.invoice(1000.0, "2026-09-15")
        company_b = self.env["res.company"].create({"name": "Company B (late fees)"})
        self.Run._run_company(company_b)
        self.assertFalse(self.fee_moves())  # company B's run charges nothing on company A's invoices
        self.run_collections()
        charges = self.env["collection.fee.charge"].search([("partner_id", "=", self.partner_a.id)])
        self.assertTrue(charges)
        user = new_test_user(
            self.env,
            login="fee-reader",
            groups="account_collections.group_collection_user",
            company_id=company_b.id,
            company_ids=[(6, 0, [company_b.id, self.env.company.id])],
        )
        Charge = self.env["collection.fee.charge"].with_user(user)
        self.assertFalse(Charge.with_context(allowed_company_ids=[company_b.id]).search([]))
        self.assertEqual(Charge.with_context(allowed_company_ids=[self.env.company.id]).search([]), charges)

    @freeze_time(NOW)
    def test_nothing_is_posted_while_late_fees_are_off(self):
        self.env.company.collection_late_fees = False
        self.invoice(1000.0, "2026-09-15")
        self.run_collections()
        self.assertFalse(self.fee_moves())

    @freeze_time(NOW)
    def test_a_spanish_customer_reads_the_fee_lines_in_spanish(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.partner_a.lang = "es_ES"
        late = self.invoice(1000.0, "2026-09-15")
        self.run_collections()
        (fee,) = self.fee_moves()
        self.assertEqual(fee.invoice_date_due, fee.invoice_date)  # due at once
        labels = fee.invoice_line_ids.mapped("name")
        self.assertIn(f"Recargo por demora - {late.name}", labels)
        self.assertTrue(any(label.startswith("Intereses del ") for label in labels), labels)
        document = self.case()._collection_statement()
        (line,) = (line for line in document.statement.lines if line.invoice_ref == fee.name)
        self.assertTrue(document.is_late_fee(line))

    @freeze_time(NOW)
    def test_plan_now_by_a_collector_posts_the_fee_and_a_payment_run_does_not(self):
        self.invoice(1000.0, "2026-09-15")
        self.Run.with_context(collection_no_fees=True)._run_company(self.env.company)  # as after an online payment
        self.assertFalse(self.fee_moves())
        collector = new_test_user(self.env, login="fee-collector", groups="account_collections.group_collection_user")
        self.case().with_user(collector).action_run_now()  # no invoicing rights needed: the run posts
        (fee,) = self.fee_moves()
        self.assertEqual(fee.state, "posted")
        self.assertEqual(self.case().open_amount, self.ledger())

    def test_a_fee_invoice_paid_late_is_never_charged_fees_itself(self):
        with freeze_time(NOW):
            late = self.invoice(1000.0, "2026-09-15")
            self.run_collections()
            (first,) = self.fee_moves()
        with freeze_time("2027-01-05 10:00:00"):  # the fee invoice is overdue over a whole period (December)
            self.run_collections()
            second = self.fee_moves() - first
            self.assertTrue(second)  # the next periods' interest on the late invoice
            charges = self.env["collection.fee.charge"].search([("partner_id", "=", self.partner_a.id)])
            self.assertEqual(charges.source_move_id, late)  # none on the fee invoice
            self.assertEqual(self.case().open_amount, self.ledger())
