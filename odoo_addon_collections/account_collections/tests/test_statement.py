"""What the customer reads: every channel renders the statement, and its numbers are the ledger's.

Each test builds a real ledger (invoices, instalments, credit notes, payments, disputes), runs
the collections as the cron does, then reads what was sent (the posted email, the SMS, the
letter, the call task) and compares every line and total with the receivable move lines.
"""

import lxml.html
from freezegun import freeze_time

from odoo import Command, fields
from odoo.tests import tagged

from .common import NOW, CollectionsCase, sections, text


@tagged("post_install", "-at_install")
class TestStatementOfAccount(CollectionsCase):
    @freeze_time(NOW)
    def test_a_disputed_invoice_is_listed_apart_and_never_asked_for(self):
        first = self.invoice(100.0, "2026-11-04")  # 20 days overdue
        second = self.invoice(500.0, "2026-11-14")  # 10 days overdue
        disputed = self.invoice(250.0, "2026-10-25")  # 30 days overdue, disputed
        disputed.action_collection_toggle_dispute()
        self.run_collections()
        case = self.case()
        self.assertEqual((case.overdue_amount, case.disputed_amount, case.amount_due), (600.0, 250.0, 600.0))
        (action,) = case.action_ids
        self.assertEqual(action.move_line_ids.move_id, first | second)
        (email,) = self.emails(case)
        found = sections(email.body)
        self.assertEqual(
            found["Overdue"],
            [
                self.expected_row(self.receivable(first), days=20) + ["Pay online"],
                self.expected_row(self.receivable(second), days=10) + ["Pay online"],
            ],
        )
        self.assertEqual(found["Under review"], [self.expected_row(self.receivable(disputed))])
        self.assertIn(f"Amount due: {self.money(600.0)}", text(lxml.html.fromstring(email.body)))
        self.assertNotIn(disputed.get_portal_url(), email.body)  # no pay link for what is under review
        report = self.env.ref("account_collections.action_report_collection_letter")
        html, _kind = report._render_qweb_html(report.report_name, case.ids)  # printed from the case
        letter = sections(html.decode())
        self.assertEqual(
            letter["Overdue"],
            [self.expected_row(self.receivable(m)) + [str(d)] for m, d in ((first, 20), (second, 10))],
        )
        self.assertEqual(letter["Under review"], [self.expected_row(self.receivable(disputed))])

    @freeze_time(NOW)
    def test_credit_notes_and_unapplied_payments_are_shown_and_deducted(self):
        big = self.invoice(1000.0, "2026-10-20")  # 35 days overdue: a call for the collector
        small = self.invoice(500.0, "2026-11-10")
        refund = self.invoice(300.0, "2026-11-12", move_type="out_refund")
        self.run_collections()
        case = self.case()
        self.assertEqual(
            (case.overdue_amount, case.credit_amount, case.amount_due, case.open_amount),
            (1500.0, 300.0, 1200.0, 1200.0),
        )
        document = case._collection_statement()
        self.assertEqual(document.amount_due_text.replace("\xa0", " "), self.money(1200.0))
        self.assertEqual([line.invoice_ref for line in document.credits], [refund.name])
        self.assertEqual(sorted(line.invoice_ref for line in document.overdue), sorted([big.name, small.name]))
        self.assertNotIn(refund, document.disputable_moves())
        self.assertFalse(document.pay_url(document.credits[0]))
        (call,) = case.action_ids
        self.assertEqual(call.channel, "call")
        note = text(lxml.html.fromstring(call.activity_id.note))
        self.assertIn(f"Amount due: {self.money(1200.0)}", note)
        self.assertIn(f"Credits: {self.money(300.0)} (deducted)", note)

    @freeze_time(NOW)
    def test_the_email_lists_credits_and_asks_the_net_amount(self):
        invoice = self.invoice(1000.0, "2026-11-15")  # 9 days overdue: first reminder by email
        refund = self.invoice(300.0, "2026-11-16", move_type="out_refund")
        payment = self.init_payment(50.0, post=True, date="2026-11-20", partner=self.partner_a)  # not applied
        self.run_collections()
        case = self.case()
        self.assertEqual((case.credit_amount, case.amount_due), (350.0, 650.0))
        (email,) = self.emails(case)
        found = sections(email.body)
        self.assertEqual(found["Overdue"], [self.expected_row(self.receivable(invoice), days=9) + ["Pay online"]])
        credit_rows = found["Credits in your favour"]
        self.assertEqual(
            credit_rows,
            [
                [f"{refund.name} (Credit note)", self.day(refund.invoice_date_due), self.money(300.0)],
                [
                    f"{payment.move_id.name} (Payment not yet applied)",
                    self.day(fields.Date.to_date("2026-11-20")),
                    self.money(50.0),
                ],
            ],
        )
        body = text(lxml.html.fromstring(email.body))
        self.assertIn(f"Amount due: {self.money(650.0)}", body)
        self.assertIn("deducted from the amount due", body)
        self.assertIn(self.money(650.0), email.subject + body)

    @freeze_time(NOW)
    def test_credits_can_be_only_listed(self):
        self.env.company.collection_credits_mode = "show"
        self.invoice(1000.0, "2026-11-15")
        self.invoice(300.0, "2026-11-16", move_type="out_refund")
        self.run_collections()
        case = self.case()
        self.assertEqual((case.credit_amount, case.amount_due, case.open_amount), (300.0, 1000.0, 700.0))
        body = text(lxml.html.fromstring(self.emails(case).body))
        self.assertIn(f"Amount due: {self.money(1000.0)}", body)
        self.assertIn("not yet deducted", body)

    @freeze_time(NOW)
    def test_instalments_are_asked_at_their_own_residual(self):
        term = self.env["account.payment.term"].create(
            {
                "name": "50% in 30 days, 50% in 90 days",
                "line_ids": [
                    Command.create(
                        {"value": "percent", "value_amount": 50.0, "delay_type": "days_after", "nb_days": 30}
                    ),
                    Command.create(
                        {"value": "percent", "value_amount": 50.0, "delay_type": "days_after", "nb_days": 90}
                    ),
                ],
            }
        )
        move = self.invoice(1200.0, "2026-09-25", payment_term=term)  # first instalment due 2026-10-25: 30 days
        first, second = self.receivable(move)
        self.assertEqual((first.amount_residual, second.amount_residual), (600.0, 600.0))
        self.run_collections()
        case = self.case()
        self.assertEqual((case.overdue_amount, case.upcoming_amount, case.amount_due), (600.0, 600.0, 600.0))
        actions = case.action_ids
        self.assertEqual(set(actions.mapped("amount_due")), {600.0})
        self.assertEqual(actions.move_line_ids, first)
        document = case._collection_statement()
        (overdue,) = document.overdue
        (upcoming,) = document.upcoming
        self.assertEqual((overdue.item_id, float(overdue.residual)), (str(first.id), 600.0))
        self.assertEqual(document.installment(overdue), "instalment 1 of 2")
        self.assertEqual(document.installment(upcoming), "instalment 2 of 2")
        call = actions.filtered(lambda a: a.channel == "call")
        note = text(lxml.html.fromstring(call.activity_id.note))
        self.assertIn(f"{move.name} instalment 1 of 2", note)
        self.assertIn(self.money(600.0), note)
        self.assertNotIn(self.money(1200.0), note)

    @freeze_time(NOW)
    def test_the_email_of_an_instalment_lists_it_at_its_residual(self):
        term = self.env["account.payment.term"].create(
            {
                "name": "Half now, half in 60 days",
                "line_ids": [
                    Command.create(
                        {"value": "percent", "value_amount": 50.0, "delay_type": "days_after", "nb_days": 0}
                    ),
                    Command.create(
                        {"value": "percent", "value_amount": 50.0, "delay_type": "days_after", "nb_days": 60}
                    ),
                ],
            }
        )
        move = self.invoice(1200.0, "2026-11-15", payment_term=term)  # 600 overdue by 9 days, 600 in 51 days
        first, second = self.receivable(move)
        self.run_collections()
        (email,) = self.emails(self.case())
        found = sections(email.body)
        self.assertEqual(
            found["Overdue"], [self.expected_row(first, days=9, installment="instalment 1 of 2") + ["Pay online"]]
        )
        self.assertEqual(
            found["Not yet due"], [self.expected_row(second, installment="instalment 2 of 2") + ["Pay online"]]
        )
        body = text(lxml.html.fromstring(email.body))
        self.assertIn(f"Amount due: {self.money(600.0)}", body)
        self.assertNotIn(self.money(1200.0), body)

    @freeze_time(NOW)
    def test_a_partial_payment_leaves_the_residual_everywhere(self):
        move = self.invoice(1000.0, "2026-11-15")
        self.pay(move, 400.0, "2026-11-20")
        self.run_collections()
        case = self.case()
        (email,) = self.emails(case)
        self.assertEqual(sections(email.body)["Overdue"][0][2], self.money(600.0))
        self.assertEqual((case.amount_due, case.action_ids.amount_due), (600.0, 600.0))

    @freeze_time(NOW)
    def test_the_invoice_contact_receives_the_reminder_and_the_sms(self):
        billing = self.env["res.partner"].create(
            {
                "name": "Billing of A",
                "type": "invoice",
                "parent_id": self.partner_a.id,
                "email": "billing@partner-a.example.com",
                "mobile": "+34600999888",
            }
        )
        self.invoice(800.0, "2026-11-15")  # first reminder: email (and SMS when email is refused)
        self.run_collections()
        case = self.case()
        (email,) = self.emails(case)
        self.assertEqual(email.partner_ids, billing)
        self.assertEqual(case.action_ids.sent_to, billing.email_formatted)
        self.assertIn("Dear Billing of A", text(lxml.html.fromstring(email.body)))
        self.assertIn("billing@partner-a.example.com", case.collection_recipients)
        self.assertIn("+34600999888", case.collection_recipients)
        report = self.env.ref("account_collections.action_report_collection_letter")
        letter = text(lxml.html.fromstring(report._render_qweb_html(report.id, case.ids)[0]))
        self.assertIn("Dear Billing of A", letter)  # the letter is addressed to the invoice contact too

    @freeze_time(NOW)
    def test_the_sms_goes_to_the_invoice_contact_mobile_with_the_statement_total(self):
        self.partner_a.collection_opt_out_email = True
        self.env["res.partner"].create(
            {
                "name": "Billing of A",
                "type": "invoice",
                "parent_id": self.partner_a.id,
                "email": "billing@partner-a.example.com",
                "mobile": "+34600999888",
            }
        )
        self.invoice(800.0, "2026-11-15")
        self.invoice(200.0, "2026-11-16", move_type="out_refund")
        with self.mockSMSGateway():
            self.run_collections()
            self.env["sms.sms"].sudo()._process_queue()  # reminders are queued, sent after the commit
        self.assertSMSIapSent(["+34600999888"], content=f"{self.money(600.0)} of your account is overdue")

    @freeze_time(NOW)
    def test_a_chosen_collections_contact_and_copies(self):
        accounting = self.env["res.partner"].create(
            {
                "name": "Accounts payable of A",
                "parent_id": self.partner_a.id,
                "email": "payables@partner-a.example.com",
            }
        )
        boss = self.env["res.partner"].create(
            {
                "name": "CFO of A",
                "parent_id": self.partner_a.id,
                "email": "cfo@partner-a.example.com",
            }
        )
        self.partner_a.write({"collection_contact_id": accounting.id, "collection_cc_ids": [Command.set(boss.ids)]})
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        (email,) = self.emails(self.case())
        self.assertEqual(email.partner_ids, accounting | boss)
        self.assertEqual(email.notification_ids.res_partner_id, accounting | boss)  # nobody else is notified
        self.assertIn("Dear Accounts payable of A", text(lxml.html.fromstring(email.body)))

    @freeze_time(NOW)
    def test_a_pre_due_reminder_lists_what_comes_due(self):
        move = self.init_invoice(
            "out_invoice", partner=self.partner_a, invoice_date="2026-11-20", amounts=[400.0], taxes=[]
        )
        move.write({"invoice_payment_term_id": False, "invoice_date_due": "2026-11-26"})
        move.action_post()
        self.run_collections()
        case = self.case()
        (action,) = case.action_ids
        self.assertEqual(action.level_key, "pre_due")
        (email,) = self.emails(case)
        body = text(lxml.html.fromstring(email.body))
        self.assertNotIn("overdue", body.lower())
        self.assertEqual(
            sections(email.body)["Coming due"], [self.expected_row(self.receivable(move)) + ["Pay online"]]
        )
        self.assertIn(f"Total coming due: {self.money(400.0)}", body)
        self.assertIn("coming due", email.subject)

    def test_figures_are_those_of_the_day_the_reminder_is_sent(self):
        with freeze_time("2026-11-24 21:00:00"):  # after the contact window: the email waits for the morning
            move = self.invoice(1000.0, "2026-11-07")  # 17 days overdue on the 24th
            self.run_collections()
            (action,) = self.case().action_ids
            self.assertEqual(action.state, "scheduled")
        with freeze_time("2026-11-25 08:00:00"):
            self.pay(move, 250.0, "2026-11-25")  # paid in part before the email goes
        with freeze_time("2026-11-25 09:05:00"):
            self.Run.with_user(self.env.ref("base.user_root"))._cron_send_due_actions()
        self.assertEqual(action.state, "done")
        (email,) = self.emails(self.case())
        (row,) = sections(email.body)["Overdue"]
        self.assertEqual(row[2:4], [self.money(750.0), "18"])
        self.assertEqual(action.amount_due, 750.0)
        self.assertEqual(self.case().amount_due, 750.0)

    @freeze_time(NOW)
    def test_paying_in_full_cancels_the_pending_call_and_closes_its_task(self):
        move = self.invoice(1000.0, "2026-10-20")  # 35 days overdue: a call for the collector
        self.run_collections()
        case = self.case()
        (call,) = case.action_ids
        self.assertEqual(call.state, "to_do")
        activity = call.activity_id
        self.assertTrue(activity)
        with freeze_time("2026-11-25 10:00:00"):
            self.pay(move, 1000.0, "2026-11-25")
            self.run_collections()
        self.assertEqual((call.state, call.cancel_reason), ("cancelled", "paid"))
        self.assertFalse(activity.exists())
        self.assertEqual(case.stage_id, self.env.ref("account_collections.stage_closed"))
        self.assertTrue(case.message_ids.filtered(lambda m: "Case closed: paid in full." in (m.body or "")))

    @freeze_time(NOW)
    def test_a_dispute_cancels_the_pending_reminders_of_that_invoice(self):
        move = self.invoice(1000.0, "2026-10-20")
        self.run_collections()
        (call,) = self.case().action_ids
        move.action_collection_toggle_dispute()
        self.assertEqual((call.state, call.cancel_reason), ("cancelled", "disputed"))
        self.assertFalse(call.activity_id)

    @freeze_time(NOW)
    def test_a_promise_cancels_the_pending_reminders(self):
        self.invoice(1000.0, "2026-10-20")
        self.run_collections()
        case = self.case()
        (call,) = case.action_ids
        self.env["collection.promise"].create({"case_id": case.id, "amount": 1000.0, "promised_date": "2026-12-01"})
        self.assertEqual((call.state, call.cancel_reason), ("cancelled", "arranged"))

    @freeze_time(NOW)
    def test_a_promise_beyond_the_policy_horizon_is_refused(self):
        self.invoice(1000.0, "2026-10-20")
        self.run_collections()
        with self.assertRaisesRegex(Exception, "at most 45 days ahead"):
            self.env["collection.promise"].create(
                {"case_id": self.case().id, "amount": 1000.0, "promised_date": "2027-02-01"}
            )

    def test_a_reminder_whose_invoice_was_paid_before_sending_is_cancelled(self):
        with freeze_time("2026-11-24 21:00:00"):
            move = self.invoice(800.0, "2026-11-15")
            self.run_collections()
            (action,) = self.case().action_ids
        with freeze_time("2026-11-25 08:00:00"):
            self.pay(move, 800.0, "2026-11-25")
        with freeze_time("2026-11-25 09:05:00"):
            self.Run.with_user(self.env.ref("base.user_root"))._cron_send_due_actions()
        self.assertEqual((action.state, action.cancel_reason), ("cancelled", "paid"))
        self.assertFalse(self.emails(self.case()))

    @freeze_time(NOW)
    def test_no_reminder_under_the_minimum_and_letters_need_their_own(self):
        self.env["collection.minimum"].create(
            {"currency_id": self.currency.id, "reminder_amount": 5.0, "letter_amount": 1000.0}
        )
        self.invoice(0.05, "2026-11-15")
        self.invoice(700.0, "2026-09-01", partner=self.partner_b)  # final notice: letter and email
        self.partner_b.email = "ap@partner-b.example.com"
        self.run_collections()
        small = self.case()
        self.assertEqual((small.hold_reason, small.action_ids.ids), ("below_minimum", []))
        self.assertEqual(self.case(self.partner_b).action_ids.mapped("channel"), ["email"])

    @freeze_time(NOW)
    def test_a_customer_who_pays_after_a_reminder_is_thanked(self):
        self.env.company.collection_thank_you = True
        move = self.invoice(800.0, "2026-11-15")
        self.run_collections()
        case = self.case()
        with freeze_time("2026-11-26 10:00:00"):
            self.pay(move, 800.0, "2026-11-26")
            self.run_collections()
        thanks = case.action_ids.filtered(lambda a: a.level_key == "thank_you")
        self.assertEqual(thanks.state, "done")
        last = self.emails(case)[-1]
        self.assertIn("thank you for your payment", last.subject)
        self.assertEqual(last.partner_ids, self.partner_a)

    @freeze_time(NOW)
    def test_each_tone_has_its_own_text(self):
        subjects = {}
        for tone in ("friendly", "neutral", "firm", "formal", "final"):
            partner = self.env["res.partner"].create({"name": f"Customer {tone}", "email": f"{tone}@example.com"})
            level = self.env.ref("account_collections.level_first")
            level.tone = tone
            self.invoice(
                100.0,
                "2026-11-15",
                partner=partner,
                payment_term=self.env.ref("account.account_payment_term_immediate"),
            )
            self.Run._run_company(self.env.company, partners=partner)
            subjects[tone] = self.emails(self.case(partner)).subject
            self.assertEqual(self.case(partner).action_ids.mapped("level_key"), ["first"])
        self.assertEqual(len(set(subjects.values())), 5, subjects)

    @freeze_time(NOW)
    def test_spanish_customers_read_spanish_and_their_number_format(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.partner_a.lang = "es_ES"
        move = self.invoice(1234.5, "2026-11-15")
        refund = self.invoice(34.5, "2026-11-16", move_type="out_refund")
        self.run_collections()
        (email,) = self.emails(self.case())
        body = text(lxml.html.fromstring(email.body))
        self.assertIn(f"Importe pendiente: {self.money(1200.0, 'es_ES')}", body)
        self.assertIn("1.200,00", body)
        found = sections(email.body)
        self.assertEqual(
            found["Vencido"], [self.expected_row(self.receivable(move), "es_ES", days=9) + ["Pagar en línea"]]
        )
        self.assertEqual(found["Créditos a su favor"][0][0], f"{refund.name} (Nota de crédito)")
        self.assertIn("Estimado/a", body)
        self.assertNotIn("Amount due", body)

    @freeze_time(NOW)
    def test_spanish_letters_and_sms_read_spanish(self):
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["account_collections"], ["es_ES"], overwrite=True)
        self.partner_a.write({"lang": "es_ES", "collection_opt_out_email": True})
        move = self.invoice(2500.0, "2026-11-15")  # first reminder: SMS, the email being refused
        with self.mockSMSGateway():
            self.run_collections()
            self.env["sms.sms"].sudo()._process_queue()
        self.assertSMSIapSent(["+34600111222"], content=f"{self.money(2500.0, 'es_ES')} de su cuenta está vencido")
        report = self.env.ref("account_collections.action_report_collection_letter")
        html = report._render_qweb_html(report.id, self.case().ids)[0].decode()
        letter = sections(html)
        self.assertEqual(letter["Vencido"], [self.expected_row(self.receivable(move), "es_ES") + ["9"]])
        self.assertIn("Estado de cuenta", html)
        self.assertIn(f"Importe pendiente: {self.money(2500.0, 'es_ES')}", text(lxml.html.fromstring(html)))

    @freeze_time(NOW)
    def test_the_reminder_comes_from_the_collector_and_the_reply_reaches_the_case(self):
        collector = self.env["res.users"].create(
            {
                "name": "Collector C",
                "login": "collector_c",
                "email": "c@company.example.com",
                "company_id": self.env.company.id,
                "company_ids": [Command.set(self.env.company.ids)],
                "groups_id": [Command.set([self.env.ref("account_collections.group_collection_user").id])],
            }
        )
        self.env.company.collection_default_user_id = collector
        self.invoice(800.0, "2026-11-15")
        self.run_collections()
        case = self.case()
        (email,) = self.emails(case)
        self.assertEqual(case.user_id, collector)
        self.assertIn("c@company.example.com", email.email_from)
        self.assertEqual(email.author_id, collector.partner_id)
        self.assertNotIn(collector.partner_id, email.notification_ids.res_partner_id)  # no copy of each reminder
        raw = (
            "From: AP of A <ap@partner-a.example.com>\n"
            f"To: {email.reply_to or email.email_from}\n"
            f"Subject: Re: {email.subject}\n"
            "Message-ID: <reply-1@partner-a.example.com>\n"
            f"In-Reply-To: {email.message_id}\n"
            f"References: {email.message_id}\n"
            "Content-Type: text/plain; charset=utf-8\n\n"
            "We will pay on Friday.\n"
        )
        thread_id = self.env["mail.thread"].message_process(None, raw)  # routed by the reminder's Message-ID
        self.assertEqual(thread_id, case.id)
        reply = case.message_ids.filtered(lambda m: "pay on Friday" in (m.body or ""))
        self.assertEqual(reply.author_id, self.partner_a)
        self.assertIn(collector.partner_id, reply.notification_ids.res_partner_id)

    @freeze_time(NOW)
    def test_an_invoice_in_another_currency_is_asked_in_its_own_currency(self):
        eur = self.setup_other_currency("EUR", rates=[("2026-01-01", 2.0)])  # 1 company unit = 2 EUR
        local = self.invoice(300.0, "2026-11-15")
        foreign = self.init_invoice(
            "out_invoice", partner=self.partner_a, invoice_date="2026-11-15", amounts=[1000.0], taxes=[], currency=eur
        )
        foreign.action_post()
        self.run_collections()
        case = self.case()
        self.assertEqual(case.amount_due, 300.0 + 500.0)  # the case keeps the company currency
        (email,) = self.emails(case)
        rows = {row[0]: row for row in sections(email.body)["Overdue"]}
        self.assertEqual(rows[foreign.name][2], self.money(1000.0, currency=eur))
        self.assertEqual(rows[local.name][2], self.money(300.0))
        body = text(lxml.html.fromstring(email.body))
        self.assertIn(f"Amount due: {self.money(1000.0, currency=eur)} and {self.money(300.0)}", body)

    @freeze_time(NOW)
    def test_items_under_a_promise_are_listed_apart_and_not_asked(self):
        promised = self.invoice(1000.0, "2026-10-20")  # 35 days overdue
        self.run_collections()
        case = self.case()
        self.env["collection.promise"].create(
            {
                "case_id": case.id,
                "amount": 1000.0,
                "promised_date": "2026-12-01",
                "move_line_ids": [Command.set(self.receivable(promised).ids)],
            }
        )
        fresh = self.invoice(250.0, "2026-11-15")  # 9 days overdue: a first reminder for it alone
        self.run_collections()
        (email,) = self.emails(case)
        found = sections(email.body)
        self.assertEqual(found["Overdue"], [self.expected_row(self.receivable(fresh), days=9) + ["Pay online"]])
        self.assertEqual(
            found["Covered by your promise to pay or payment plan"], [self.expected_row(self.receivable(promised))]
        )
        self.assertIn(f"Amount due: {self.money(250.0)}", text(lxml.html.fromstring(email.body)))
        self.assertEqual((case.amount_due, case.arranged_amount), (250.0, 1000.0))

    @freeze_time(NOW)
    def test_the_thank_you_mentions_the_credit_left(self):
        self.env.company.collection_thank_you = True
        move = self.invoice(800.0, "2026-11-15")
        self.run_collections()
        with freeze_time("2026-11-26 10:00:00"):
            self.invoice(50.0, "2026-11-26", move_type="out_refund")
            self.pay(move, 800.0, "2026-11-26")
            self.run_collections()
        case = self.case()
        self.assertTrue(
            case.message_ids.filtered(lambda m: "the customer's credits cover the balance" in (m.body or ""))
        )
        thanks = self.emails(case)[-1]
        body = text(lxml.html.fromstring(thanks.body))
        self.assertIn(f"You have credits of {self.money(50.0)} in your favour", body)
        self.assertNotIn("Amount due", body)

    @freeze_time(NOW)
    def test_the_pre_due_and_final_sms_carry_the_statement(self):
        self.env.ref("account_collections.level_pre_due").use_sms = True
        self.env.ref("account_collections.level_final").use_sms = True
        self.partner_a.collection_opt_out_email = True
        self.partner_b.write({"mobile": "+34600333444", "collection_opt_out_email": True})
        upcoming = self.init_invoice(
            "out_invoice", partner=self.partner_a, invoice_date="2026-11-20", amounts=[400.0], taxes=[]
        )
        upcoming.write({"invoice_payment_term_id": False, "invoice_date_due": "2026-11-26"})
        upcoming.action_post()
        self.invoice(700.0, "2026-09-01", partner=self.partner_b)  # 84 days overdue: final notice
        self.invoice(100.0, "2026-09-05", partner=self.partner_b, move_type="out_refund")
        with self.mockSMSGateway():
            self.run_collections()
            self.env["sms.sms"].sudo()._process_queue()
        due_on = self.day(fields.Date.to_date("2026-11-26"))
        self.assertSMSIapSent(["+34600111222"], content=f"{self.money(400.0)} comes due on {due_on}")
        self.assertSMSIapSent(
            ["+34600333444"], content=f"FINAL NOTICE. {self.money(600.0)} of your account is still unpaid"
        )
