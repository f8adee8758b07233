from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import NOW, CollectionsCase


@tagged("post_install", "-at_install")
class TestDailyRun(CollectionsCase):
    @freeze_time(NOW)
    def test_overdue_invoice_opens_a_case_and_sends_the_first_reminder(self):
        move = self.invoice(1000.0, "2026-10-20")  # immediate term: due 2026-10-20, 35 days overdue
        recent = self.invoice(500.0, "2026-11-10")  # 14 days overdue
        self.run_collections()
        case = self.case()
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_follow_up"))
        self.assertEqual(case.overdue_amount, 1500.0)
        self.assertEqual(case.oldest_days_overdue, 35)
        self.assertTrue(case.risk_category_id)
        self.assertIn("overdue", case.risk_explanation)
        (call,) = case.action_ids
        self.assertEqual((call.channel, call.level_key, call.state), ("call", "call", "to_do"))
        self.assertEqual(call.move_line_ids.move_id, move | recent)  # one occasion, at the highest level due
        self.assertTrue(
            case.activity_ids.filtered(lambda a: a.activity_type_id == self.env.ref("mail.mail_activity_data_call"))
        )
        self.assertEqual(move.collection_level_id.key, "call")
        self.assertEqual(self.partner_a.collection_risk_score, case.risk_score)

    @freeze_time(NOW)
    def test_instalments_are_dunned_one_by_one(self):
        move = self.invoice(1000.0, "2026-10-10", payment_term=self.pay_terms_b)
        first, second = move.line_ids.filtered(lambda line: line.display_type == "payment_term").sorted("date_maturity")
        self.assertEqual(first.date_maturity, fields.Date.to_date("2026-10-10"))
        self.assertGreater(second.date_maturity, fields.Date.to_date("2026-11-24"))
        self.run_collections()
        case = self.case()
        (action,) = case.action_ids
        self.assertEqual(action.move_line_ids, first)
        case.invalidate_recordset(["open_line_ids"])  # as on a fresh page load
        self.assertEqual(case.open_line_ids, first | second)  # the case shows one line per instalment
        self.assertEqual(case.overdue_amount, 300.0)
        self.assertEqual(case.open_amount, 1000.0)

    @freeze_time(NOW)
    def test_an_action_carried_out_cannot_be_deleted_one_not_yet_done_can(self):
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        (sent,) = self.case().action_ids
        self.assertEqual(sent.state, "done")
        with self.assertRaisesRegex(UserError, "case's history"):
            sent.unlink()
        later = sent.copy({"key": "later", "state": "scheduled"})
        later.unlink()
        self.assertTrue(sent.exists())

    @freeze_time(NOW)
    def test_email_reminder_is_posted_with_the_template(self):
        self.env.ref("account_collections.level_first").attach_invoices = True
        self.invoice(800.0, "2026-11-15")  # 9 days overdue: first reminder
        self.run_collections()
        case = self.case()
        (action,) = case.action_ids
        self.assertEqual((action.channel, action.state), ("email", "done"))
        message = case.message_ids.filtered(lambda m: m.message_type == "comment")
        self.assertEqual(len(message), 1)
        self.assertIn("overdue", message.body)
        self.assertNotIn("&lt;", message.body)  # rendered HTML, not escaped text
        self.assertTrue(message.subject)
        self.assertIn(self.partner_a, message.partner_ids)
        move = case.action_ids.move_line_ids.move_id
        self.assertIn(move.get_portal_url(), message.body)  # the portal page where the invoice can be paid
        names = message.attachment_ids.mapped("name")  # the level attaches the invoices it reminds
        self.assertEqual(len(names), 1)
        self.assertTrue(names[0].startswith(move.name.replace("/", "_")))

    @freeze_time(NOW)
    def test_partial_payment_reduces_the_amount_due(self):
        move = self.invoice(1000.0, "2026-11-15")
        payment = self.init_payment(400.0, post=True, date="2026-11-20")
        (move.line_ids | payment.move_id.line_ids).filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        ).reconcile()
        self.run_collections()
        self.assertEqual(self.case().overdue_amount, 600.0)
        self.assertEqual(self.case().action_ids.amount_due, 600.0)

    @freeze_time(NOW)
    def test_disputed_invoices_are_never_dunned(self):
        move = self.invoice(1000.0, "2026-10-01")
        move.action_collection_toggle_dispute()
        self.assertTrue(move.collection_disputed)
        self.run_collections()
        case = self.case()
        self.assertFalse(case.action_ids)
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_dispute"))

    @freeze_time(NOW)
    def test_opted_out_channel_is_skipped(self):
        self.partner_a.collection_opt_out_email = True
        self.invoice(800.0, "2026-11-15")
        with self.mockSMSGateway():  # the outermost edge: IAP; what would have been sent is recorded
            self.run_collections()
            self.env["sms.sms"].sudo()._process_queue()  # reminders are queued, sent after the commit
        (action,) = self.case().action_ids
        self.assertEqual((action.channel, action.state), ("sms", "done"))
        self.assertSMSIapSent(["+34600111222"], content="of your account is overdue")

    @freeze_time(NOW)
    def test_running_twice_the_same_day_sends_nothing_twice(self):
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        with freeze_time("2026-11-24 15:30:00"):
            self.run_collections()
        case = self.case()
        self.assertEqual(len(case.action_ids), 1)
        self.assertEqual(len(case.message_ids.filtered(lambda m: m.message_type == "comment")), 1)

    @freeze_time(NOW)
    def test_do_not_dun_holds_the_case(self):
        self.partner_a.collection_do_not_dun = True
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        self.assertEqual(self.case().hold_reason, "do_not_dun")
        self.assertFalse(self.case().action_ids)

    @freeze_time(NOW)
    def test_a_user_of_another_company_sees_no_case(self):
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        other = self.setup_other_company()["company"]
        user = self.env["res.users"].create(
            {
                "name": "Collector B",
                "login": "collector_b",
                "company_id": other.id,
                "company_ids": [Command.set(other.ids)],
                "groups_id": [Command.set([self.env.ref("account_collections.group_collection_user").id])],
            }
        )
        cases = self.env["collection.case"].with_user(user).search([])
        self.assertFalse(cases)
        with self.assertRaises(AccessError):
            self.case().with_user(user).read(["overdue_amount"])

    @freeze_time(NOW)
    def test_credit_note_covering_the_overdue_amount_holds_the_case(self):
        self.invoice(300.0, "2026-11-10")
        refund = self.init_invoice(
            "out_refund", partner=self.partner_a, invoice_date="2026-11-12", amounts=[500.0], taxes=[]
        )
        refund.action_post()
        self.run_collections()
        case = self.case()
        self.assertEqual(case.hold_reason, "credit_covers_overdue")
        self.assertFalse(case.action_ids)
        self.assertEqual(case.open_amount, -200.0)

    @freeze_time(NOW)
    def test_foreign_currency_invoice_is_dunned_in_company_currency(self):
        foreign = self.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])
        self.assertNotEqual(foreign, self.env.company.currency_id)
        move = self.init_invoice(
            "out_invoice",
            partner=self.partner_a,
            invoice_date="2026-11-15",
            amounts=[1000.0],
            taxes=[],
            currency=foreign,
        )
        move.action_post()
        self.run_collections()
        case = self.case()
        self.assertAlmostEqual(case.overdue_amount, move.amount_total_signed)
        self.assertAlmostEqual(case.action_ids.amount_due, 500.0)

    @freeze_time("2026-11-24 21:00:00")
    def test_outside_the_contact_window_the_email_waits_until_morning(self):
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        (action,) = self.case().action_ids
        self.assertEqual(action.state, "scheduled")
        self.assertEqual(action.not_before, fields.Datetime.to_datetime("2026-11-25 09:00:00"))
        self.assertFalse(self.case().message_ids.filtered(lambda m: m.message_type == "comment"))
        with freeze_time("2026-11-25 09:05:00"):
            self.run_collections()
        self.assertEqual(action.state, "done")
        self.assertEqual(len(self.case().action_ids), 1)

    @freeze_time(NOW)
    def test_daily_cap_moves_the_next_level_to_the_next_day(self):
        self.invoice(800.0, "2026-11-20")  # 4 days overdue: first reminder today
        self.run_collections()
        self.invoice(900.0, "2026-10-20")  # booked later the same day, 35 days overdue: call level
        with freeze_time("2026-11-24 11:00:00"):
            self.run_collections()
        call = self.case().action_ids.filtered(lambda a: a.channel == "call")
        self.assertEqual(call.not_before.date(), fields.Date.to_date("2026-11-25"))
        self.assertEqual(call.state, "scheduled")

    @freeze_time(NOW)
    def test_pre_due_reminder_before_the_due_date(self):
        move = self.init_invoice(
            "out_invoice", partner=self.partner_a, invoice_date="2026-11-20", amounts=[400.0], taxes=[]
        )
        move.write({"invoice_payment_term_id": False, "invoice_date_due": "2026-11-26"})
        move.action_post()
        self.assertEqual(
            move.line_ids.filtered("date_maturity").mapped("date_maturity")[0], fields.Date.to_date("2026-11-26")
        )
        self.run_collections()
        case = self.case()
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_upcoming"))
        (action,) = case.action_ids
        self.assertEqual((action.level_key, action.channel), ("pre_due", "email"))

    @freeze_time(NOW)
    def test_queries_of_a_batch_do_not_grow_with_its_customers(self):
        partners = self.env["res.partner"].create(
            [{"name": f"Customer {n}", "email": f"c{n}@example.com"} for n in range(8)]
        )
        for partner in partners:
            self.invoice(100.0, "2026-09-01", partner=partner, payment_term=self.pay_terms_a)
        self.run_collections()  # first run: cases created, actions recorded and sent

        def queries_of_a_run(count):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.Run._run_company(self.env.company, partners=partners[:count])
            return self.env.cr.sql_log_count - before

        with freeze_time("2026-11-24 15:00:00"):  # nothing new to send: only planning and case updates
            queries_of_a_run(8)  # warm the registry caches (ir.model.data, translations) once
            self.assertEqual(queries_of_a_run(2), queries_of_a_run(8))
        self.assertEqual(self.case(partners[7]).overdue_amount, 100.0)

    @freeze_time(NOW)
    def test_final_notice_prepares_a_letter_for_printing(self):
        self.invoice(700.0, "2026-09-01")  # 84 days overdue: final notice by letter and email
        self.run_collections()
        case = self.case()
        letter = case.action_ids.filtered(lambda a: a.channel == "letter")
        self.assertEqual(letter.state, "to_do")
        self.assertIn("Print the letter", letter.activity_id.note)
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_escalated"))
        self.assertEqual(set(case.action_ids.mapped("channel")), {"letter", "email"})
        report_action = letter.action_print_letters()
        # an administrator who never chose a document layout is asked first, the report following
        report_action = report_action.get("context", {}).get("report_action") or report_action
        self.assertEqual(report_action["report_name"], "account_collections.report_collection_letter")
        self.assertEqual(report_action["context"]["active_ids"], case.ids)
        self.assertEqual(letter.state, "done")
        self.assertFalse(letter.activity_id.exists())
        report = self.env.ref("account_collections.action_report_collection_letter")
        html = report._render_qweb_html(report.id, case.ids)[0].decode()
        self.assertIn("Statement of account", html)
        self.assertIn("700.00", html)

    @freeze_time(NOW)
    def test_logging_a_call_closes_the_task_and_pauses_the_customer(self):
        self.invoice(1000.0, "2026-10-20")  # 35 days overdue: a call for the collector
        self.run_collections()
        case = self.case()
        wizard = self.env["collection.log.call"].create(
            {"case_id": case.id, "outcome": "promised", "note": "Pays on Friday", "pause_days": 5}
        )
        wizard.action_log()
        calls = case.action_ids.filtered(lambda a: a.channel == "call")
        self.assertEqual(set(calls.mapped("state")), {"done"})
        self.assertEqual(set(calls.mapped("outcome")), {"promised"})
        self.assertFalse(case.activity_ids)
        self.assertEqual(self.partner_a.collection_paused_until, fields.Date.to_date("2026-11-29"))
        with freeze_time("2026-11-26 10:00:00"):
            self.run_collections()
        self.assertEqual(case.hold_reason, "paused")

    @freeze_time("2026-11-24 21:00:00")
    def test_send_now_ignores_the_window(self):
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        (action,) = self.case().action_ids
        self.assertEqual(action.state, "scheduled")
        action.action_send_now()
        self.assertEqual(action.state, "done")

    @freeze_time(NOW)
    def test_a_promise_pauses_dunning_until_it_is_broken(self):
        move = self.invoice(1000.0, "2026-10-20")  # 35 days overdue
        self.run_collections()
        case = self.case()
        wizard = self.env["collection.log.call"].create(
            {"case_id": case.id, "outcome": "promised", "promised_date": "2026-11-30", "promised_amount": 1000.0}
        )
        wizard.action_log()
        promise = case.promise_ids
        self.assertEqual(len(promise), 1)
        with freeze_time("2026-11-26 10:00:00"):
            self.run_collections()
        self.assertEqual(promise.status, "pending")
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_promise"))
        score_while_pending = case.risk_score
        with freeze_time("2026-12-05 10:00:00"):  # deadline (promised date + 2 days of grace) passed, nothing paid
            self.run_collections()
        self.assertEqual(promise.status, "broken")
        self.assertGreater(case.risk_score, score_while_pending)
        self.assertNotEqual(case.stage_id, self.env.ref("account_collections.stage_promise"))
        self.assertEqual(move.payment_state, "not_paid")

    @freeze_time(NOW)
    def test_a_payment_keeps_the_promise(self):
        move = self.invoice(1000.0, "2026-10-20")
        self.run_collections()
        case = self.case()
        self.env["collection.promise"].create({"case_id": case.id, "amount": 1000.0, "promised_date": "2026-11-30"})
        with freeze_time("2026-11-28 10:00:00"):
            payment = self.init_payment(1000.0, post=True, date="2026-11-28")
            (move.line_ids | payment.move_id.line_ids).filtered(
                lambda line: line.account_id.account_type == "asset_receivable"
            ).reconcile()
            self.run_collections()
        self.assertEqual((case.promise_ids.status, case.promise_ids.paid_amount), ("kept", 1000.0))
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_closed"))

    @freeze_time(NOW)
    def test_a_payment_plan_in_good_standing_pauses_dunning(self):
        move = self.invoice(1200.0, "2026-10-20")  # 35 days overdue
        self.run_collections()
        case = self.case()
        plan = self.env["collection.plan"].create(
            {
                "case_id": case.id,
                "total": 1200.0,
                "down_payment": 300.0,
                "installments": 3,
                "frequency": "monthly",
                "first_due": "2026-12-01",
                "grace_days": 2,
            }
        )
        self.assertEqual(plan.installment_ids.mapped("amount"), [300.0, 300.0, 300.0, 300.0])
        self.assertEqual(plan.installment_ids.mapped("sequence"), [0, 1, 2, 3])
        with freeze_time("2026-11-25 10:00:00"):
            payment = self.init_payment(300.0, post=True, date="2026-11-25")
            (move.line_ids | payment.move_id.line_ids).filtered(
                lambda line: line.account_id.account_type == "asset_receivable"
            ).reconcile()
            self.run_collections()
        self.assertEqual((plan.status, plan.paid_amount), ("good_standing", 300.0))
        self.assertEqual(plan.installment_ids[0].status, "paid")
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_payment_plan"))
        actions_before = len(case.action_ids)
        with freeze_time("2026-12-10 10:00:00"):  # first instalment unpaid past its grace: broken
            self.run_collections()
        self.assertEqual(plan.status, "broken")
        self.assertNotEqual(case.stage_id, self.env.ref("account_collections.stage_payment_plan"))
        with freeze_time("2026-12-22 10:00:00"):  # 63 days overdue: dunning resumes with the final notice
            self.run_collections()
        self.assertGreater(len(case.action_ids), actions_before)
        self.assertTrue(case.action_ids.filtered(lambda a: a.level_key == "final"))

    @freeze_time(NOW)
    def test_a_plan_beyond_the_policy_is_refused_naming_the_rule(self):
        self.invoice(1200.0, "2026-10-20")
        self.run_collections()
        case = self.case()
        with self.assertRaisesRegex(UserError, "installments: 24 exceeds the maximum"):
            self.env["collection.plan"].create(
                {
                    "case_id": case.id,
                    "total": 1200.0,
                    "installments": 24,
                    "frequency": "monthly",
                    "first_due": "2026-12-01",
                }
            )

    @freeze_time(NOW)
    def test_a_failing_action_is_marked_failed_and_the_others_are_sent(self):
        self.invoice(800.0, "2026-11-15")
        partner_b = self.partner_b
        partner_b.email = "ap@partner-b.example.com"
        self.invoice(900.0, "2026-11-15", partner=partner_b)
        original = type(self.env["collection.action"])._execute

        def execute(action, *args):
            if action.partner_id == self.partner_a:
                # an error as the mail server's, untranslated: no term for the translators
                raise UserError("mail server refused the message")  # pylint: disable=translation-required
            return original(action, *args)

        logger = "odoo.addons.account_collections.models.collection_run"
        with patch.object(type(self.env["collection.action"]), "_execute", execute), self.assertLogs(logger, "WARNING"):
            self.run_collections()
        failed = self.case().action_ids
        self.assertEqual((failed.state, failed.outcome), ("failed", "failed"))
        self.assertIn("mail server refused", failed.error)
        self.assertEqual(self.case(partner_b).action_ids.state, "done")

    def test_the_sending_cron_sends_actions_that_came_due_later_in_the_day(self):
        with freeze_time("2026-11-24 06:00:00"):  # before the contact window opens at 09:00
            self.invoice(800.0, "2026-11-15")
            self.run_collections()
            (action,) = self.case().action_ids
            self.assertEqual(action.state, "scheduled")
        with freeze_time("2026-11-24 09:30:00"):
            self.Run.with_user(self.env.ref("base.user_root"))._cron_send_due_actions()  # as the cron runs
            self.assertEqual(action.state, "done")

    @freeze_time(NOW)
    def test_customers_in_an_ab_variant_follow_the_variant_levels(self):
        standard = self.env.ref("account_collections.strategy_standard")
        variant = self.env["collection.strategy"].create(
            {
                "name": "Call at once",
                "key": "call_first",
                "parent_id": standard.id,
                "variant_weight": 50,
                "level_ids": [
                    (0, 0, {"name": "Call", "key": "call", "delay_days": 1, "use_email": False, "use_call": True})
                ],
            }
        )
        partners = self.env["res.partner"].create(
            [{"name": f"AB customer {n}", "email": f"ab{n}@example.com", "phone": f"+3460000{n:04d}"} for n in range(8)]
        )
        immediate = self.env.ref("account.account_payment_term_immediate")
        for partner in partners:
            self.invoice(100.0, "2026-11-19", partner=partner, payment_term=immediate)  # 5 days overdue
        self.run_collections()
        cases = self.env["collection.case"].search([("partner_id", "in", partners.ids)])
        self.assertEqual(len(cases), 8)
        self.assertEqual(set(cases.mapped("variant")), {"control", "call_first"})  # both arms got customers
        self.assertEqual(set(cases.mapped("variant_name")), {f"{standard.name} (control)", "Call at once"})
        for case in cases:
            self.assertEqual(
                len(case.action_ids),
                1,
                (
                    case.variant,
                    case.level_id.key,
                    case.hold_reason,
                    case.stage_id.name,
                    case.overdue_amount,
                    case.next_review_date,
                ),
            )
            action = case.action_ids
            self.assertIn(action.level_id, standard._variant_levels(case.variant))
            self.assertEqual(action.channel, "call" if case.variant == "call_first" else "email")
        self.assertTrue(variant.level_ids)

    @freeze_time(NOW)
    def test_without_wkhtmltopdf_the_invoices_are_attached_as_html(self):
        self.env.ref("account_collections.level_first").attach_invoices = True
        self.invoice(800.0, "2026-11-15")  # first reminder: the invoice is attached
        Report = type(self.env["ir.actions.report"])

        def no_pdf(report, report_ref, res_ids=None, data=None):
            # Odoo's own error (translated there), raised as the report engine raises it
            raise UserError(  # pylint: disable=translation-required
                "Unable to find Wkhtmltopdf on this system. The PDF can not be created."
            )

        with patch.object(Report, "_render", no_pdf):
            self.run_collections()
        (action,) = self.case().action_ids
        self.assertEqual(action.state, "done")
        message = self.case().message_ids.filtered(lambda m: m.message_type == "comment")
        self.assertTrue(message.attachment_ids)
        self.assertTrue(all(name.endswith(".html") for name in message.attachment_ids.mapped("name")))

    def test_the_daily_cron_plans_and_hands_the_sending_to_the_sending_cron(self):
        send_cron = self.env.ref("account_collections.ir_cron_collection_send_due")
        with freeze_time(NOW):
            self.invoice(800.0, "2026-11-15")
            triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", send_cron.id)])
            self.Run.with_user(self.env.ref("base.user_root"))._cron_daily_run()
            (action,) = self.case().action_ids
            self.assertEqual(action.state, "scheduled")  # planned and recorded, not sent by the planning run
            self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", send_cron.id)]), triggers + 1)
            self.Run.with_user(self.env.ref("base.user_root"))._cron_send_due_actions()
            self.assertEqual(action.state, "done")
