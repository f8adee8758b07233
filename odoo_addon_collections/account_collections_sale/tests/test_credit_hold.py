from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from odoo.addons.account_collections.tests.common import NOW, CollectionsCase


@tagged("post_install", "-at_install")
class TestCreditHold(CollectionsCase):
    """A customer on credit hold: quotations refused, the manager's override, the hold lifted by the run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.groups_id += cls.env.ref("sales_team.group_sale_manager")
        cls.Rule = cls.env["collection.credit.hold.rule"]
        cls.partner_a.name = "Azure Interior"

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    def days_rule(self, days=30, **values):
        return self.Rule.create(
            {"name": f"Overdue {days} days", "hold_overdue_days": True, "overdue_days": days, **values}
        )

    def quotation(self, amount=500.0, partner=None, company=None):
        company = company or self.env.company
        return (
            self.env["sale.order"]
            .with_company(company)
            .create(
                {
                    "partner_id": (partner or self.partner_a).id,
                    "company_id": company.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product_a.id,
                                "product_uom_qty": 1,
                                "price_unit": amount,
                                "tax_id": False,
                            }
                        )
                    ],
                }
            )
        )

    def held_case(self):
        """An invoice 45 days overdue under a 30-day rule, after the run: the customer's case, on hold."""
        self.days_rule()
        move = self.invoice(1200.0, "2026-10-10")
        self.run_collections()
        case = self.case()
        self.assertTrue(case.credit_hold)
        return case, move

    def logged(self, record):
        return "\n".join(record.message_ids.mapped("body"))

    # ------------------------------------------------------------
    # TESTS
    # ------------------------------------------------------------

    @freeze_time(NOW)
    def test_a_held_customers_quotation_is_refused_saying_why_how_much_and_since_when(self):
        case, move = self.held_case()
        self.assertEqual(str(case.credit_hold_since), "2026-11-24")
        self.assertEqual(case.credit_hold_display, f"{move.name} 45 days overdue, over the 30-day limit")
        self.assertEqual(case.credit_hold_amount, 1200.0)
        self.assertIn("Credit hold: the customer's quotations wait.", self.logged(case))
        order = self.quotation()
        self.assertTrue(order.collection_credit_hold)
        with self.assertRaises(UserError) as refused:
            order.action_confirm()
        message = str(refused.exception)
        for expected in (
            f"{order.name} cannot be confirmed.",
            f"Azure Interior is on credit hold in {self.env.company.name} since {self.day(case.credit_hold_since)}",
            f"{move.name} 45 days overdue, over the 30-day limit",
            f"Overdue: {self.money(1200.0)}; balance: {self.money(1200.0)}.",
            "A Collections manager can override the hold for this quotation, once, with a reason",
        ):
            self.assertIn(expected, message.replace("\xa0", " "))
        self.assertEqual(order.state, "draft")
        # the salesperson sees the hold on the partner and on the order
        self.env.invalidate_all()
        self.assertTrue(self.partner_a.collection_credit_hold)
        self.assertIn("since", self.partner_a.collection_credit_hold_message)
        self.assertIn(move.name, order.collection_credit_hold_message)
        for model in ("sale.order", "res.partner", "collection.case"):
            arch = self.env[model].get_views([(False, "form")])["views"]["form"]["arch"]
            self.assertIn("alert alert-danger", arch, model)
        # a second run keeps the day the hold began and logs nothing more
        with freeze_time("2026-11-25 10:00:00"):
            self.run_collections()
        self.assertEqual(str(case.credit_hold_since), "2026-11-24")
        self.assertIn("46 days overdue", case.credit_hold_display)
        self.assertEqual(self.logged(case).count("Credit hold: the customer"), 1)

    @freeze_time(NOW)
    def test_a_manager_overrides_once_with_a_reason_logged_on_the_case_and_the_order(self):
        case, _move = self.held_case()
        order = self.quotation(800.0)
        wizard = self.env["collection.credit.hold.override"].create(
            {"order_id": order.id, "reason": "Director approved: a prepayment arrives on Friday"}
        )
        self.assertIn("45 days overdue", wizard.hold_message)
        wizard.action_override()
        self.assertEqual(order.state, "sale")
        self.assertFalse(order.collection_hold_override_pending)  # spent by the confirmation
        self.assertEqual(order.collection_hold_override_user_id, self.env.user)
        self.assertEqual(order.collection_hold_override_reason, "Director approved: a prepayment arrives on Friday")
        for record in (case, order):
            self.assertIn(f"Credit hold overridden by {self.env.user.name}", self.logged(record))
            self.assertIn("Director approved: a prepayment arrives on Friday", self.logged(record))
        self.assertIn(order.name, self.logged(case))
        # once only: the same order, cancelled and set back to quotation, is refused again
        order._action_cancel()
        order.action_draft()
        with self.assertRaises(UserError):
            order.action_confirm()
        # a salesperson cannot override
        salesperson = self.env["res.users"].create(
            {
                "name": "Seller",
                "login": "seller_hold",
                "groups_id": [Command.set([self.env.ref("sales_team.group_sale_salesman_all_leads").id])],
            }
        )
        with self.assertRaises(AccessError):
            self.env["collection.credit.hold.override"].with_user(salesperson).create(
                {"order_id": order.id, "reason": "I need it"}
            )
        # the salesperson sees the hold on the customer and on the quotation, without access to the cases
        self.env.invalidate_all()
        self.assertTrue(order.with_user(salesperson).collection_credit_hold)
        self.assertIn("45 days overdue", order.with_user(salesperson).collection_credit_hold_message)
        self.assertTrue(self.partner_a.with_user(salesperson).collection_credit_hold)
        with self.assertRaises(AccessError):
            case.with_user(salesperson).read(["credit_hold"])
        with self.assertRaises(UserError):
            order.with_user(salesperson).action_confirm()

    @freeze_time(NOW)
    def test_the_hold_lifts_at_the_run_after_the_payment(self):
        case, move = self.held_case()
        self.pay(move, 1200.0, "2026-11-24")
        order = self.quotation()
        with self.assertRaises(UserError):
            order.action_confirm()  # until the next run
        self.run_collections()
        self.assertFalse(case.credit_hold)
        self.assertFalse(case.credit_hold_since)
        self.assertIn("Credit hold lifted", self.logged(case))
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    @freeze_time(NOW)
    def test_a_manual_hold_with_its_reason_until_released(self):
        self.assertFalse(self.case())  # nothing owed: no case yet
        self.env["collection.credit.hold.manual"].create(
            {"partner_id": self.partner_a.id, "reason": "Returned cheque of 3 November"}
        ).action_hold()
        case = self.case()
        self.assertTrue(case.credit_hold)
        self.assertEqual(case.credit_hold_display, "manual hold: Returned cheque of 3 November")
        self.assertEqual(case.credit_hold_manual_user_id, self.env.user)
        self.assertIn("Put on credit hold by", self.logged(case))
        order = self.quotation()
        with self.assertRaises(UserError) as refused:
            order.action_confirm()
        self.assertIn("manual hold: Returned cheque of 3 November", str(refused.exception))
        case.action_credit_hold_release()
        self.assertFalse(case.credit_hold)
        self.assertFalse(case.credit_hold_manual_reason)
        self.assertIn("Manual credit hold released", self.logged(case))
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    @freeze_time(NOW)
    def test_over_the_credit_limit_of_odoos_own_fields(self):
        self.Rule.create({"name": "Credit limit", "over_credit_limit": True})
        self.partner_a.credit_limit = 1000.0
        self.invoice(1500.0, "2026-11-24")  # not even due
        self.run_collections()
        self.assertFalse(self.case().credit_hold)  # the company does not use credit limits
        self.env.company.account_use_credit_limit = True
        self.run_collections()
        case = self.case()
        self.assertTrue(case.credit_hold)
        currency = self.currency.name
        self.assertEqual(
            case.credit_hold_display, f"balance of 1500.00 {currency}, over the credit limit of 1000.00 {currency}"
        )
        self.assertEqual(case.credit_hold_amount, 0.0)  # nothing overdue
        with self.assertRaises(UserError) as refused:
            self.quotation().action_confirm()
        self.assertIn(f"balance: {self.money(1500.0)}", str(refused.exception).replace("\xa0", " "))
        self.partner_a.credit_limit = 2000.0
        self.run_collections()
        self.assertFalse(case.credit_hold)

    @freeze_time(NOW)
    def test_a_hold_in_one_company_does_not_block_another(self):
        self.held_case()
        other = self.setup_other_company()["company"]
        self.env.invalidate_all()
        self.assertTrue(self.partner_a.collection_credit_hold)
        self.assertFalse(self.partner_a.with_company(other).collection_credit_hold)
        order_b = self.quotation(company=other)
        self.assertFalse(order_b.collection_credit_hold)
        order_b.action_confirm()
        self.assertEqual(order_b.state, "sale")
        with self.assertRaises(UserError):
            self.quotation().action_confirm()
        # the other company's run holds nobody: its own rules, none
        self.init_invoice(
            "out_invoice", self.partner_a, "2026-10-01", amounts=[900.0], taxes=[], company=other
        ).action_post()
        self.Run.with_company(other)._run_company(other, send=False)
        case_b = self.env["collection.case"].search(
            [("partner_id", "=", self.partner_a.id), ("company_id", "=", other.id)]
        )
        self.assertTrue(case_b)
        self.assertFalse(case_b.credit_hold)
        self.assertTrue(self.case().credit_hold)

    @freeze_time(NOW)
    def test_an_online_down_payment_does_not_confirm_a_held_quotation_full_payment_does(self):
        self.held_case()
        provider = self.env["payment.provider"].create(
            {
                "name": "Dummy Provider",
                "code": "none",
                "state": "test",
                "payment_method_ids": [Command.set(self.env.ref("payment.payment_method_unknown").ids)],
            }
        )
        self.env.ref("payment.payment_method_unknown").active = True
        order = self.quotation(1000.0)
        order.write({"require_payment": True, "prepayment_percent": 0.3})

        def paid(amount, reference):
            return self.env["payment.transaction"].create(
                {
                    "provider_id": provider.id,
                    "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                    "amount": amount,
                    "currency_id": order.currency_id.id,
                    "partner_id": self.partner_a.id,
                    "reference": reference,
                    "operation": "online_redirect",
                    "sale_order_ids": [Command.set(order.ids)],
                    "state": "done",
                }
            )

        paid(300.0, "HOLD-DOWN")._check_amount_and_confirm_order()
        self.assertEqual(order.state, "draft")
        self.assertIn("Payment received; the quotation was not confirmed", self.logged(order))
        paid(700.0, "HOLD-REST")._check_amount_and_confirm_order()  # paid in full: no credit is given
        self.assertEqual(order.state, "sale")

    def test_a_rule_needs_a_condition_and_reads_as_the_policy_section(self):
        # a company that holds nobody sends no section: the same policy as without this addon
        self.assertNotIn("credit_hold", self.Run._policy_document(self.env.company))
        with self.assertRaises(ValidationError):
            self.Rule.create({"name": "Nothing"})
        high = self.env["collection.risk.category"].search([("key", "=", "high")], limit=1)
        self.days_rule(15, risk_category_ids=[Command.set(high.ids)], hold_overdue_amount=True, overdue_amount=2500.5)
        section = self.Run._policy_document(self.env.company)["credit_hold"]
        self.assertEqual(
            section,
            {
                "rules": [
                    {
                        "risk_categories": ["high"],
                        "stages": [],
                        "over_credit_limit": False,
                        "broken_plan": False,
                        "overdue_days": 15,
                        "overdue_amount": {self.currency.name: "2500.50"},
                    }
                ]
            },
        )
        self.assertEqual(self.Run._policy(self.env.company).credit_hold.rules[0].overdue_days, 15)
        self.Rule.search([]).action_archive()
        self.env["collection.credit.hold.manual"].create({"partner_id": self.partner_a.id, "reason": "Insolvency"})
        self.assertNotIn("credit_hold", self.Run._policy_document(self.env.company))
        self.env["collection.credit.hold.manual"].create(
            {"partner_id": self.partner_a.id, "reason": "Insolvency"}
        ).action_hold()
        self.assertEqual(self.Run._policy_document(self.env.company)["credit_hold"], {"rules": []})
