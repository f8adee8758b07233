import csv
import io

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.mail.tests.common import MailCase

from .common import NOW, CollectionsCase, sections


@tagged("post_install", "-at_install")
class TestAgency(CollectionsCase, MailCase):
    """Hand-over to a collection agency: the pack, no more dunning by us, recoveries and their commission."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agency_partner = cls.env["res.partner"].create(
            {"name": "Recobros Norte", "email": "casos@recobros-norte.example.com", "is_company": True}
        )
        cls.commission_product = cls.env["product.product"].create(
            {"name": "Collection commission", "type": "service", "supplier_taxes_id": [Command.clear()]}
        )
        cls.agency = cls.env["collection.agency"].create({"partner_id": cls.agency_partner.id, "commission_pct": 15.0})
        cls.stage_agency = cls.env.ref("account_collections.stage_agency")

    def ledger_open(self, partner=None):
        return self.env["account.move.line"].search(
            [
                ("partner_id", "=", (partner or self.partner_a).id),
                ("company_id", "=", self.env.company.id),
                ("parent_state", "=", "posted"),
                ("account_id.account_type", "=", "asset_receivable"),
                ("reconciled", "=", False),
            ]
        )

    def hand_over(self, case, note=False):
        wizard = self.env["collection.agency.hand.over"].create(
            {"case_id": case.id, "agency_id": self.agency.id, "note": note}
        )
        with self.mock_mail_gateway():
            wizard.action_hand_over()
        return case.message_ids.filtered(lambda m: self.agency_partner in m.partner_ids)

    def mails_to_agency(self):
        return self._new_mails.filtered(lambda mail: self.agency_partner in mail.recipient_ids)

    def csv_rows(self, message):
        (history,) = message.attachment_ids.filtered(lambda a: a.name.endswith(".csv"))
        return list(csv.reader(io.StringIO(history.raw.decode())))

    # ------------------------------------------------------------
    # HAND-OVER BY A LEVEL OF THE DAILY RUN
    # ------------------------------------------------------------

    @freeze_time(NOW)
    def test_a_level_with_an_agency_hands_the_case_over_in_the_run(self):
        self.env.ref("account_collections.level_final").agency_id = self.agency
        old = self.invoice(1000.0, "2026-09-01")  # 84 days overdue: the final notice
        partly_paid = self.invoice(500.0, "2026-10-15")
        self.pay(partly_paid, 100.0, "2026-10-20")
        refund = self.invoice(200.0, "2026-10-01", move_type="out_refund")
        with self.mock_mail_gateway():
            self.run_collections()
        case = self.case()
        self.assertEqual(case.agency_id, self.agency)
        self.assertEqual(case.stage_id, self.stage_agency)
        self.assertEqual(str(case.handed_over_on), "2026-11-24")
        # the statement's amount due: the overdue items less the open credit note (credits are deducted)
        ledger = self.ledger_open()
        self.assertAlmostEqual(case.handed_over_amount, sum(ledger.mapped("amount_residual")))
        self.assertAlmostEqual(case.handed_over_amount, 1000 + 400 - 200)
        self.assertEqual(case.agency_line_ids, self.receivable(old) | self.receivable(partly_paid))
        # the final notice is carried out by the hand-over: nothing is left to send, nothing was sent
        self.assertTrue(case.action_ids)
        self.assertEqual(set(case.action_ids.mapped("state")), {"done"})
        self.assertEqual(case.action_ids.level_id, self.env.ref("account_collections.level_final"))
        (message,) = case.message_ids.filtered(lambda m: self.agency_partner in m.partner_ids)
        names = sorted(message.attachment_ids.mapped("name"))
        self.assertEqual(len(names), 4)  # statement, two invoices (not the credit note), history
        for move in old | partly_paid:
            self.assertTrue(any(name.startswith(move.name.replace("/", "_")) for name in names))
        self.assertFalse(any(name.startswith(refund.name.replace("/", "_")) for name in names))
        self.assertTrue(self.mails_to_agency())
        self.assertEqual(self.mails_to_agency().attachment_ids, message.attachment_ids)
        # the statement in the pack, row by row, is the ledger
        (statement,) = message.attachment_ids.filtered(lambda a: a.name.startswith("statement-"))
        tables = sections(statement.raw.decode())
        rows = [row for found in tables.values() for row in found]
        for line in ledger:
            credit_note = line.move_id.move_type == "out_refund"
            expected = self.expected_row(line, installment="Credit note" if credit_note else "")
            self.assertTrue(any(row[: len(expected)] == expected for row in rows), (expected, rows))
        # the next runs send nothing: the agency has the case
        actions = case.action_ids
        with freeze_time("2026-12-10 10:00:00"):
            self.run_collections()
        self.assertEqual(case.action_ids, actions)
        self.assertEqual(set(actions.mapped("state")), {"done"})
        self.assertEqual(case.stage_id, self.stage_agency)

    def test_the_agency_stage_stays_out_of_the_engine_s_policy(self):
        document = self.Run._policy_document(self.env.company)
        self.assertNotIn("agency", [stage["key"] for stage in document["stages"]])
        self.assertNotIn("agency", document["stage_rules"].values())
        # a level that moves cases to it brings it in, and the policy stays valid
        self.env.ref("account_collections.level_final").stage_id = self.stage_agency
        document = self.Run._policy_document(self.env.company)
        self.assertIn("agency", [stage["key"] for stage in document["stages"]])
        self.assertTrue(self.Run._policy(self.env.company))

    # ------------------------------------------------------------
    # MANUAL HAND-OVER, TAKE BACK
    # ------------------------------------------------------------

    @freeze_time(NOW)
    def test_a_manual_hand_over_cancels_pending_actions_and_sends_the_contact_history(self):
        self.invoice(800.0, "2026-11-15")  # 9 days overdue: the first reminder, sent
        self.run_collections()
        case = self.case()
        (sent,) = case.action_ids
        self.assertEqual(sent.state, "done")
        pending = sent.copy({"key": "later", "state": "scheduled", "sent_to": False})
        message = self.hand_over(case, note="Customer ignores our calls.")
        self.assertEqual(pending.state, "cancelled")
        self.assertEqual(pending.cancel_reason, "agency")
        self.assertEqual(case.stage_id, self.stage_agency)
        self.assertIn("Customer ignores our calls.", message.body)
        header, *rows = self.csv_rows(message)
        self.assertEqual(header, ["Date", "Channel", "Level", "State", "Outcome", "Amount Asked", "Recipient"])
        self.assertEqual(len(rows), 1)  # the reminder sent; the cancelled one was never a contact
        self.assertEqual(rows[0][1:4], ["Email", sent.level_id.name, "Done"])
        self.assertEqual(float(rows[0][5]), sent.amount_due)
        self.assertAlmostEqual(sent.amount_due, sum(self.ledger_open().mapped("amount_residual")))
        self.assertEqual(rows[0][6], sent.sent_to)
        self.assertIn("ap@partner-a.example.com", rows[0][6])
        with self.assertRaisesRegex(UserError, "already with"):
            self.hand_over(case)

    @freeze_time(NOW)
    def test_taking_a_case_back_resumes_our_dunning(self):
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        case = self.case()
        self.hand_over(case)
        with freeze_time("2026-11-30 10:00:00"):
            self.run_collections()
        self.assertEqual(len(case.action_ids), 1)  # nothing new while the agency has it
        with freeze_time("2026-12-01 10:00:00"):
            case.action_agency_take_back()
            self.assertFalse(case.agency_id)
            self.assertFalse(case.agency_line_ids)
            self.assertNotEqual(case.stage_id, self.stage_agency)
            self.assertTrue(case.message_ids.filtered(lambda m: "taken back" in (m.body or "")))
            self.run_collections()
        self.assertGreater(len(case.action_ids), 1)  # the second reminder (16 days overdue)

    @freeze_time(NOW)
    def test_nothing_overdue_nothing_to_hand_over(self):
        self.invoice(300.0, "2026-11-20", payment_term=self.env.ref("account.account_payment_term_30days"))
        case = self.env["collection.case"].create({"partner_id": self.partner_a.id})
        with self.assertRaisesRegex(UserError, "nothing overdue"):
            self.hand_over(case)
        self.assertFalse(case.agency_id)

    # ------------------------------------------------------------
    # RECOVERIES
    # ------------------------------------------------------------

    def recover(self, case, amount, date="2026-11-24"):
        self.env["collection.agency.recover"].create(
            {"case_id": case.id, "amount": amount, "date": date}
        ).action_record()
        return case.agency_recovery_ids.sorted("id")[-1:]

    @freeze_time(NOW)
    def test_a_recovery_settles_the_oldest_items_first_and_bills_the_commission(self):
        self.agency.commission_product_id = self.commission_product
        newer = self.invoice(400.0, "2026-10-01")
        older = self.invoice(600.0, "2026-09-01")
        self.run_collections()
        case = self.case()
        self.hand_over(case)
        with self.assertRaisesRegex(UserError, "owe"):
            self.recover(case, 1000.01)
        with self.assertRaisesRegex(UserError, "positive"):
            self.recover(case, 0.0)
        recovery = self.recover(case, 700.0)
        self.assertEqual(recovery.agency_id, self.agency)
        self.assertAlmostEqual(recovery.commission_pct, 15.0)
        self.assertAlmostEqual(recovery.commission_amount, 105.0)
        self.assertEqual(recovery.payment_id.move_id.state, "posted")
        self.assertTrue(recovery.payment_id.is_reconciled)
        self.assertAlmostEqual(recovery.payment_id.amount, 700.0)
        self.assertEqual(recovery.payment_id.partner_id, self.partner_a)
        self.assertEqual(older.payment_state, "paid")  # the oldest due first
        self.assertAlmostEqual(newer.amount_residual, 300.0)  # the rest on the next one
        self.assertAlmostEqual(case.agency_recovered_amount, 700.0)
        self.assertAlmostEqual(case.agency_open_amount, 300.0)
        bill = recovery.bill_id
        self.assertEqual((bill.move_type, bill.state, bill.partner_id), ("in_invoice", "draft", self.agency_partner))
        self.assertAlmostEqual(bill.amount_total, 105.0)
        self.assertEqual(bill.invoice_line_ids.product_id, self.commission_product)
        self.assertTrue(case.message_ids.filtered(lambda m: "recovered" in (m.body or "")))
        # the agency's rate changes: a recovery keeps the rate of its day
        self.agency.commission_pct = 20.0
        self.assertAlmostEqual(recovery.commission_amount, 105.0)
        self.assertAlmostEqual(self.agency.recovered_amount, 700.0)
        self.assertAlmostEqual(self.agency.commission_amount, 105.0)

    @freeze_time(NOW)
    def test_without_a_commission_product_no_bill_and_a_case_not_handed_over_refuses(self):
        self.invoice(600.0, "2026-09-01")
        self.run_collections()
        case = self.case()
        with self.assertRaisesRegex(UserError, "not with a collection agency"):
            self.recover(case, 100.0)
        self.hand_over(case)
        recovery = self.recover(case, 100.0)
        self.assertFalse(recovery.bill_id)
        self.assertAlmostEqual(recovery.commission_amount, 15.0)

    def test_the_commission_rate_is_a_percentage(self):
        with self.assertRaisesRegex(Exception, "between 0 and 100"):
            self.agency.commission_pct = 101.0
            self.agency.flush_recordset()

    # ------------------------------------------------------------
    # KPIS
    # ------------------------------------------------------------

    @freeze_time(NOW)
    def test_the_kpi_snapshot_counts_the_commission_as_a_cost_of_collection(self):
        self.invoice(600.0, "2026-09-01")
        self.invoice(300.0, "2026-11-10", partner=self.partner_b)
        self.run_collections()
        case = self.case()
        self.hand_over(case)
        Snapshot = self.env["collection.kpi.snapshot"]

        def snapshots():
            self.run_collections()
            company = Snapshot.search([("dimension", "=", "company")])
            agencies = Snapshot.search([("dimension", "=", "agency")])
            return (
                company,
                agencies.filtered(lambda s: s.agency_id == self.agency),
                agencies.filtered(lambda s: not s.agency_id),
            )

        before, agency_before, in_house_before = snapshots()
        self.assertTrue(before.collection_cost > 0 and before.actions > 0)
        self.assertEqual((before.name, in_house_before.name), (self.env.company.name, "In-house"))
        # the run of the day replaces the day's snapshots: keep the figures
        before_values = (before.collection_cost, before.actions)
        agency_cost, in_house_cost = agency_before.collection_cost, in_house_before.collection_cost
        self.recover(case, 400.0)  # commission: 15 % of 400
        company, with_agency, in_house = snapshots()
        self.assertAlmostEqual(company.collection_cost, before_values[0] + 60.0)
        self.assertEqual(company.actions, before_values[1])  # the commission is no contact
        self.assertAlmostEqual(company.cost_per_collection, company.collection_cost / company.collected, places=2)
        self.assertAlmostEqual(with_agency.collection_cost, agency_cost + 60.0)
        self.assertAlmostEqual(in_house.collection_cost, in_house_cost)

    # ------------------------------------------------------------
    # ACCESS
    # ------------------------------------------------------------

    @freeze_time(NOW)
    def test_agencies_and_recoveries_stay_in_their_company_and_users_only_read(self):
        self.invoice(600.0, "2026-09-01")
        self.run_collections()
        case = self.case()
        self.hand_over(case)
        self.recover(case, 100.0)
        other = self.setup_other_company()["company"]
        other_agency = self.env["collection.agency"].create(
            {"partner_id": self.agency_partner.id, "commission_pct": 10.0, "company_id": other.id}
        )
        outsider = self.env["res.users"].create(
            {
                "name": "Collector B",
                "login": "collector_agency_b",
                "company_id": other.id,
                "company_ids": [Command.set(other.ids)],
                "groups_id": [Command.set([self.env.ref("account_collections.group_collection_manager").id])],
            }
        )
        self.assertEqual(self.env["collection.agency"].with_user(outsider).search([]), other_agency)
        self.assertFalse(self.env["collection.agency.recovery"].with_user(outsider).search([]))
        reader = self.env["res.users"].create(
            {
                "name": "Collector A",
                "login": "collector_agency_a",
                "groups_id": [Command.set([self.env.ref("account_collections.group_collection_user").id])],
            }
        )
        self.assertEqual(self.env["collection.agency.recovery"].with_user(reader).search([]), case.agency_recovery_ids)
        with self.assertRaises(AccessError):
            self.agency.with_user(reader).commission_pct = 50.0
        # an agency of another company cannot take a case of this one
        self.env.user.company_ids += other
        with self.assertRaisesRegex(UserError, "company of the case"):
            self.case().action_agency_take_back()
            self.case()._hand_over_to_agency(other_agency)
